"""Tax rates, as the Stripe docs' own examples use them."""

from __future__ import annotations

import secrets

import pytest
import stripe


def test_create_retrieve_update_a_vat_rate(client: stripe.StripeClient) -> None:
    rate = client.v1.tax_rates.create(
        {"display_name": "VAT", "description": "VAT Germany", "jurisdiction": "DE",
         "percentage": 19, "inclusive": False, "country": "de", "tax_type": "vat",
         "metadata": {"ledger": "4711"}}
    )
    assert rate.id.startswith("txr_")
    assert rate.object == "tax_rate"
    assert (rate.display_name, rate.percentage, rate.inclusive) == ("VAT", 19.0, False)
    assert (rate.country, rate.jurisdiction, rate.tax_type, rate.active) == ("DE", "DE", "vat", True)
    assert rate.state is None
    assert rate.metadata.to_dict() == {"ledger": "4711"}

    assert client.v1.tax_rates.retrieve(rate.id).description == "VAT Germany"
    archived = client.v1.tax_rates.update(rate.id, {"active": False, "display_name": "MwSt"})
    assert (archived.active, archived.display_name, archived.percentage) == (False, "MwSt", 19.0)

    updated = client.v1.events.list({"type": "tax_rate.updated", "limit": 5}).data
    mine = [e for e in updated if e.data.object.to_dict().get("id") == rate.id]
    assert mine and mine[0].data.to_dict()["previous_attributes"] == {"active": True, "display_name": "VAT"}
    created = client.v1.events.list({"type": "tax_rate.created", "limit": 5}).data
    assert rate.id in [e.data.object.to_dict().get("id") for e in created]


def test_fractional_percentages_keep_their_digits(client: stripe.StripeClient) -> None:
    rate = client.v1.tax_rates.create(
        {"display_name": "Sales tax", "percentage": 8.875, "inclusive": False, "state": "NY"}
    )
    assert rate.percentage == 8.875
    assert rate.state == "NY"


def test_list_filters_by_active_and_inclusive(client: stripe.StripeClient) -> None:
    tag = secrets.token_hex(3)
    inclusive = client.v1.tax_rates.create(
        {"display_name": f"GST {tag}", "percentage": 10, "inclusive": True}
    )
    exclusive = client.v1.tax_rates.create(
        {"display_name": f"PST {tag}", "percentage": 7, "inclusive": False}
    )
    client.v1.tax_rates.update(exclusive.id, {"active": False})

    shown = client.v1.tax_rates.list({"inclusive": True, "limit": 100}).data
    assert inclusive.id in [r.id for r in shown]
    assert all(r.inclusive for r in shown)
    inactive = client.v1.tax_rates.list({"active": False, "limit": 100}).data
    assert exclusive.id in [r.id for r in inactive]
    assert inclusive.id not in [r.id for r in inactive]
    assert client.v1.tax_rates.list({"limit": 1}).data[0].id == exclusive.id


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"display_name": "VAT", "inclusive": False}, "percentage"),
        ({"display_name": "VAT", "percentage": 19}, "inclusive"),
        ({"percentage": 19, "inclusive": False}, "display_name"),
        ({"display_name": "VAT", "percentage": 101, "inclusive": False}, "percentage"),
        ({"display_name": "VAT", "percentage": -1, "inclusive": False}, "percentage"),
        ({"display_name": "VAT", "percentage": 19, "inclusive": False, "tax_type": "tithe"}, "tax_type"),
        ({"display_name": "x" * 51, "percentage": 19, "inclusive": False}, "display_name"),
    ],
)
def test_bad_input_is_refused_and_creates_nothing(
    client: stripe.StripeClient, params: dict[str, object], param: str
) -> None:
    before = client.v1.tax_rates.list({"limit": 1}).data
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.tax_rates.create(params)  # type: ignore[arg-type]
    assert raised.value.http_status == 400
    assert raised.value.param == param
    assert client.v1.tax_rates.list({"limit": 1}).data == before


def test_percentage_and_inclusive_cannot_change(client: stripe.StripeClient) -> None:
    rate = client.v1.tax_rates.create({"display_name": "VAT", "percentage": 20, "inclusive": True})
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.tax_rates.update(rate.id, {"percentage": 5})  # type: ignore[typeddict-unknown-key]
    assert raised.value.param == "percentage"
    assert client.v1.tax_rates.retrieve(rate.id).percentage == 20.0


def test_a_missing_rate_is_404(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.tax_rates.retrieve("txr_missing")
    assert raised.value.http_status == 404
    assert raised.value.code == "resource_missing"
