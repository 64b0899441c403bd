"""What the OpenAPI schema (/api/schema/) needs beyond what drf-spectacular finds by itself."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension

SCHEMA_VIEWS = ("/api/schema/", "/api/docs/", "/api/redoc/")
# InfluxDB's write paths (lineproto/urls.py), at the paths its clients post to: without a slash.
LINE_PROTOCOL_WRITES = ("/api/v2/write", "/write")


class ApiKeyScheme(OpenApiAuthenticationExtension):
    """The REST API's credentials: HTTP Basic with the username and an API key as password, or
    the key alone as a bearer token; either will do."""

    target_class = "web.authentication.ApiKeyAuthentication"
    name = ["apiKey", "bearerKey"]

    def get_security_requirement(self, auto_schema):
        return [{"apiKey": []}, {"bearerKey": []}]

    def get_security_definition(self, auto_schema):
        return [
            {
                "type": "http",
                "scheme": "basic",
                "description": "Username and API key (from the settings page or `manage.py apikey USERNAME`).",
            },
            {"type": "http", "scheme": "bearer", "description": "The API key alone: `Authorization: Bearer API_KEY`."},
        ]


def only_the_rest_api(endpoints):
    """Describe plotserver's own REST API and InfluxDB's write endpoints: not Plotly's
    compatibility endpoints, not these docs.

    Each route is described once, with its trailing slash (the same routes also answer without
    one), and the old token-addressed stream route, which only says where streams went, is left out.
    """
    return [
        endpoint
        for endpoint in endpoints
        if endpoint[0] in LINE_PROTOCOL_WRITES
        or (
            endpoint[0].startswith("/api/")
            and endpoint[0].endswith("/")
            and "[" not in endpoint[0]
            and not endpoint[0].startswith(SCHEMA_VIEWS)
        )
    ]


ERROR_SCHEMA = {
    "type": "object",
    "description": "Every API error has this shape (web/errors.py).",
    "properties": {
        "message": {"type": "string", "description": "The first error, for people."},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"message": {"type": "string"}, "field": {"type": "string"}},
                "required": ["message"],
            },
        },
    },
    "required": ["message", "errors"],
}

ERROR_ANSWERS = {
    "400": "The request body or query is not valid: `errors` names each field.",
    "401": "No credentials, or wrong ones.",
    "403": "Authenticated, but this is not yours to change.",
    "404": "No such object, or not one you may see; on a list, a page past the last.",
    "405": "This method is not allowed here.",
    "413": "The body is larger than API_MAX_BODY_BYTES.",
    "415": "The body is not JSON.",
    "429": "Too many failed sign-ins from this address, too many calls, or a quota reached: `message` says which.",
    "503": "The database is unreachable for now: retry after the Retry-After header's seconds.",
}


# Path parameters that are database ids and positions: integers, within what the columns hold.
INTEGER_PARAMETERS = {
    "id": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
    "plot_pk": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
    "index": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1},
}


def type_path_parameters(result, generator, request, public):
    """Say that plot ids and trace indexes are integers (the viewsets' URLs do not tell)."""
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path" and parameter["name"] in INTEGER_PARAMETERS:
                    parameter["schema"] = dict(INTEGER_PARAMETERS[parameter["name"]])
    return result


SHARE_KEY = {
    "name": "share_key",
    "in": "query",
    "required": False,
    "schema": {"type": "string"},
    "description": "The key of a secret plot, for a visitor who is not its owner.",
}


def document_shared_reading(result, generator, request, public):
    """Reading one plot or its traces, or one dashboard, is open to everyone it is shared with,
    signed in or not (a dashboard's `share_key` parameter is its viewset's own)."""
    for path, operations in result.get("paths", {}).items():
        shared = path.startswith(("/api/plots/{", "/api/dashboards/{"))
        if shared and "get" in operations:
            operation = operations["get"]
            if {} not in operation.setdefault("security", []):
                operation["security"].append({})
            if path.startswith("/api/plots/{"):
                operation.setdefault("parameters", []).append(dict(SHARE_KEY))
    return result


FIGURE_SCHEMA = {
    "type": "object",
    "description": "A plotly.js figure: the traces with their current windows, and the layout. No tokens.",
    "properties": {
        "data": {"type": "array", "items": {"type": "object", "additionalProperties": True}},
        "layout": {"type": "object", "additionalProperties": True},
    },
    "required": ["data", "layout"],
}


def document_figure(result, generator, request, public):
    """GET /api/plots/{id}/figure/ answers a figure, not a plot (the viewset's action does not say)."""
    operation = result.get("paths", {}).get("/api/plots/{id}/figure/", {}).get("get")
    if operation is not None:
        result.setdefault("components", {}).setdefault("schemas", {})["Figure"] = FIGURE_SCHEMA
        operation["responses"]["200"] = {
            "description": "The figure as a viewer sees it now.",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Figure"}}},
        }
    return result


def document_error_answers(result, generator, request, public):
    """Add the API's error answers, one shared shape, to every operation that can give them."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    reference = {"$ref": "#/components/schemas/Error"}
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            # Every operation: credentials, throttles and quotas, outages; a detail route or a
            # list's page can be missing.
            codes = ["401", "403", "404", "405", "429", "503"]
            if method in ("post", "put", "patch"):
                codes += ["400", "413", "415"]
            elif method == "get":
                codes.append("400")
            for code in codes:
                operation["responses"].setdefault(
                    code, {"description": ERROR_ANSWERS[code], "content": {"application/json": {"schema": reference}}}
                )
    return result
