"""Radar value lists and their items: ``/v1/radar/value_lists``, ``/v1/radar/value_list_items``."""

from __future__ import annotations

import secrets

import pytest
import stripe

from tests.radar.conftest import Rules


def alias() -> str:
    return f"list_{secrets.token_hex(4)}"


def test_value_list_crud(client: stripe.StripeClient) -> None:
    name = alias()
    created = client.v1.radar.value_lists.create(
        {"alias": name, "name": "Blocked IPs", "item_type": "ip_address", "metadata": {"team": "risk"}}
    )
    assert created.id.startswith("rsl_") and created.object == "radar.value_list"
    assert (created.alias, created.name, created.item_type, created.metadata.to_dict()) == (
        name, "Blocked IPs", "ip_address", {"team": "risk"}
    )
    assert created.list_items.data == [] and created.created_by
    default = client.v1.radar.value_lists.create({"alias": alias(), "name": "Strings"})
    assert default.item_type == "string"
    updated = client.v1.radar.value_lists.update(created.id, {"name": "Bad IPs", "metadata": {"team": ""}})
    assert (updated.name, updated.metadata.to_dict()) == ("Bad IPs", {})
    assert client.v1.radar.value_lists.retrieve(created.id).name == "Bad IPs"
    found = client.v1.radar.value_lists.list({"alias": name}).data
    assert [v.id for v in found] == [created.id]
    deleted = client.v1.radar.value_lists.delete(created.id)
    assert deleted.deleted is True and deleted.id == created.id
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.radar.value_lists.retrieve(created.id)
    assert missing.value.http_status == 404 and missing.value.code == "resource_missing"


def test_items(client: stripe.StripeClient) -> None:
    emails = client.v1.radar.value_lists.create({"alias": alias(), "name": "Emails", "item_type": "email"})
    jenny = client.v1.radar.value_list_items.create({"value_list": emails.id, "value": "jenny@example.com"})
    assert jenny.id.startswith("rsli_") and (jenny.value, jenny.value_list) == ("jenny@example.com", emails.id)
    client.v1.radar.value_list_items.create({"value_list": emails.id, "value": "bob@example.com"})
    listed = client.v1.radar.value_list_items.list({"value_list": emails.id})
    assert [i.value for i in listed.data] == ["bob@example.com", "jenny@example.com"]
    by_value = client.v1.radar.value_list_items.list({"value_list": emails.id, "value": "JENNY@example.com"})
    assert [i.id for i in by_value.data] == [jenny.id]
    shown = client.v1.radar.value_lists.retrieve(emails.id)
    assert len(shown.list_items.data) == 2
    assert shown.list_items.url == f"/v1/radar/value_list_items?value_list={emails.id}"
    containing = client.v1.radar.value_lists.list({"contains": "Jenny@Example.com"}).data
    assert [v.id for v in containing] == [emails.id]
    with pytest.raises(stripe.InvalidRequestError) as duplicate:
        client.v1.radar.value_list_items.create({"value_list": emails.id, "value": "JENNY@example.com"})
    assert duplicate.value.param == "value"
    assert client.v1.radar.value_list_items.retrieve(jenny.id).value == "jenny@example.com"
    assert client.v1.radar.value_list_items.delete(jenny.id).deleted is True
    remaining = client.v1.radar.value_list_items.list({"value_list": emails.id}).data
    assert [i.value for i in remaining] == ["bob@example.com"]


def test_case_sensitive_lists(client: stripe.StripeClient) -> None:
    codes = client.v1.radar.value_lists.create(
        {"alias": alias(), "name": "Codes", "item_type": "case_sensitive_string"}
    )
    client.v1.radar.value_list_items.create({"value_list": codes.id, "value": "AbC"})
    client.v1.radar.value_list_items.create({"value_list": codes.id, "value": "abc"})
    assert len(client.v1.radar.value_list_items.list({"value_list": codes.id}).data) == 2


def test_bad_input(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as no_name:
        client.v1.radar.value_lists.create({"alias": alias()})
    assert (no_name.value.param, no_name.value.code) == ("name", "parameter_missing")
    with pytest.raises(stripe.InvalidRequestError) as bad_type:
        client.v1.radar.value_lists.create({"alias": alias(), "name": "x", "item_type": "phone"})
    assert bad_type.value.param == "item_type"
    with pytest.raises(stripe.InvalidRequestError) as bad_alias:
        client.v1.radar.value_lists.create({"alias": "no spaces", "name": "x"})
    assert bad_alias.value.param == "alias"
    taken = client.v1.radar.value_lists.create({"alias": alias(), "name": "x"})
    with pytest.raises(stripe.InvalidRequestError) as duplicate:
        client.v1.radar.value_lists.create({"alias": taken.alias, "name": "y"})
    assert (duplicate.value.param, duplicate.value.code) == ("alias", "resource_already_exists")
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        client.v1.radar.value_list_items.create({"value_list": "rsl_missing", "value": "x"})
    assert (unknown.value.http_status, unknown.value.param) == (404, "value_list")
    assert "No such value list: 'rsl_missing'" in str(unknown.value.user_message)
    with pytest.raises(stripe.InvalidRequestError) as unknown_list:
        client.v1.radar.value_list_items.list({"value_list": "rsl_missing"})
    assert unknown_list.value.http_status == 404
    with pytest.raises(stripe.InvalidRequestError) as required:
        client.v1.radar.value_list_items.list({})  # type: ignore[typeddict-item]
    assert required.value.param == "value_list"
    countries = client.v1.radar.value_lists.create({"alias": alias(), "name": "c", "item_type": "country"})
    with pytest.raises(stripe.InvalidRequestError) as bad_country:
        client.v1.radar.value_list_items.create({"value_list": countries.id, "value": "USA"})
    assert bad_country.value.param == "value"
    assert client.v1.radar.value_list_items.list({"value_list": countries.id}).data == []
    with pytest.raises(stripe.InvalidRequestError) as unknown_param:
        client.v1.radar.value_lists.create({"alias": alias(), "name": "x", "colour": "red"})  # type: ignore[typeddict-unknown-key]
    assert unknown_param.value.param == "colour"


def test_a_list_in_use_cannot_be_deleted(client: stripe.StripeClient, rules: Rules) -> None:
    used = client.v1.radar.value_lists.create({"alias": alias(), "name": "Countries", "item_type": "country"})
    client.v1.radar.value_list_items.create({"value_list": used.id, "value": "RU"})
    rule = rules.add(f"Block if :card_country: in @{used.alias}")
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.radar.value_lists.delete(used.id)
    assert rule["id"] in str(refused.value.user_message)
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.radar.value_lists.update(used.id, {"alias": alias()})
    rules.clear()
    assert client.v1.radar.value_lists.delete(used.id).deleted is True
