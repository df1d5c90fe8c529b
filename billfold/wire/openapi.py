"""Billfold's own OpenAPI 3.0 document, generated from the route table and parameter declarations.

Served at ``GET /billfold/openapi.json`` (off ``/v1``, which stays exactly Stripe's surface).
It describes what this build of Billfold accepts, not all of Stripe: one operation per
declared route, its path parameters, its declared parameters (a form-encoded body for POST
and DELETE, the query string for GET, nested hashes in Stripe's ``a[b][c]=`` deepObject
style), bearer or basic auth with an API key, and Stripe's error shape for every non-2xx
answer. Because the document is walked from the same declarations that validate requests,
it cannot drift from them; the contract tests fuzz Billfold against it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route as WebRoute

from billfold.wire.params import AnyOf, Dict, List, Metadata, Spec
from billfold.wire.versions import LATEST

if TYPE_CHECKING:
    from billfold.app import Billfold
    from billfold.wire.router import Route

PATH = "/billfold/openapi.json"
FORM = "application/x-www-form-urlencoded"
ERROR_REF = "#/components/schemas/error"
# Path parameters are ids: one URL segment.
PATH_PARAM_SCHEMA: dict[str, Any] = {"type": "string", "maxLength": 5000, "pattern": "^[^/]+$"}
_SEGMENT = re.compile(r"[^A-Za-z0-9]+")

ERROR_SCHEMA: dict[str, Any] = {
    "description": "Stripe's error shape: every 4xx and 5xx answer has one ``error`` object.",
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["type", "message"],
            "properties": {
                "type": {
                    "type": "string",
                    "enum": [
                        "api_error",
                        "card_error",
                        "idempotency_error",
                        "invalid_request_error",
                        "authentication_error",
                        "permission_error",
                        "rate_limit_error",
                    ],
                },
                "message": {"type": "string"},
                "code": {"type": "string"},
                "decline_code": {"type": "string"},
                "param": {"type": "string"},
                "doc_url": {"type": "string"},
                "request_log_url": {"type": "string"},
                "charge": {"type": "string"},
                "payment_intent": {"type": "object"},
                "setup_intent": {"type": "object"},
                "payment_method": {"type": "object"},
            },
        }
    },
}

# Every Stripe object (and list, search result, deleted object) names its kind in ``object``.
OBJECT_SCHEMA: dict[str, Any] = {
    "description": "A Stripe object; its full shape is the one Stripe documents for ``object``.",
    "type": "object",
    "required": ["object"],
    "properties": {"id": {"type": "string"}, "object": {"type": "string"}},
}


def schema_for(spec: Spec) -> dict[str, Any]:
    """The JSON schema of one declared parameter; ``""`` is allowed where it clears a value."""
    if isinstance(spec, Dict):
        schema = object_schema(spec.fields)
    elif isinstance(spec, List):
        schema = {"type": "array", "items": schema_for(spec.item), "maxItems": spec.max_items}
    elif isinstance(spec, AnyOf):
        schema = {"anyOf": [schema_for(option) for option in spec.options]}
    elif isinstance(spec, Metadata):
        schema = {"type": "object", "additionalProperties": {"type": "string", "maxLength": 500}}
    else:
        # Scalars and the resource modules' own kinds (percentages, decimals, payloads).
        schema = _openapi30(spec.openapi())
    if spec.emptyable:
        schema = {"anyOf": [schema, {"type": "string", "enum": [""]}]}
    if spec.description:
        schema = {**schema, "description": spec.description}
    return schema


def _openapi30(schema: Any) -> Any:
    """A declaration's own schema in OpenAPI 3.0's dialect (JSON Schema draft 4): a boolean
    ``exclusiveMinimum`` beside ``minimum``, and no empty ``required`` list."""
    if isinstance(schema, list):
        return [_openapi30(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    fixed = {key: _openapi30(value) for key, value in schema.items()}
    if fixed.get("required") == []:
        del fixed["required"]  # draft 4: ``required`` lists at least one name
    for bound, limit in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        value = fixed.get(bound)
        if isinstance(value, int | float) and not isinstance(value, bool):
            fixed[limit], fixed[bound] = value, True
    return fixed


def object_schema(specs: Mapping[str, Spec]) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {name: schema_for(spec) for name, spec in specs.items()},
        "additionalProperties": False,
    }
    required = [name for name, spec in specs.items() if spec.required]
    if required:
        schema["required"] = required
    return schema


def _nested(schema: Mapping[str, Any]) -> bool:
    """Whether a value of this schema is sent as ``name[...]=`` (a hash or an array)."""
    if schema.get("type") in ("object", "array"):
        return True
    return any(_nested(option) for option in schema.get("anyOf", ()))


def operation_id(route: Route) -> str:
    """Stripe's style of operation id: ``GetCustomersCustomer``, ``PostPaymentIntentsIntentConfirm``."""
    parts = [p.strip("{}") for p in route.path.split("/") if p and p != "v1"]
    words = [w for part in parts for w in _SEGMENT.split(part) if w]
    return route.method.capitalize() + "".join(w[:1].upper() + w[1:] for w in words)


def _path_parameters(route: Route) -> list[dict[str, Any]]:
    return [
        {"name": name, "in": "path", "required": True, "schema": dict(PATH_PARAM_SCHEMA)}
        for name in re.findall(r"\{(\w+)\}", route.path)
    ]


def _query_parameters(specs: Mapping[str, Spec]) -> list[dict[str, Any]]:
    parameters = []
    for name, spec in specs.items():
        schema = schema_for(spec)
        parameter: dict[str, Any] = {"name": name, "in": "query", "required": spec.required,
                                     "schema": schema}
        if _nested(schema):
            parameter.update(style="deepObject", explode=True)
        parameters.append(parameter)
    return parameters


def _form_body(specs: Mapping[str, Spec]) -> dict[str, Any]:
    schema = object_schema(specs)
    encoding = {
        name: {"style": "deepObject", "explode": True}
        for name, prop in schema["properties"].items()
        if _nested(prop)
    }
    media: dict[str, Any] = {"schema": schema}
    if encoding:
        media["encoding"] = encoding
    return {"required": bool(schema.get("required")), "content": {FORM: media}}


def operation(route: Route) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": operation_id(route),
        "summary": route.operation.replace("_", " ").capitalize(),
        "tags": [route.resource],
        "parameters": _path_parameters(route),
        "responses": {
            "200": {
                "description": "Successful response.",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/object"}}},
            },
            "default": {
                "description": "Error response.",
                "content": {"application/json": {"schema": {"$ref": ERROR_REF}}},
            },
        },
    }
    if route.method == "GET":
        op["parameters"].extend(_query_parameters(route.params))
    else:
        op["requestBody"] = _form_body(route.params)
    if route.publishable:
        op["x-billfold-publishable"] = True
    return op


def document(routes: Iterable[Route], version: str = LATEST) -> dict[str, Any]:
    """The whole document for a route table."""
    paths: dict[str, dict[str, Any]] = {}
    seen: set[str] = set()
    for route in sorted(routes, key=lambda r: (r.path, r.method)):
        op = operation(route)
        if op["operationId"] in seen:  # two routes whose paths differ only in punctuation
            op["operationId"] += route.method.lower() + str(len(seen))
        seen.add(op["operationId"])
        paths.setdefault(route.path, {})[route.method.lower()] = op
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Billfold API",
            "version": version,
            "description": "The Stripe API operations this Billfold serves, with the parameters "
            "it accepts. Authenticate with an API key as the Bearer token (or Basic user name).",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}, {"basicAuth": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer"},
                "basicAuth": {"type": "http", "scheme": "basic"},
            },
            "schemas": {"error": ERROR_SCHEMA, "object": OBJECT_SCHEMA},
        },
    }


def routes(app: Billfold) -> list[WebRoute]:
    """``GET /billfold/openapi.json``: built once, when the web app is built."""
    body = document(app.router.routes)

    async def openapi(request: Request) -> Response:
        return JSONResponse(body, headers={"Access-Control-Allow-Origin": "*"})

    return [WebRoute(PATH, openapi, methods=["GET"])]
