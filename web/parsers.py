"""JSON request bodies, bounded: every JSON body of the API is parsed by `load_json` here.

A body nested deeper than API_MAX_JSON_DEPTH is a 400 with a message, never a RecursionError
further on (in validation, error flattening, grid references or the database's encoder).
"""

from __future__ import annotations

import json

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class JsonTooDeep(ValueError):
    """The document nests arrays and objects deeper than API_MAX_JSON_DEPTH."""


def load_json(text: str | bytes) -> object:
    """Parse JSON, refusing documents nested deeper than API_MAX_JSON_DEPTH.

    Raises ValueError (json.JSONDecodeError, or JsonTooDeep) for anything it refuses.
    """
    limit = settings.API_MAX_JSON_DEPTH
    try:
        value = json.loads(text)
    except RecursionError:
        # The C parser gives up past Python's recursion limit, far deeper than ours.
        raise JsonTooDeep(too_deep_message(limit)) from None
    if nesting_depth(value, limit) > limit:
        raise JsonTooDeep(too_deep_message(limit))
    return value


def too_deep_message(limit: int) -> str:
    return f"JSON nested deeper than {limit} levels of arrays and objects is refused (API_MAX_JSON_DEPTH)."


def nesting_depth(value: object, stop_above: int) -> int:
    """How deep arrays and objects nest in `value` (a scalar is 0), counted without recursion.

    Stops early once the depth passes `stop_above`.
    """
    deepest = 0
    pending = [(value, 1)] if isinstance(value, (dict, list)) else []
    while pending:
        node, depth = pending.pop()
        deepest = max(deepest, depth)
        if deepest > stop_above:
            return deepest
        children = node.values() if isinstance(node, dict) else node
        pending.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser through `load_json`: a clear 400 for malformed or too deeply nested JSON."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        raw = stream.read() if stream is not None else b""
        try:
            return load_json(raw.decode(encoding))
        except JsonTooDeep as exc:
            raise ParseError(str(exc)) from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise ParseError(f"The body is not valid JSON: {exc}") from None
