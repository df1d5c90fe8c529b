"""An account's ``individual`` (a Person) and ``company``, as Stripe shows them.

Secrets (SSN digits, tax ids, id numbers) are never stored or shown back: the objects say only
that they were provided (``ssn_last_4_provided``, ``tax_id_provided``), as Stripe's do.
"""

from __future__ import annotations

from typing import Any

from billfold import ids
from billfold.resources.base import address
from billfold.resources.connect.requirements import empty_requirements
from billfold.wire.params import apply_metadata


def _person(account: dict[str, Any], now: int) -> dict[str, Any]:
    unverified = {"back": None, "details": None, "details_code": None, "front": None}
    return {
        "id": ids.new_id("person"),
        "object": "person",
        "account": account["id"],
        "additional_tos_acceptances": {"account": {"date": None, "ip": None, "user_agent": None}},
        "address": address({}),
        "created": now,
        "dob": {"day": None, "month": None, "year": None},
        "email": None,
        "first_name": None,
        "future_requirements": _person_requirements(),
        "id_number_provided": False,
        "last_name": None,
        "metadata": {},
        "phone": None,
        "relationship": {
            "authorizer": None, "director": False, "executive": False, "legal_guardian": False,
            "owner": False, "percent_ownership": None, "representative": True, "title": None,
        },
        "requirements": _person_requirements(),
        "ssn_last_4_provided": False,
        "verification": {
            "additional_document": dict(unverified),
            "details": None,
            "details_code": None,
            "document": dict(unverified),
            "status": "unverified",
        },
    }


def _person_requirements() -> dict[str, Any]:
    requirements = empty_requirements()
    del requirements["current_deadline"]
    del requirements["disabled_reason"]
    return requirements


def apply_individual(account: dict[str, Any], changes: dict[str, Any], now: int) -> None:
    person = account.get("individual") or _person(account, now)
    for name in ("email", "first_name", "last_name", "phone"):
        if name in changes:
            person[name] = changes[name]
    if "address" in changes:
        merged = {**(person.get("address") or {}), **{k: v for k, v in (changes["address"] or {}).items()}}
        person["address"] = address(merged)
    if "dob" in changes:
        dob = changes["dob"] or {}
        person["dob"] = {"day": dob.get("day"), "month": dob.get("month"), "year": dob.get("year")}
    if changes.get("ssn_last_4"):
        person["ssn_last_4_provided"] = True
    if changes.get("id_number"):
        person["id_number_provided"] = True
        person["ssn_last_4_provided"] = True
    if "metadata" in changes:
        person["metadata"] = apply_metadata(person.get("metadata", {}), changes["metadata"])
    account["individual"] = person


def apply_company(account: dict[str, Any], changes: dict[str, Any]) -> None:
    company = account.get("company") or {
        "address": address({}),
        "directors_provided": False,
        "executives_provided": False,
        "name": None,
        "owners_provided": False,
        "phone": None,
        "tax_id_provided": False,
        "vat_id_provided": False,
        "verification": {
            "document": {"back": None, "details": None, "details_code": None, "front": None}
        },
    }
    for name in ("directors_provided", "executives_provided", "name", "owners_provided", "phone"):
        if name in changes:
            company[name] = changes[name]
    if "address" in changes:
        company["address"] = address({**(company.get("address") or {}), **(changes["address"] or {})})
    if changes.get("tax_id"):
        company["tax_id_provided"] = True
    if changes.get("vat_id"):
        company["vat_id_provided"] = True
    account["company"] = company
