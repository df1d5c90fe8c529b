"""The discount arithmetic, and redeeming coupons and promotion codes in-process.

The arithmetic is pure. Redemption has no endpoint of its own yet (invoices and subscriptions
call it), so those tests build a Billfold app on each backend and call it inside a transaction.
"""

from __future__ import annotations

import datetime
import json
import random
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pytest

from billfold.app import Billfold
from billfold.clock import Clock
from billfold.context import Ctx
from billfold.errors import InvalidRequestError, ResourceMissing
from billfold.resources.billing import coupons, discounts, promotion_codes
from billfold.resources.billing.discounts import (
    add_months,
    discount_amount,
    discount_lines,
    distribute,
    make_discount,
)
from billfold.resources.payments import customers
from billfold.store.objects import Scope
from billfold.wire.present import present
from billfold.wire.versions import LATEST
from tests.support.inprocess import billfold_in_process

T = TypeVar("T")
FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "reference" / "stripe-fixtures-2026-08.json"


def ts(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> int:
    return int(datetime.datetime(year, month, day, hour, minute, tzinfo=datetime.UTC).timestamp())


PERCENT_25 = {"percent_off": 25.0, "amount_off": None, "currency": None}
FIVE_DOLLARS = {
    "percent_off": None, "amount_off": 500, "currency": "usd",
    "currency_options": {"usd": {"amount_off": 500}, "eur": {"amount_off": 450}},
}


# The arithmetic


@pytest.mark.parametrize(
    ("coupon", "amount", "currency", "expected"),
    [
        (PERCENT_25, 1050, "usd", 263),  # 262.5 rounds half up
        (PERCENT_25, 1049, "usd", 262),
        (PERCENT_25, -1050, "usd", -263),  # a credit is discounted alike
        ({"percent_off": 33.33}, 1000, "usd", 333),
        ({"percent_off": 50.0}, 1, "usd", 1),
        ({"percent_off": 12.5}, 1, "usd", 0),
        ({"percent_off": 100.0}, 987, "jpy", 987),
        (FIVE_DOLLARS, 2000, "usd", 500),
        (FIVE_DOLLARS, 300, "usd", 300),  # capped at the amount
        (FIVE_DOLLARS, 2000, "EUR", 450),  # from currency_options
        (FIVE_DOLLARS, 2000, "gbp", 0),  # no amount in that currency
        (FIVE_DOLLARS, -2000, "usd", 0),  # an amount off does not grow a credit
    ],
)
def test_discount_amount(coupon: dict[str, Any], amount: int, currency: str, expected: int) -> None:
    assert discount_amount(coupon, amount, currency) == expected


def test_applies_to_limits_the_products() -> None:
    coupon = {**PERCENT_25, "applies_to": {"products": ["prod_gold"]}}
    assert discount_amount(coupon, 1000, "usd", "prod_gold") == 250
    assert discount_amount(coupon, 1000, "usd", "prod_silver") == 0
    assert discount_amount(coupon, 1000, "usd", None) == 0
    assert discount_amount({**PERCENT_25, "applies_to": {"products": []}}, 1000, "usd", None) == 250


def test_percentages_round_per_line() -> None:
    assert discount_lines(PERCENT_25, [(1050, None), (1050, None)], "usd") == [263, 263]


def test_an_amount_off_is_shared_by_the_covered_lines() -> None:
    coupon = {**FIVE_DOLLARS, "amount_off": 1000, "applies_to": {"products": ["prod_a"]}}
    lines: list[tuple[int, str | None]] = [(3000, "prod_a"), (1000, "prod_a"), (2000, "prod_b")]
    assert discount_lines(coupon, lines, "usd") == [750, 250, 0]
    # Capped at the covered subtotal.
    assert discount_lines(coupon, [(300, "prod_a"), (400, "prod_b")], "usd") == [300, 0]
    assert discount_lines(FIVE_DOLLARS, [(100, None)], "gbp") == [0]


def test_distribute_gives_whole_units_that_add_up() -> None:
    assert distribute(100, [1, 1, 1]) == [34, 33, 33]
    assert distribute(10, [0, 5, -3, 5]) == [0, 5, 0, 5]
    assert distribute(7, [0, 0]) == [0, 0]
    generator = random.Random(7)
    for _ in range(200):
        weights = [generator.randint(-50, 5000) for _ in range(generator.randint(1, 8))]
        total = generator.randint(0, max(sum(max(w, 0) for w in weights), 0))
        shares = distribute(total, weights)
        assert sum(shares) == (total if any(w > 0 for w in weights) else 0)
        assert all(share >= 0 for share in shares)


@pytest.mark.parametrize(
    ("start", "months", "end"),
    [
        (ts(2025, 1, 31, 9, 30), 1, ts(2025, 2, 28, 9, 30)),
        (ts(2024, 1, 31), 1, ts(2024, 2, 29)),
        (ts(2025, 3, 15, 12, 34), 3, ts(2025, 6, 15, 12, 34)),
        (ts(2025, 11, 30), 3, ts(2026, 2, 28)),
        (ts(2025, 5, 1), 12, ts(2026, 5, 1)),
        (ts(2025, 5, 1), 0, ts(2025, 5, 1)),
    ],
)
def test_add_months(start: int, months: int, end: int) -> None:
    assert add_months(start, months) == end


# Redemption, in-process on both backends


class ManualClock(Clock):
    def __init__(self, now: int) -> None:
        self.moment = now

    def now(self) -> int:
        return self.moment

    def precise(self) -> float:
        return float(self.moment)


@pytest.fixture(params=["sqlite", "postgres"])
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Billfold]:
    with billfold_in_process(request.param, tmp_path, clock=ManualClock(ts(2025, 1, 31, 12))) as instance:
        yield instance


def run(app: Billfold, step: Callable[[Ctx], T], version: str = LATEST) -> T:
    with app.db.transaction() as tx:
        return step(Ctx(app, tx, Scope(app.platform_account, False), version, app.clock.now()))


def later(app: Billfold, seconds: int) -> None:
    clock = app.clock
    assert isinstance(clock, ManualClock)
    clock.moment += seconds


def coupon(app: Billfold, **params: Any) -> dict[str, Any]:
    return run(app, lambda ctx: coupons.create_coupon(ctx, params))


def code(app: Billfold, coupon_id: str, **params: Any) -> dict[str, Any]:
    full = {"promotion": {"type": "coupon", "coupon": coupon_id}, **params}
    return run(app, lambda ctx: promotion_codes.create_promotion_code(ctx, full))


def customer(app: Billfold) -> str:
    return str(run(app, lambda ctx: customers.create_customer(ctx, {}))["id"])


def test_redeem_counts_up_to_max_redemptions(app: Billfold) -> None:
    made = coupon(app, percent_off=Decimal(10), max_redemptions=2)
    promo = code(app, made["id"])
    assert run(app, lambda ctx: coupons.redeem(ctx, made["id"]))["times_redeemed"] == 1
    assert run(app, lambda ctx: coupons.redeem(ctx, made["id"]))["times_redeemed"] == 2
    with pytest.raises(InvalidRequestError) as raised:
        run(app, lambda ctx: coupons.redeem(ctx, made["id"], param="discounts[0][coupon]"))
    assert raised.value.code == "coupon_expired"
    assert raised.value.param == "discounts[0][coupon]"
    stored = run(app, lambda ctx: coupons.load_coupon(ctx, made["id"]))
    assert stored["times_redeemed"] == 2
    # A used-up coupon's codes are no longer active.
    assert run(app, lambda ctx: promotion_codes.load_promotion_code(ctx, promo["id"]))["active"] is False


def test_redeem_refuses_an_expired_or_missing_coupon(app: Billfold) -> None:
    made = coupon(app, amount_off=300, currency="usd", redeem_by=app.clock.now() + 60)
    run(app, lambda ctx: coupons.redeem(ctx, made["id"]))
    later(app, 61)
    with pytest.raises(InvalidRequestError) as raised:
        run(app, lambda ctx: coupons.redeem(ctx, made["id"]))
    assert (raised.value.code, raised.value.message) == ("coupon_expired", f"Coupon expired: {made['id']}")
    with pytest.raises(ResourceMissing) as missing:
        run(app, lambda ctx: coupons.redeem(ctx, "NOPE"))
    assert missing.value.message == "No such coupon: 'NOPE'"


def test_resolve_a_code_by_text_or_id(app: Billfold) -> None:
    made = coupon(app, percent_off=Decimal(20))
    promo = code(app, made["id"], code="SPRING-Sale")
    for given in ("spring-sale", "SPRING-SALE", promo["id"]):
        found = run(app, lambda ctx, g=given: promotion_codes.resolve_promotion_code(ctx, g, None, 1000, "usd"))
        assert found["id"] == promo["id"]
    with pytest.raises(ResourceMissing) as missing:
        run(app, lambda ctx: promotion_codes.resolve_promotion_code(ctx, "NOSUCH", None, 1000, "usd"))
    assert missing.value.param == "promotion_code"


def refusal(app: Billfold, given: str, who: str | None, amount: int | None, currency: str | None) -> str:
    with pytest.raises(InvalidRequestError) as raised:
        run(app, lambda ctx: promotion_codes.resolve_promotion_code(ctx, given, who, amount, currency))
    assert raised.value.param == "promotion_code"
    return raised.value.message


def test_resolve_applies_the_restrictions(app: Billfold) -> None:
    made = coupon(app, percent_off=Decimal(20))
    alice, bob = customer(app), customer(app)
    mine = code(app, made["id"], code="ALICEONLY", customer=alice)
    assert "cannot be redeemed by this customer" in refusal(app, "ALICEONLY", bob, None, None)
    assert "cannot be redeemed by this customer" in refusal(app, "ALICEONLY", None, None, None)
    assert run(app, lambda ctx: promotion_codes.resolve_promotion_code(ctx, "aliceonly", alice, None, None)) == mine

    rules = {"minimum_amount": 5000, "minimum_amount_currency": "usd", "currency_options": {"eur": {"minimum_amount": 4500}}}
    code(app, made["id"], code="BIGSPEND", restrictions=rules)
    assert "below its minimum of $50.00" in refusal(app, "BIGSPEND", alice, 4999, "usd")
    assert "below its minimum of €45.00" in refusal(app, "BIGSPEND", alice, 4000, "eur")
    assert "cannot be redeemed in GBP" in refusal(app, "BIGSPEND", alice, 9000, "gbp")
    for amount, currency in ((5000, "usd"), (4500, "EUR"), (None, None)):
        run(app, lambda ctx, a=amount, c=currency: promotion_codes.resolve_promotion_code(ctx, "BIGSPEND", alice, a, c))


def test_first_time_transaction_codes_refuse_returning_customers(app: Billfold) -> None:
    made = coupon(app, percent_off=Decimal(20))
    newcomer, returning = customer(app), customer(app)
    code(app, made["id"], code="FIRSTTIME", restrictions={"first_time_transaction": True})
    run(app, lambda ctx: ctx.objects.insert(
        {"id": "ch_prior", "object": "charge", "created": ctx.now, "customer": returning, "status": "succeeded"}
    ))
    run(app, lambda ctx: promotion_codes.resolve_promotion_code(ctx, "FIRSTTIME", newcomer, 1000, "usd"))
    assert "has prior transactions" in refusal(app, "FIRSTTIME", returning, 1000, "usd")


def test_inactive_and_expired_codes_are_refused(app: Billfold) -> None:
    made = coupon(app, percent_off=Decimal(20))
    code(app, made["id"], code="PAUSED", active=False)
    assert "not active" in refusal(app, "PAUSED", None, None, None)
    code(app, made["id"], code="SOON", expires_at=app.clock.now() + 100)
    later(app, 100)
    assert "has expired" in refusal(app, "SOON", None, None, None)


def test_redeeming_a_code_counts_it_and_its_coupon(app: Billfold) -> None:
    made = coupon(app, percent_off=Decimal(20), max_redemptions=5)
    promo = code(app, made["id"], code="ONEUSE", max_redemptions=1)
    counted = run(app, lambda ctx: promotion_codes.redeem_promotion_code(ctx, promo["id"]))
    assert counted["id"] == made["id"] and counted["times_redeemed"] == 1
    after = run(app, lambda ctx: promotion_codes.load_promotion_code(ctx, promo["id"]))
    assert (after["times_redeemed"], after["active"]) == (1, False)
    assert "not active" in refusal(app, "ONEUSE", None, None, None)
    with pytest.raises(InvalidRequestError):
        run(app, lambda ctx: promotion_codes.redeem_promotion_code(ctx, promo["id"]))
    assert run(app, lambda ctx: coupons.load_coupon(ctx, made["id"]))["times_redeemed"] == 1


def test_make_discount_shapes(app: Billfold) -> None:
    made = coupon(app, percent_off=Decimal(25), duration="repeating", duration_in_months=3)
    promo = code(app, made["id"])
    who = customer(app)
    discount = run(app, lambda ctx: make_discount(ctx, made, customer=who, promotion_code=promo["id"]))
    assert discount["id"].startswith("di_")
    assert (discount["start"], discount["end"]) == (ts(2025, 1, 31, 12), ts(2025, 4, 30, 12))

    def shown(version: str) -> dict[str, Any]:
        def step(ctx: Ctx) -> dict[str, Any]:
            stored = ctx.objects.get(discount["id"], "discount")
            assert stored is not None
            return present(ctx, stored, ["promotion_code"])

        return run(app, step, version)

    current = shown(LATEST)
    fixture = json.loads(FIXTURES.read_text())["resources"]["discount"]
    assert set(current) == set(fixture)
    assert current["source"] == {"coupon": made["id"], "type": "coupon"}
    assert current["customer"] == who
    assert current["promotion_code"]["id"] == promo["id"]
    older = shown("2024-04-10")
    assert "source" not in older
    assert older["coupon"]["id"] == made["id"] and older["coupon"]["valid"] is True
    assert older["coupon"]["percent_off"] == 25.0
    assert list(older)[:4] == ["id", "object", "checkout_session", "coupon"]
    once = coupon(app, amount_off=100, currency="usd")
    assert run(app, lambda ctx: make_discount(ctx, once, subscription="sub_123"))["end"] is None
    assert discounts.SOURCE_SINCE.startswith("2025-09-30")
