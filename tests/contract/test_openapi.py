"""``GET /billfold/openapi.json``: a valid OpenAPI 3.0 document with one operation per route
Billfold serves, whose parameters are exactly the ones each route declares."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
import schemathesis
from schemathesis.specs.openapi.definitions import OPENAPI_30_VALIDATOR

from billfold.resources.registry import ROUTE_GROUPS
from billfold.wire.router import Router
from tests.support.server import Server

ROUTES = Router(ROUTE_GROUPS).routes


@pytest.fixture(scope="module")
def document(server: Server) -> dict[str, Any]:
    response = httpx.get(f"{server.url}/billfold/openapi.json")  # no key: the document is public
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    doc: dict[str, Any] = response.json()
    return doc


def test_the_document_is_valid_openapi_3_0(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.0.")
    OPENAPI_30_VALIDATOR.validate(document)
    schema = schemathesis.openapi.from_dict(document)
    schema.validate()
    operations = list(schema.get_all_operations())
    assert all(result.__class__.__name__ == "Ok" for result in operations)
    assert len(operations) == len(ROUTES)


def test_every_route_is_an_operation_and_nothing_else(document: dict[str, Any]) -> None:
    served = {(method.upper(), path) for path, item in document["paths"].items() for method in item}
    assert served == {(route.method, route.path) for route in ROUTES}
    ids = [op["operationId"] for item in document["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))
    assert document["paths"]["/v1/customers/{customer}"]["get"]["operationId"] == "GetCustomersCustomer"


def _declared(schema: dict[str, Any]) -> tuple[set[str], set[str]]:
    return set(schema["properties"]), set(schema.get("required", []))


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_parameters_match_the_declarations(document: dict[str, Any], route: Any) -> None:
    op = document["paths"][route.path][route.method.lower()]
    path_names = {p["name"] for p in op["parameters"] if p["in"] == "path"}
    assert path_names == set(re.findall(r"\{(\w+)\}", route.path))
    declared = set(route.params)
    required = {name for name, spec in route.params.items() if spec.required}
    if route.method == "GET":
        query = {p["name"]: p for p in op["parameters"] if p["in"] == "query"}
        assert set(query) == declared
        assert {name for name, p in query.items() if p["required"]} == required
        assert "requestBody" not in op
    else:
        media = op["requestBody"]["content"]["application/x-www-form-urlencoded"]
        assert _declared(media["schema"]) == (declared, required)
        assert media["schema"]["additionalProperties"] is False
        # Hashes and arrays travel as ``name[key]=value``: deepObject.
        for name, prop in media["schema"]["properties"].items():
            nested = prop.get("type") in ("object", "array") or any(
                option.get("type") in ("object", "array") for option in prop.get("anyOf", []))
            assert (name in media.get("encoding", {})) == nested, name
    assert op["responses"]["default"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/error"}


def test_nested_declarations_become_nested_schemas(document: dict[str, Any]) -> None:
    create = document["paths"]["/v1/customers"]["post"]["requestBody"]["content"][
        "application/x-www-form-urlencoded"]
    metadata = create["schema"]["properties"]["metadata"]
    # Metadata is a hash of strings, or "" to clear it, as in Stripe's own document.
    assert {"type": "string", "enum": [""]} in metadata["anyOf"]
    assert create["encoding"]["metadata"] == {"style": "deepObject", "explode": True}
    listing = {p["name"]: p for p in document["paths"]["/v1/customers"]["get"]["parameters"]}
    assert listing["limit"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 100}
    assert listing["created"]["style"] == "deepObject"


def test_errors_are_described_in_stripes_shape(document: dict[str, Any]) -> None:
    error = document["components"]["schemas"]["error"]["properties"]["error"]
    assert set(error["required"]) == {"type", "message"}
    assert "invalid_request_error" in error["properties"]["type"]["enum"]
    assert {"code", "param", "decline_code"} <= set(error["properties"])
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
