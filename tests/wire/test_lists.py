"""List endpoints: limit, cursors, has_more, url, newest first, created filters, unknown params."""

from __future__ import annotations

import time
from typing import Any

import pytest
import stripe

from tests.wire.conftest import customers_with


def make(client: stripe.StripeClient, email: str, count: int) -> list[str]:
    """``count`` customers, oldest first."""
    return [client.v1.customers.create({"email": email}).id for _ in range(count)]


def test_default_limit_is_ten_and_pages_walk_newest_first(client: stripe.StripeClient, email: str) -> None:
    made = make(client, email, 12)
    newest_first = made[::-1]
    page = client.v1.customers.list({"email": email})
    assert page.object == "list"
    assert page.url == "/v1/customers"
    assert [c.id for c in page.data] == newest_first[:10]
    assert page.has_more is True
    rest = client.v1.customers.list({"email": email, "starting_after": page.data[-1].id})
    assert [c.id for c in rest.data] == newest_first[10:]
    assert rest.has_more is False
    back = client.v1.customers.list({"email": email, "ending_before": rest.data[0].id, "limit": 3})
    assert [c.id for c in back.data] == newest_first[7:10]
    assert back.has_more is True
    assert [c.id for c in client.v1.customers.list({"email": email, "limit": 5}).auto_paging_iter()] == newest_first


def test_limit_bounds(client: stripe.StripeClient, email: str) -> None:
    made = make(client, email, 2)
    assert len(client.v1.customers.list({"email": email, "limit": 100}).data) == 2
    assert [c.id for c in client.v1.customers.list({"email": email, "limit": 1}).data] == made[-1:]
    for limit, message in ((0, "greater than or equal to 1"), (101, "less than or equal to 100"),
                           (-5, "greater than or equal to 1"), ("ten", "Invalid integer: ten")):
        with pytest.raises(stripe.InvalidRequestError) as raised:
            client.v1.customers.list({"limit": limit})  # type: ignore[arg-type]
        assert raised.value.http_status == 400
        assert raised.value.param == "limit"
        assert message in str(raised.value.user_message)


def test_created_filters(client: stripe.StripeClient, email: str) -> None:
    customers = []
    for index in range(3):
        if index:
            time.sleep(1.1)
        customers.append(client.v1.customers.create({"email": email}))
    first, second, third = customers
    assert first.created < second.created < third.created

    def ids(created: Any) -> list[str]:
        return [c.id for c in client.v1.customers.list({"email": email, "created": created}).data]

    assert ids({"gte": second.created}) == [third.id, second.id]
    assert ids({"gt": second.created}) == [third.id]
    assert ids({"lte": second.created}) == [second.id, first.id]
    assert ids({"lt": second.created}) == [first.id]
    assert ids({"gte": first.created, "lt": third.created}) == [second.id, first.id]
    assert ids(second.created) == [second.id]
    assert ids({"gt": third.created}) == []


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"colour": "red"}, "colour"),
        ({"created": {"after": 1}}, "created[after]"),
        ({"created": "yesterday"}, "created"),
        ({"created": {"gte": "soon"}}, "created[gte]"),
        ({"email": ["a", "b"]}, "email"),
        ({"expand": "data.test_clock"}, "expand"),
    ],
)
def test_bad_list_params_are_refused(client: stripe.StripeClient, params: dict[str, Any], param: str) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.customers.list(params)  # type: ignore[arg-type]
    assert raised.value.http_status == 400
    assert raised.value.param == param


def test_unknown_cursor_is_resource_missing(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.customers.list({"starting_after": "cus_notthere0000"})
    assert raised.value.http_status == 404
    assert raised.value.code == "resource_missing"
    assert raised.value.param == "starting_after"


def test_filter_by_email_and_deleted_customers_leave_the_list(client: stripe.StripeClient, email: str) -> None:
    kept, gone = make(client, email, 2)
    client.v1.customers.delete(gone)
    assert customers_with(client, email) == [kept]
    assert customers_with(client, "nobody-" + email) == []
