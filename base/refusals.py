"""The one JSON body that refuses a request, wherever it is refused: the REST API's errors
(web/errors.py), the 503 while the database is away (web/outage.py), the 413 of a body too
large (web/body_limit.py), the 410 of a retired route, and the answers of both doors'
connection guards (base/connections.py `json_answer`: caps and timeouts).

    {"message": "...", "errors": [{"message": "...", "field": "..."}]}

`message` is a sentence to act on (the first error's); `errors` names each problem, with its
field when it has one (Plotly's clients read `errors[].message`). The doors' connection answers
also carry the message as `error`, the one key they had before this shape was theirs.
"""

from __future__ import annotations

from typing import NotRequired, TypedDict


class Refusal(TypedDict):
    message: str
    errors: list[dict[str, str]]  # each {"message": ...}, and "field" when the problem has one
    error: NotRequired[str]


def refusal_body(message: str, errors: list[dict[str, str]] | None = None, *, with_error: bool = False) -> Refusal:
    """The body refusing a request with `message`; `errors` defaults to the message alone.
    `with_error` adds the message as `error` too (the doors' connection answers)."""
    body: Refusal = {"message": message, "errors": errors if errors is not None else [{"message": message}]}
    if with_error:
        body["error"] = message
    return body
