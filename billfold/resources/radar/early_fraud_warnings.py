"""Early fraud warnings: ``/v1/radar/early_fraud_warnings`` — an issuer's notice that a charge
may be fraudulent, before (or instead of) a dispute.

In test mode the card 4000000000005423 (``pm_card_createIssuerFraudRecord``) gets one moments
after its payment, from a scheduled job.
"""

from __future__ import annotations

from typing import Any

from billfold import ids, jobs
from billfold.context import Ctx
from billfold.errors import ResourceMissing
from billfold.resources.base import list_params, page
from billfold.wire.params import Str
from billfold.wire.present import register
from billfold.wire.router import Routes

routes = Routes("radar_early_fraud_warnings")

OBJECT = "radar.early_fraud_warning"
CREATE_JOB = "radar.early_fraud_warning.create"
# Stripe's test mode reports the warning within moments of the payment.
CREATE_DELAY = 1.0
# The fraud type an issuer reports for Stripe's early-fraud-warning test card.
TEST_FRAUD_TYPE = "made_with_stolen_card"

LIST = list_params(charge=Str(), payment_intent=Str())


def schedule(ctx: Ctx, charge_id: str) -> None:
    jobs.schedule(ctx, CREATE_JOB, charge_id, ctx.now + CREATE_DELAY)


def create(ctx: Ctx, charge: dict[str, Any], fraud_type: str) -> dict[str, Any]:
    warning: dict[str, Any] = {
        "id": ids.new_id(OBJECT),
        "object": OBJECT,
        "actionable": True,
        "charge": charge["id"],
        "created": ctx.now,
        "fraud_type": fraud_type,
        "livemode": ctx.livemode,
        "payment_intent": charge.get("payment_intent"),
    }
    ctx.objects.insert(warning)
    ctx.emit("radar.early_fraud_warning.created", warning)
    return warning


@jobs.handler(CREATE_JOB)
def create_for_test_card(ctx: Ctx, charge_id: str) -> None:
    """One warning per charge: the job may run again after a crash."""
    charge = ctx.objects.get(charge_id, "charge", for_update=True)
    if charge is None or ctx.objects.page(OBJECT, filters={"charge": charge_id}, limit=1).data:
        return
    create(ctx, charge, TEST_FRAUD_TYPE)


@routes.get("/v1/radar/early_fraud_warnings/{early_fraud_warning}")
def retrieve_early_fraud_warning(
    ctx: Ctx, params: dict[str, Any], early_fraud_warning: str
) -> dict[str, Any]:
    found = ctx.objects.get(early_fraud_warning, OBJECT)
    if found is None:
        raise ResourceMissing("early fraud warning", early_fraud_warning)
    return found


@routes.get("/v1/radar/early_fraud_warnings", LIST)
def list_early_fraud_warnings(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    filters = {"charge": params.get("charge"), "payment_intent": params.get("payment_intent")}
    return page(ctx, OBJECT, "/v1/radar/early_fraud_warnings", params, filters)


def _render(ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    # Actionable until the charge is disputed or fully refunded (Stripe's definition).
    if data.get("actionable"):
        charge = ctx.objects.get(str(data["charge"]), "charge") or {}
        data["actionable"] = not (charge.get("disputed") or charge.get("refunded"))
    return data


register(OBJECT, expandable=("charge", "payment_intent"), render=_render)
