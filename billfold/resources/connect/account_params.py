"""The parameters of ``/v1/accounts`` create and update, and the countries Connect serves."""

from __future__ import annotations

from billfold.resources.base import ADDRESS
from billfold.resources.connect.external_accounts import EXTERNAL_ACCOUNT
from billfold.resources.connect.requirements import CAPABILITIES
from billfold.wire.params import AnyOf, Bool, Currency, Dict, Int, Metadata, Spec, Str, Timestamp

# Countries where Stripe offers connected accounts, with each one's default currency.
COUNTRIES: dict[str, str] = {
    "AE": "aed", "AT": "eur", "AU": "aud", "BE": "eur", "BG": "bgn", "BR": "brl", "CA": "cad",
    "CH": "chf", "CY": "eur", "CZ": "czk", "DE": "eur", "DK": "dkk", "EE": "eur", "ES": "eur",
    "FI": "eur", "FR": "eur", "GB": "gbp", "GI": "gbp", "GR": "eur", "HK": "hkd", "HR": "eur",
    "HU": "huf", "IE": "eur", "IN": "inr", "IT": "eur", "JP": "jpy", "LI": "chf", "LT": "eur",
    "LU": "eur", "LV": "eur", "MT": "eur", "MX": "mxn", "MY": "myr", "NL": "eur", "NO": "nok",
    "NZ": "nzd", "PL": "pln", "PT": "eur", "RO": "ron", "SE": "sek", "SG": "sgd", "SI": "eur",
    "SK": "eur", "TH": "thb", "US": "usd",
}

DOB = Dict(
    fields={
        "day": Int(required=True, min=1, max=31),
        "month": Int(required=True, min=1, max=12),
        "year": Int(required=True, min=1900, max=2100),
    },
    emptyable=True,
)
INDIVIDUAL = Dict(
    fields={
        "address": ADDRESS,
        "dob": DOB,
        "email": Str(max_length=800),
        "first_name": Str(max_length=100),
        "last_name": Str(max_length=100),
        "id_number": Str(max_length=5000),
        "metadata": Metadata(),
        "phone": Str(max_length=100),
        "ssn_last_4": Str(pattern=r"\d{4}", max_length=4),
    }
)
COMPANY = Dict(
    fields={
        "address": ADDRESS,
        "directors_provided": Bool(),
        "executives_provided": Bool(),
        "name": Str(max_length=100),
        "owners_provided": Bool(),
        "phone": Str(max_length=100),
        "registration_number": Str(max_length=100),
        "tax_id": Str(max_length=100),
        "vat_id": Str(max_length=100),
    }
)
BUSINESS_PROFILE = Dict(
    fields={
        "estimated_worker_count": Int(min=0),
        "mcc": Str(max_length=4, pattern=r"\d{4}"),
        "name": Str(max_length=5000),
        "product_description": Str(max_length=40000),
        "support_address": ADDRESS,
        "support_email": Str(max_length=800),
        "support_phone": Str(max_length=5000),
        "support_url": Str(emptyable=True, max_length=5000),
        "url": Str(max_length=5000),
    }
)
CAPABILITY_REQUESTS = Dict(
    fields={name: Dict(fields={"requested": Bool()}) for name in CAPABILITIES}
)
CONTROLLER = Dict(
    fields={
        "fees": Dict(fields={"payer": Str(enum=("account", "application"))}),
        "losses": Dict(fields={"payments": Str(enum=("application", "stripe"))}),
        "requirement_collection": Str(enum=("application", "stripe")),
        "stripe_dashboard": Dict(fields={"type": Str(enum=("express", "full", "none"))}),
    }
)
TOS_ACCEPTANCE = Dict(
    fields={
        "date": Timestamp(),
        "ip": Str(max_length=100),
        "service_agreement": Str(enum=("full", "recipient")),
        "user_agent": Str(max_length=5000),
    }
)
SCHEDULE = Dict(
    fields={
        "delay_days": AnyOf(options=(Str(enum=("minimum",)), Int(min=0, max=365))),
        "interval": Str(enum=("daily", "manual", "monthly", "weekly")),
        "monthly_anchor": Int(min=1, max=31),
        "weekly_anchor": Str(
            enum=("friday", "monday", "saturday", "sunday", "thursday", "tuesday", "wednesday")
        ),
    }
)
SETTINGS = Dict(
    fields={
        "branding": Dict(
            fields={name: Str(max_length=5000) for name in ("icon", "logo", "primary_color", "secondary_color")}
        ),
        "card_payments": Dict(fields={"statement_descriptor_prefix": Str(max_length=10)}),
        "dashboard": Dict(fields={"display_name": Str(max_length=5000), "timezone": Str(max_length=5000)}),
        "payments": Dict(fields={"statement_descriptor": Str(max_length=22)}),
        "payouts": Dict(
            fields={
                "debit_negative_balances": Bool(),
                "schedule": SCHEDULE,
                "statement_descriptor": Str(max_length=22),
            }
        ),
    }
)
BUSINESS_TYPES = ("company", "government_entity", "individual", "non_profit")
FIELDS: dict[str, Spec] = {
    "business_profile": BUSINESS_PROFILE,
    "business_type": Str(enum=BUSINESS_TYPES, emptyable=True),
    "capabilities": CAPABILITY_REQUESTS,
    "company": COMPANY,
    "default_currency": Currency(),
    "email": Str(max_length=5000),
    "external_account": EXTERNAL_ACCOUNT,
    "individual": INDIVIDUAL,
    "metadata": Metadata(),
    "settings": SETTINGS,
    "tos_acceptance": TOS_ACCEPTANCE,
}
CREATE: dict[str, Spec] = {
    **FIELDS,
    "controller": CONTROLLER,
    "country": Str(max_length=100),
    "type": Str(enum=("custom", "express", "standard")),
}
UPDATE: dict[str, Spec] = dict(FIELDS)
REJECT: dict[str, Spec] = {"reason": Str(required=True, enum=("fraud", "other", "terms_of_service"))}
