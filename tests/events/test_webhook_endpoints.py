"""Webhook endpoints: create, retrieve, update, disable, delete, list; the secret only once."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from tests.events.conftest import Endpoints

URL = "https://example.com/my/webhook/endpoint"


def test_create_returns_the_secret_once(client: stripe.StripeClient, endpoints: Endpoints) -> None:
    endpoint = endpoints(
        URL,
        ["charge.failed", "charge.succeeded"],
        description="This is my webhook, I like it a lot",
        metadata={"team": "payments"},
    )
    assert endpoint.id.startswith("we_")
    assert endpoint.object == "webhook_endpoint"
    assert endpoint.secret is not None and endpoint.secret.startswith("whsec_")
    assert endpoint.status == "enabled"
    assert endpoint.url == URL
    assert endpoint.enabled_events == ["charge.failed", "charge.succeeded"]
    assert endpoint.description == "This is my webhook, I like it a lot"
    assert endpoint.metadata.to_dict() == {"team": "payments"}
    assert endpoint.api_version is None
    assert endpoint.application is None
    assert endpoint.livemode is False

    fetched = client.v1.webhook_endpoints.retrieve(endpoint.id)
    assert "secret" not in fetched.to_dict()
    assert fetched.to_dict() == {k: v for k, v in endpoint.to_dict().items() if k != "secret"}
    listed = client.v1.webhook_endpoints.list({"limit": 100})
    mine = [e for e in listed.data if e.id == endpoint.id]
    assert len(mine) == 1 and "secret" not in mine[0].to_dict()
    updated = client.v1.webhook_endpoints.update(endpoint.id, {"description": "renamed"})
    assert "secret" not in updated.to_dict()


def test_each_endpoint_has_its_own_secret(endpoints: Endpoints) -> None:
    first = endpoints(URL, ["*"])
    second = endpoints(URL, ["*"])
    assert first.secret != second.secret


def test_update_url_events_metadata_and_disable(client: stripe.StripeClient, endpoints: Endpoints) -> None:
    endpoint = endpoints(URL, ["customer.created"], metadata={"a": "1", "b": "2"})
    updated = client.v1.webhook_endpoints.update(
        endpoint.id,
        {
            "url": "https://example.com/other",
            "enabled_events": ["customer.updated", "customer.deleted"],
            "metadata": {"a": "", "c": "3"},
            "description": "second",
        },
    )
    assert updated.url == "https://example.com/other"
    assert updated.enabled_events == ["customer.updated", "customer.deleted"]
    assert updated.metadata.to_dict() == {"b": "2", "c": "3"}
    assert updated.description == "second"

    disabled = client.v1.webhook_endpoints.update(endpoint.id, {"disabled": True})
    assert disabled.status == "disabled"
    assert client.v1.webhook_endpoints.retrieve(endpoint.id).status == "disabled"
    enabled = client.v1.webhook_endpoints.update(endpoint.id, {"disabled": False})
    assert enabled.status == "enabled"
    cleared = client.v1.webhook_endpoints.update(endpoint.id, {"description": ""})
    assert cleared.description is None


def test_api_version_and_wildcard(endpoints: Endpoints) -> None:
    endpoint = endpoints(URL, ["*"], api_version="2024-04-10")
    assert endpoint.api_version == "2024-04-10"
    assert endpoint.enabled_events == ["*"]


def test_delete(client: stripe.StripeClient, endpoints: Endpoints) -> None:
    endpoint = endpoints(URL, ["*"])
    deleted = client.v1.webhook_endpoints.delete(endpoint.id)
    assert deleted.to_dict() == {"id": endpoint.id, "object": "webhook_endpoint", "deleted": True}
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.webhook_endpoints.retrieve(endpoint.id)
    assert raised.value.http_status == 404
    assert raised.value.code == "resource_missing"
    assert f"No such webhook endpoint: '{endpoint.id}'" in str(raised.value.user_message)
    listed = client.v1.webhook_endpoints.list({"limit": 100})
    assert endpoint.id not in [e.id for e in listed.data]
    with pytest.raises(stripe.InvalidRequestError) as again:
        client.v1.webhook_endpoints.delete(endpoint.id)
    assert again.value.http_status == 404


def test_list_pages_newest_first(client: stripe.StripeClient, endpoints: Endpoints) -> None:
    made = [endpoints(f"{URL}/{i}", ["*"]).id for i in range(3)]
    first = client.v1.webhook_endpoints.list({"limit": 2})
    assert [e.id for e in first.data] == made[::-1][:2]
    assert first.has_more is True
    assert first.url == "/v1/webhook_endpoints"
    rest = client.v1.webhook_endpoints.list({"limit": 1, "starting_after": first.data[-1].id})
    assert [e.id for e in rest.data] == [made[0]]


def _refused(client: stripe.StripeClient, params: dict[str, Any]) -> stripe.InvalidRequestError:
    before = len(client.v1.webhook_endpoints.list({"limit": 100}).data)
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.webhook_endpoints.create(params)  # type: ignore[arg-type]
    assert raised.value.http_status == 400
    assert len(client.v1.webhook_endpoints.list({"limit": 100}).data) == before
    return raised.value


@pytest.mark.parametrize(
    ("params", "param", "code"),
    [
        ({"enabled_events": ["*"]}, "url", "parameter_missing"),
        ({"url": URL}, "enabled_events", "parameter_missing"),
        ({"url": URL, "enabled_events": ["customer.created", "charge.exploded"]}, "enabled_events[1]", "parameter_invalid"),
        ({"url": "example.com/hook", "enabled_events": ["*"]}, "url", None),
        ({"url": "ftp://example.com/hook", "enabled_events": ["*"]}, "url", None),
        ({"url": URL, "enabled_events": ["*"], "api_version": "yesterday"}, "api_version", None),
        ({"url": URL, "enabled_events": ["*"], "secret": "whsec_mine"}, "secret", "parameter_unknown"),
        ({"url": URL, "enabled_events": "*"}, "enabled_events", "parameter_invalid"),
    ],
)
def test_bad_input_is_refused_and_creates_nothing(
    client: stripe.StripeClient, params: dict[str, Any], param: str, code: str | None
) -> None:
    error = _refused(client, params)
    assert error.param == param
    if code is not None:
        assert error.code == code


def test_unknown_event_type_names_the_choices(client: stripe.StripeClient) -> None:
    error = _refused(client, {"url": URL, "enabled_events": ["customer.exploded"]})
    assert "Invalid enabled_events[0]: must be one of" in str(error.user_message)
    assert "customer.created" in str(error.user_message)


def test_update_refuses_bad_input(client: stripe.StripeClient, endpoints: Endpoints) -> None:
    endpoint = endpoints(URL, ["customer.created"])
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.webhook_endpoints.update(endpoint.id, {"enabled_events": ["nope"]})  # type: ignore[arg-type]
    assert raised.value.param == "enabled_events[0]"
    with pytest.raises(stripe.InvalidRequestError) as disabled:
        client.v1.webhook_endpoints.update(endpoint.id, {"disabled": "maybe"})  # type: ignore[arg-type]
    assert disabled.value.param == "disabled"
    with pytest.raises(stripe.InvalidRequestError) as url:
        client.v1.webhook_endpoints.update(endpoint.id, {"url": "nowhere"})
    assert url.value.param == "url"
    assert client.v1.webhook_endpoints.retrieve(endpoint.id).to_dict() == {
        k: v for k, v in endpoint.to_dict().items() if k != "secret"
    }
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.webhook_endpoints.update("we_missing", {"description": "x"})
    assert missing.value.http_status == 404
    assert missing.value.param == "id"
