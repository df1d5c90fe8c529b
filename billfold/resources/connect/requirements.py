"""What a connected account still owes: its ``requirements``, capability statuses and flags.

Everything here is computed from the stored account document, so one ``refresh`` after any
change keeps ``requirements``, ``capabilities``, ``charges_enabled``, ``payouts_enabled`` and
``details_submitted`` consistent (and ``account.updated`` can report what changed).
"""

from __future__ import annotations

from typing import Any

# Stripe's capability names (the keys of ``capabilities[...]`` on account create).
CAPABILITIES: tuple[str, ...] = (
    "acss_debit_payments", "affirm_payments", "afterpay_clearpay_payments", "amazon_pay_payments",
    "au_becs_debit_payments", "bacs_debit_payments", "bancontact_payments",
    "bank_transfer_payments", "blik_payments", "boleto_payments", "card_issuing", "card_payments",
    "cartes_bancaires_payments", "cashapp_payments", "eps_payments", "fpx_payments",
    "giropay_payments", "grabpay_payments", "ideal_payments", "india_international_payments",
    "jcb_payments", "klarna_payments", "konbini_payments", "legacy_payments", "link_payments",
    "mobilepay_payments", "oxxo_payments", "p24_payments", "paynow_payments",
    "promptpay_payments", "revolut_pay_payments", "sepa_debit_payments", "sofort_payments",
    "swish_payments", "tax_reporting_us_1099_k", "tax_reporting_us_1099_misc", "transfers",
    "treasury", "us_bank_account_ach_payments", "zip_payments",
)

_ADDRESS = ("address.city", "address.line1", "address.postal_code", "address.state")
INDIVIDUAL: tuple[str, ...] = tuple(
    f"individual.{name}"
    for name in (
        *_ADDRESS, "dob.day", "dob.month", "dob.year", "email", "first_name", "last_name",
        "phone", "ssn_last_4",
    )
)
COMPANY: tuple[str, ...] = tuple(
    f"company.{name}" for name in (*_ADDRESS, "name", "phone", "tax_id")
)
# Asked of every account that takes payments, whatever its business type.
BASE: tuple[str, ...] = (
    "business_profile.mcc", "business_profile.url", "external_account", "tos_acceptance.date",
    "tos_acceptance.ip",
)


def _lookup(root: dict[str, Any] | None, path: str) -> Any:
    value: Any = root
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _provided(person: dict[str, Any] | None, requirement: str) -> bool:
    path = requirement.split(".", 1)[1]
    if path in ("ssn_last_4", "tax_id", "id_number"):
        # Secrets are never shown back: the object says only that they were provided.
        return bool(_lookup(person, f"{path}_provided"))
    return _lookup(person, path) not in (None, "")


def missing(account: dict[str, Any]) -> list[str]:
    """The fields the account must still provide before its capabilities can be active."""
    due: list[str] = []
    business_type = account.get("business_type")
    if business_type is None:
        due.append("business_type")
    elif business_type == "individual":
        due.extend(f for f in INDIVIDUAL if not _provided(account.get("individual"), f))
    else:
        due.extend(f for f in COMPANY if not _provided(account.get("company"), f))
    profile = account.get("business_profile") or {}
    if not profile.get("mcc"):
        due.append("business_profile.mcc")
    # Stripe takes a product description in place of a website.
    if not profile.get("url") and not profile.get("product_description"):
        due.append("business_profile.url")
    if not account.get("_has_external_account"):
        due.append("external_account")
    tos = account.get("tos_acceptance") or {}
    if not tos.get("date"):
        due.append("tos_acceptance.date")
    if not tos.get("ip"):
        due.append("tos_acceptance.ip")
    return sorted(due)


def empty_requirements() -> dict[str, Any]:
    return {
        "alternatives": [],
        "current_deadline": None,
        "currently_due": [],
        "disabled_reason": None,
        "errors": [],
        "eventually_due": [],
        "past_due": [],
        "pending_verification": [],
    }


def capability_status(account: dict[str, Any], name: str) -> str:
    entry = (account.get("_capabilities") or {}).get(name)
    if entry is None or not entry.get("requested"):
        return "unrequested"
    if account.get("_rejected") or missing(account):
        return "inactive"
    return "active"


def refresh(account: dict[str, Any]) -> None:
    """Recompute everything derived from what the account has provided."""
    due = missing(account)
    rejected = account.get("_rejected")
    requirements = empty_requirements()
    requirements["currently_due"] = list(due)
    requirements["eventually_due"] = list(due)
    # In test mode there is no grace period: what enables charges is due now.
    requirements["past_due"] = list(due)
    if rejected:
        requirements["disabled_reason"] = f"rejected.{rejected}"
    elif due:
        requirements["disabled_reason"] = "requirements.past_due"
    account["requirements"] = requirements
    account["future_requirements"] = empty_requirements()
    capabilities = account.get("_capabilities") or {}
    for name, entry in capabilities.items():
        entry["status"] = capability_status(account, name)
    account["capabilities"] = {
        name: entry["status"] for name, entry in sorted(capabilities.items()) if entry.get("requested")
    }
    complete = not due and not rejected
    if "card_payments" in account["capabilities"]:
        account["charges_enabled"] = account["capabilities"]["card_payments"] == "active"
    else:
        account["charges_enabled"] = complete
    account["payouts_enabled"] = complete
    if complete:
        account["details_submitted"] = True


def capability_requirements(account: dict[str, Any], name: str) -> dict[str, Any]:
    requirements = empty_requirements()
    if capability_status(account, name) == "inactive":
        account_requirements = account.get("requirements") or {}
        for key in ("currently_due", "eventually_due", "past_due", "disabled_reason"):
            requirements[key] = account_requirements.get(key)
    return requirements
