"""Reading /clientresp's form body, the form API of the Node client and of plotly.py < 4, and
the one shape of its answers."""

from __future__ import annotations

import re
from urllib.parse import unquote_plus

from rest_framework.exceptions import ValidationError
from rest_framework.parsers import BaseParser
from rest_framework.renderers import JSONRenderer

from web.parsers import JsonTooDeep, load_json
from web.plotly_api.figures import ORIGINS

FORM_FIELDS = ("platform", "version", "args", "kwargs", "un", "key", "origin")
FORM_SPLIT = re.compile(r"(?:^|&)(" + "|".join(FORM_FIELDS) + r")=")


def clientresp_body(**fields: str) -> dict[str, str]:
    """A /clientresp answer: Plotly's fields, each empty unless given; a refusal says why in
    `error` (its clients read that, not the REST API's refusal body)."""
    return {"url": "", "message": "", "warning": "", "filename": "", "error": "", **fields}


def split_clientresp_form(raw: str) -> dict[str, str]:
    """The fields of a /clientresp body by name, as text; `args` and `kwargs` still JSON.

    The Node client joins `key=value` pairs without URL-encoding, so JSON values hold raw `&`,
    `+` and `%` that a form parser would mangle; plotly.py < 4 encodes properly. A body with
    raw JSON punctuation is taken as unencoded; the fields are split on the known names.
    Splitting is cheap, so the API key in `un` and `key` is checked before any JSON is parsed.
    """
    encoded = not re.search(r'[\[\]{}"]', raw)
    pieces = FORM_SPLIT.split(raw)
    fields: dict[str, str] = {}
    for name, value in zip(pieces[1::2], pieces[2::2], strict=True):
        fields[name] = unquote_plus(value) if encoded else value
    return fields


def form_json(fields: dict[str, str], name: str, default: object) -> object:
    """A JSON field of the form, parsed with the API's depth bound (unencoded, else URL-decoded)."""
    if name not in fields:
        return default
    value = fields[name]
    try:
        return load_json(value)
    except JsonTooDeep as exc:
        raise ValidationError(f"{name}: {exc}") from None
    except ValueError:
        try:
            return load_json(unquote_plus(value))
        except JsonTooDeep as exc:
            raise ValidationError(f"{name}: {exc}") from None
        except ValueError:
            raise ValidationError(f"{name} is not JSON.") from None


class RawBodyParser(BaseParser):
    """Leaves the body to the view: Django's form parsing would corrupt the Node client's."""

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):
        return stream.read() if stream is not None else b""


def clientresp_arguments(form: dict[str, str]) -> tuple[str, list | dict, dict]:
    """The `origin` of a form, its `args` checked for it (plot, style: a list, or one object;
    layout: an object) and its options (`kwargs`)."""
    origin = form.get("origin", "").strip() or "plot"
    if origin not in ORIGINS:
        raise ValidationError(f"origin is one of {', '.join(ORIGINS)}, not {origin!r}.")
    args = form_json(form, "args", {} if origin == "layout" else [])
    if origin == "layout":
        if not isinstance(args, dict):
            raise ValidationError("With origin=layout, args is the layout: an object.")
    elif isinstance(args, dict):
        args = [args]
    options = form_json(form, "kwargs", None) or {}
    if not isinstance(args, (list, dict)) or not isinstance(options, dict):
        kind = "traces" if origin == "plot" else "styles"
        raise ValidationError(f"args is a list of {kind} and kwargs an object of options.")
    layout = options.get("layout")
    if layout is not None and not isinstance(layout, dict):
        raise ValidationError("kwargs.layout is an object.")
    return origin, args, options


class ClientrespRenderer(JSONRenderer):
    """JSON spaced as Plotly's server wrote it (`"url": "...`): the Arduino library finds the
    plot's address by that exact text."""

    compact = False
