"""A custom connected account whose requirements are all provided through the API."""

from __future__ import annotations

from typing import Any


def completed_account(**extra: Any) -> dict[str, Any]:
    """Create params for a US individual custom account that needs nothing more to onboard."""
    return {
        "type": "custom",
        "country": "US",
        "business_type": "individual",
        "capabilities": {"card_payments": {"requested": True}, "transfers": {"requested": True}},
        "individual": {
            "first_name": "Jenny", "last_name": "Rosen", "email": "jenny@example.com",
            "phone": "0000000000", "dob": {"day": 1, "month": 1, "year": 1901},
            "ssn_last_4": "0000",
            "address": {"line1": "address_full_match", "city": "San Francisco",
                        "state": "CA", "postal_code": "94111"},
        },
        "business_profile": {"mcc": "5734", "url": "https://accessible.stripe.com"},
        "tos_acceptance": {"date": 1_700_000_000, "ip": "127.0.0.1"},
        **extra,
    }
