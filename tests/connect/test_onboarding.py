"""Onboarding through an account link: the hosted form, completed by its form posts."""

from __future__ import annotations

import json
import re

import httpx
import stripe

from billfold.store.db import Database
from tests.support.server import Server

LINK = {"refresh_url": "https://example.com/reauth", "return_url": "https://example.com/return",
        "type": "account_onboarding"}


def _form(html: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="text" id="[^"]+" name="([^"]+)" value="([^"]*)">', html))


def _express(client: stripe.StripeClient) -> stripe.Account:
    return client.v1.accounts.create(
        {"type": "express", "country": "US", "email": "seller@example.com",
         "capabilities": {"card_payments": {"requested": True}, "transfers": {"requested": True}}}
    )


def test_onboarding_form_completes_the_account(client: stripe.StripeClient, server: Server) -> None:
    account = _express(client)
    link = client.v1.account_links.create({"account": account.id, **LINK})  # type: ignore[typeddict-item]
    assert link.object == "account_link"
    assert link.url.startswith(server.url + "/billfold/connect/onboarding/")
    assert 0 < link.expires_at - link.created <= 600

    page = httpx.get(link.url)
    assert page.status_code == 200
    assert "Set up payments" in page.text and "business_type" in page.text
    form = _form(page.text)
    assert form["individual.ssn_last_4"] == "0000"
    assert form["external_account.account_number"] == "000123456789"
    assert form["individual.first_name"]

    done = httpx.post(link.url, data=form)
    assert done.status_code == 303
    assert done.headers["location"] == "https://example.com/return"

    onboarded = client.v1.accounts.retrieve(account.id)
    assert onboarded.details_submitted is True
    assert onboarded.charges_enabled is True and onboarded.payouts_enabled is True
    assert onboarded.capabilities.to_dict() == {"card_payments": "active", "transfers": "active"}
    assert onboarded.requirements.currently_due == []
    assert onboarded.tos_acceptance.date is not None and onboarded.tos_acceptance.ip
    assert onboarded.individual.first_name == form["individual.first_name"]
    assert onboarded.external_accounts.data[0].last4 == "6789"

    events = client.v1.events.list({"limit": 20}, options={"stripe_account": account.id})
    types = [e.type for e in events.data]
    assert "account.updated" in types and types.count("capability.updated") == 2
    assert "account.external_account.created" in types
    assert all(e.account == account.id for e in events.data)

    # A used link sends the person to refresh_url.
    again = httpx.get(link.url)
    assert again.status_code == 302 and again.headers["location"] == "https://example.com/reauth"

    login = client.v1.accounts.login_links.create(account.id)
    assert login.object == "login_link"
    dashboard = httpx.get(login.url)
    assert dashboard.status_code == 200 and account.id in dashboard.text


def test_expired_link_goes_to_refresh_url(client: stripe.StripeClient, server: Server) -> None:
    account = _express(client)
    link = client.v1.account_links.create({"account": account.id, **LINK})  # type: ignore[typeddict-item]
    token = link.url.rsplit("/", 1)[1]
    db = Database(server.database_url)
    try:
        # Time passing: the link's expiry moves into the past.
        with db.transaction() as tx:
            row = tx.one("SELECT data FROM objects WHERE id = :id", id=token)
            assert row is not None
            data = json.loads(row.data)
            data["expires_at"] = data["created"] - 1
            tx.execute("UPDATE objects SET data = :d WHERE id = :id", d=json.dumps(data), id=token)
    finally:
        db.dispose()
    assert httpx.get(link.url).headers["location"] == "https://example.com/reauth"
    posted = httpx.post(link.url, data={"individual.first_name": "Jenny"})
    assert posted.status_code == 303 and posted.headers["location"] == "https://example.com/reauth"
    assert client.v1.accounts.retrieve(account.id).details_submitted is False


def test_bad_links_are_refused(client: stripe.StripeClient, server: Server) -> None:
    account = _express(client)
    for bad, param in (
        ({"account": "acct_unknown", **LINK}, "account"),
        ({"account": account.id, **LINK, "type": "account_update"}, "type"),
        ({"account": account.id, **LINK, "return_url": "not a url"}, "return_url"),
        ({"account": account.id, **LINK, "type": "sideways"}, "type"),
    ):
        try:
            client.v1.account_links.create(bad)  # type: ignore[arg-type]
        except stripe.InvalidRequestError as exc:
            assert exc.http_status == 400 and exc.param == param
        else:
            raise AssertionError(f"accepted {bad}")
    assert httpx.get(f"{server.url}/billfold/connect/onboarding/nope").status_code == 404


def test_login_links_are_for_express_accounts(client: stripe.StripeClient) -> None:
    custom = client.v1.accounts.create({"type": "custom"})
    try:
        client.v1.accounts.login_links.create(custom.id)
    except stripe.InvalidRequestError as exc:
        assert "not an Express account" in str(exc.user_message)
    else:
        raise AssertionError("a login link for a Custom account was made")
