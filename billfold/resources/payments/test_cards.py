"""Stripe's test-mode cards and the `pm_card_*` / `tok_*` ids that stand for them.

Only data and lookups live here; the payment flows read a `TestCard` and act on it.
Source: docs.stripe.com/testing and docs.stripe.com/radar/testing (numbers, codes and
Stripe's user-facing decline messages are API facts that SDK users match on).

Field vocabularies beyond what the field comments say:

- ``three_d_secure``: ``None`` never challenges (includes 4242…, which is unenrolled, and
  amex 0005, which cannot do 3DS); ``"required"`` always challenges; ``"required_unless_setup"``
  challenges on-session and off-session until the card is set up for future use;
  ``"required_on_session"`` is already set up, so only on-session payments challenge;
  ``"optional"`` supports 3DS but Radar does not ask for it by default.
- ``dispute``: a dispute ``reason``, or ``"inquiry"`` (status ``warning_needs_response``),
  or ``"multiple"`` (the charge is disputed more than once).
- ``cvc_check`` / address checks describe the outcome when the value is supplied; when the
  request omits CVC or address, the check is null whatever the card.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TestCard:
    __test__ = False  # not a pytest test class, despite the name

    number: str
    brand: str
    funding: str = "credit"
    country: str = "US"
    decline_code: str | None = None
    error_code: str | None = None
    message: str | None = None
    three_d_secure: str | None = None
    attach_fails: bool = False
    charge_fails_after_attach: bool = False
    dispute: str | None = None
    early_fraud_warning: bool = False
    risk_level: str = "normal"
    radar_blocked: bool = False
    bypass_pending: bool = False
    cvc_check: str = "pass"
    address_line1_check: str | None = None
    address_zip_check: str | None = None
    exp_month: int = 12
    exp_year: int = 2034


# Stripe's error messages by decline code, exactly as the API returns them.
DECLINE_MESSAGES: dict[str, str] = {
    "generic_decline": "Your card was declined.",
    "insufficient_funds": "Your card has insufficient funds.",
    "lost_card": "Your card was declined.",
    "stolen_card": "Your card was declined.",
    "fraudulent": "Your card was declined.",
    "expired_card": "Your card has expired.",
    "incorrect_cvc": "Your card's security code is incorrect.",
    "processing_error": "An error occurred while processing your card. Try again in a little bit.",
    "incorrect_number": "Your card number is incorrect.",
    "card_velocity_exceeded": (
        "Your card was declined for making repeated attempts too frequently"
        " or exceeding its amount limit."
    ),
}

# Decline codes whose error `code` is the decline code itself rather than card_declined.
_OWN_ERROR_CODES = frozenset(
    {"expired_card", "incorrect_cvc", "processing_error", "incorrect_number"}
)


def _declined(
    number: str,
    decline_code: str,
    *,
    country: str = "US",
    attach_fails: bool = True,
    charge_fails_after_attach: bool = False,
    three_d_secure: str | None = None,
    risk_level: str = "normal",
    radar_blocked: bool = False,
) -> TestCard:
    return TestCard(
        number,
        "visa",
        country=country,
        decline_code=decline_code,
        error_code=decline_code if decline_code in _OWN_ERROR_CODES else None,
        message=DECLINE_MESSAGES[decline_code],
        three_d_secure=three_d_secure,
        attach_fails=attach_fails,
        charge_fails_after_attach=charge_fails_after_attach,
        risk_level=risk_level,
        radar_blocked=radar_blocked,
    )


def _visa(number: str, country: str = "US", funding: str = "credit") -> TestCard:
    return TestCard(number, "visa", funding=funding, country=country)


_BRAND_CARDS = (
    TestCard("4242424242424242", "visa"),
    TestCard("4000056655665556", "visa", funding="debit"),
    TestCard("5555555555554444", "mastercard"),
    TestCard("2223003122003222", "mastercard"),
    TestCard("5200828282828210", "mastercard", funding="debit"),
    TestCard("5105105105105100", "mastercard", funding="prepaid"),
    TestCard("378282246310005", "amex"),
    TestCard("371449635398431", "amex"),
    TestCard("6011111111111117", "discover"),
    TestCard("6011000990139424", "discover"),
    TestCard("6011981111111113", "discover", funding="debit"),
    TestCard("3056930009020004", "diners"),
    TestCard("36227206271667", "diners"),
    TestCard("6555900000604105", "discover"),  # BCcard and DinaCard, carried on Discover's network
    TestCard("3566002020360505", "jcb", country="JP"),
    TestCard("6200000000000005", "unionpay", country="CN"),
    TestCard("6200000000000047", "unionpay", funding="debit", country="CN"),
    TestCard("6205500000000000004", "unionpay", country="CN"),
    # Co-branded: card.brand is the international network; the local one is in networks.
    TestCard("4000002500001001", "visa", country="FR"),  # Cartes Bancaires
    TestCard("5555552500001001", "mastercard", country="FR"),  # Cartes Bancaires
    TestCard("4000050360000001", "visa", funding="debit", country="AU"),  # eftpos Australia
    TestCard("5555050360000080", "mastercard", funding="debit", country="AU"),  # eftpos Australia
    # HSA / FSA cards (one Visa number serves both product codes).
    TestCard("4000051230000072", "visa", funding="debit"),
    TestCard("5200828282828897", "mastercard", funding="debit"),
    # Numbers from older versions of the docs that Stripe still accepts.
    TestCard("4012888888881881", "visa"),
    TestCard("30569309025904", "diners"),
    TestCard("38520000023237", "diners"),
    TestCard("4000000000000093", "visa"),  # domestic pricing in split-pricing countries
)

# (country, number, brand, funding, alias suffix for pm_card_* / tok_*; None when Stripe has none)
_COUNTRY_ROWS: tuple[tuple[str, str, str, str, str | None], ...] = (
    ("US", "4242424242424242", "visa", "credit", "us"),
    ("AR", "4000000320000021", "visa", "credit", "ar"),
    ("BR", "4000000760000002", "visa", "credit", "br"),
    ("CA", "4000001240000000", "visa", "credit", "ca"),
    ("CL", "4000001520000001", "visa", "credit", "cl"),
    ("CO", "4000001700000003", "visa", "credit", "co"),
    ("CR", "4000001880000005", "visa", "credit", "cr"),
    ("EC", "4000002180000000", "visa", "credit", "ec"),
    ("MX", "4000004840008001", "visa", "credit", "mx"),
    ("MX", "5062210000000009", "unknown", "credit", None),  # Carnet has no card.brand value
    ("PA", "4000005910000000", "visa", "credit", "pa"),
    ("PY", "4000006000000066", "visa", "credit", "py"),
    ("PE", "4000006040000068", "visa", "credit", "pe"),
    ("UY", "4000008580000003", "visa", "credit", "uy"),
    ("AE", "4000007840000001", "visa", "credit", "ae"),
    ("AE", "5200007840000022", "mastercard", "credit", "ae_mastercard"),
    ("AT", "4000000400000008", "visa", "credit", "at"),
    ("BE", "4000000560000004", "visa", "credit", "be"),
    ("BG", "4000001000000000", "visa", "credit", "bg"),
    ("BY", "4000001120000005", "visa", "credit", "by"),
    ("HR", "4000001910000009", "visa", "credit", "hr"),
    ("CY", "4000001960000008", "visa", "credit", "cy"),
    ("CZ", "4000002030000002", "visa", "credit", "cz"),
    ("DK", "4000002080000001", "visa", "credit", "dk"),
    ("EE", "4000002330000009", "visa", "credit", "ee"),
    ("FI", "4000002460000001", "visa", "credit", "fi"),
    ("FR", "4000002500000003", "visa", "credit", "fr"),
    ("DE", "4000002760000016", "visa", "credit", "de"),
    ("GI", "4000002920000005", "visa", "credit", "gi"),
    ("GR", "4000003000000030", "visa", "credit", "gr"),
    ("HU", "4000003480000005", "visa", "credit", "hu"),
    ("IE", "4000003720000005", "visa", "credit", "ie"),
    ("IT", "4000003800000008", "visa", "credit", "it"),
    ("LV", "4000004280000005", "visa", "credit", "lv"),
    ("LI", "4000004380000004", "visa", "credit", "li"),
    ("LT", "4000004400000000", "visa", "credit", "lt"),
    ("LU", "4000004420000006", "visa", "credit", "lu"),
    ("MT", "4000004700000007", "visa", "credit", "mt"),
    ("NL", "4000005280000002", "visa", "credit", "nl"),
    ("NO", "4000005780000007", "visa", "credit", "no"),
    ("PL", "4000006160000005", "visa", "credit", "pl"),
    ("PT", "4000006200000007", "visa", "credit", "pt"),
    ("RO", "4000006420000001", "visa", "credit", "ro"),
    ("SA", "4000006820000007", "visa", "credit", None),
    ("SI", "4000007050000006", "visa", "credit", "si"),
    ("SK", "4000007030000001", "visa", "credit", "sk"),
    ("ES", "4000007240000007", "visa", "credit", "es"),
    ("SE", "4000007520000008", "visa", "credit", "se"),
    ("CH", "4000007560000009", "visa", "credit", "ch"),
    ("GB", "4000008260000000", "visa", "credit", "gb"),
    ("GB", "4000058260000005", "visa", "debit", "gb_debit"),
    ("GB", "5555558265554449", "mastercard", "credit", "gb_mastercard"),
    ("AU", "4000000360000006", "visa", "credit", "au"),
    ("CN", "4000001560000002", "visa", "credit", "cn"),
    ("HK", "4000003440000004", "visa", "credit", "hk"),
    ("IN", "4000003560000008", "visa", "credit", "in"),
    ("JP", "4000003920000003", "visa", "credit", "jp"),
    ("JP", "3530111333300000", "jcb", "credit", None),  # the JP JCB alias is pm_card_jcb
    ("MY", "4000004580000002", "visa", "credit", "my"),
    ("NZ", "4000005540000008", "visa", "credit", "nz"),
    ("SG", "4000007020000003", "visa", "credit", "sg"),
    ("TW", "4000001580000008", "visa", "credit", "tw"),
    ("TH", "4000007640000003", "visa", "credit", "th_credit"),
    ("TH", "4000057640000008", "visa", "debit", "th_debit"),
)

_COUNTRY_CARDS = tuple(
    TestCard(number, brand, funding=funding, country=country)
    for country, number, brand, funding, _ in _COUNTRY_ROWS
    if number != "4242424242424242"  # already listed by brand
)

_DECLINE_CARDS = (
    _declined("4000000000000002", "generic_decline"),
    _declined("4000000000009995", "insufficient_funds"),
    _declined("4000000000009987", "lost_card"),
    _declined("4000000000009979", "stolen_card"),
    _declined("4000000000000069", "expired_card"),
    _declined("4000000000000127", "incorrect_cvc"),
    _declined("4000000000000119", "processing_error"),
    _declined("4242424242424241", "incorrect_number"),  # fails Luhn on purpose
    _declined("4000000000006975", "card_velocity_exceeded"),
    # Attaching succeeds; every charge afterwards is declined.
    _declined(
        "4000000000000341", "generic_decline", attach_fails=False, charge_fails_after_attach=True
    ),
)

_RADAR_CARDS = (
    _declined(
        "4100000000000019",
        "fraudulent",
        attach_fails=False,
        risk_level="highest",
        radar_blocked=True,
    ),
    TestCard("4000000000004954", "visa", risk_level="highest"),  # blocked only if the rules say so
    TestCard("4000000000009235", "visa", risk_level="elevated"),
    TestCard("4000008400000407", "visa"),  # high fraud dispute score
    TestCard("4000008400000159", "visa"),  # high early fraud warning score
    TestCard("4000008400001017", "visa"),  # trips Radar's dynamic risk thresholds when enabled
    TestCard("4000008405600003", "visa", three_d_secure="optional"),  # Adaptive 3DS challenges it
    TestCard("4000000000000101", "visa", cvc_check="fail"),
    TestCard("4000000000000036", "visa", address_line1_check="pass", address_zip_check="fail"),
    TestCard("4000058400307872", "visa", risk_level="elevated", cvc_check="fail"),
    TestCard("4000058400306072", "visa", risk_level="elevated", address_zip_check="fail"),
    TestCard("4000000000000028", "visa", address_line1_check="fail", address_zip_check="pass"),
    TestCard("4000000000000010", "visa", address_line1_check="fail", address_zip_check="fail"),
    TestCard(
        "4000000000000044",
        "visa",
        address_line1_check="unavailable",
        address_zip_check="unavailable",
    ),
)

_DISPUTE_CARDS = (
    TestCard("4000000000000259", "visa", dispute="fraudulent"),
    TestCard("4000000000002685", "visa", dispute="product_not_received"),
    TestCard("4000000000001976", "visa", dispute="inquiry"),
    TestCard("4000000000005423", "visa", early_fraud_warning=True),
    TestCard("4000000404000079", "visa", dispute="multiple"),
    TestCard("4000000404000038", "visa", dispute="fraudulent"),  # Visa CE 3.0 eligible
    TestCard("4000008400000779", "visa", dispute="noncompliant"),  # Visa compliance
    TestCard("5105008400000002", "mastercard", dispute="noncompliant"),  # Mastercard compliance
    # The docs do not name the reason for these, so they open the catch-all one.
    TestCard("4000000001000043", "visa", dispute="general"),  # Smart Disputes eligible
    TestCard("4000000404004816", "visa", dispute="general"),  # Visa RDR, when not enrolled
    TestCard("4000000404005649", "visa", dispute="fraudulent"),  # Verifi CE 3.0 block
    TestCard("5105000300000018", "mastercard", dispute="general"),  # Ethoca alert
)

# Refund behaviour has no TestCard field; the refund flow reads this instead.
REFUND_OUTCOMES: dict[str, str] = {
    "4000000000007726": "pending",  # pending, then succeeded (refund.updated)
    "4000000000005126": "failed",  # succeeded, then failed (refund.failed)
}

_MISC_CARDS = (
    _visa("4000000000007726"),
    _visa("4000000000005126"),
    TestCard("4000000000000077", "visa", bypass_pending=True),
    TestCard("4000003720000278", "visa", country="IE", bypass_pending=True),
    _visa("4000000000001208"),  # captcha challenge on hosted pages
    _visa("4000000000003725"),  # captcha challenge on hosted pages
    # Terminal PIN cards: plain successes for online payments.
    _visa("4001007020000002", "SG"),
    _visa("4000008260000075", "GB"),
    _visa("4001000360000005", "AU"),
    _visa("4000002760000008", "DE"),
)

_THREE_D_SECURE_CARDS = (
    TestCard("4000002500003155", "visa", country="FR", three_d_secure="required_unless_setup"),
    TestCard("4000002760003184", "visa", country="DE", three_d_secure="required"),
    TestCard("4000003800000446", "visa", country="IT", three_d_secure="required_on_session"),
    _declined(
        "4000008260003178",
        "insufficient_funds",
        country="GB",
        attach_fails=False,
        three_d_secure="required",
    ),
    TestCard("4000000000003220", "visa", country="IE", three_d_secure="required"),
    TestCard("4000008400000027", "visa", three_d_secure="required"),
    _declined("4000008400001629", "generic_decline", attach_fails=False, three_d_secure="required"),
    # The 3DS lookup itself fails, which Stripe reports as an ordinary decline.
    _declined("4000008400001280", "generic_decline", attach_fails=False, three_d_secure="required"),
    TestCard("4000000000003055", "visa", three_d_secure="optional"),
    TestCard("4000000000003097", "visa", three_d_secure="optional"),  # an attempted 3DS errors
    # Frictionless: authentication always runs but never shows a challenge.
    TestCard("4000000032200000", "visa", three_d_secure="required"),
    TestCard("4000000000003063", "visa", three_d_secure="required"),  # 3DS1-era card
    TestCard("4000000000003089", "visa", three_d_secure="optional"),  # 3DS1-era "recommended"
    # Mobile SDK challenge UIs (out of band, one-time passcode, single select, multi select).
    TestCard("4000582600000094", "visa", country="GB", three_d_secure="required"),
    TestCard("4000582600000045", "visa", country="GB", three_d_secure="required"),
    TestCard("4000582600000102", "visa", country="GB", three_d_secure="required"),
    TestCard("4000582600000110", "visa", country="GB", three_d_secure="required"),
)


def _index(*groups: tuple[TestCard, ...]) -> dict[str, TestCard]:
    table: dict[str, TestCard] = {}
    for group in groups:
        for card in group:
            if card.number in table:
                raise ValueError(f"test card {card.number} listed twice")
            table[card.number] = card
    return table


CARDS: dict[str, TestCard] = _index(
    _BRAND_CARDS,
    _COUNTRY_CARDS,
    _DECLINE_CARDS,
    _RADAR_CARDS,
    _DISPUTE_CARDS,
    _MISC_CARDS,
    _THREE_D_SECURE_CARDS,
)

# Ids that exist both as pm_card_<name> and tok_<name>.
_SHARED_ALIASES: dict[str, str] = {
    "visa": "4242424242424242",
    "visa_debit": "4000056655665556",
    "mastercard": "5555555555554444",
    "mastercard_debit": "5200828282828210",
    "mastercard_prepaid": "5105105105105100",
    "amex": "378282246310005",
    "discover": "6011111111111117",
    "diners": "3056930009020004",
    "jcb": "3566002020360505",
    "unionpay": "6200000000000005",
    "visa_cartesBancaires": "4000002500001001",
    "mastercard_cartesBancaires": "5555552500001001",
    "visa_debit_eftposAuCoBranded": "4000050360000001",
    "mastercard_debit_eftposAuCoBranded": "5555050360000080",
    "chargeDeclined": "4000000000000002",
    "visa_chargeDeclined": "4000000000000002",
    "chargeDeclinedInsufficientFunds": "4000000000009995",
    "visa_chargeDeclinedInsufficientFunds": "4000000000009995",
    "chargeDeclinedLostCard": "4000000000009987",
    "visa_chargeDeclinedLostCard": "4000000000009987",
    "chargeDeclinedStolenCard": "4000000000009979",
    "visa_chargeDeclinedStolenCard": "4000000000009979",
    "chargeDeclinedExpiredCard": "4000000000000069",
    "visa_chargeDeclinedExpiredCard": "4000000000000069",
    "chargeDeclinedIncorrectCvc": "4000000000000127",
    "visa_chargeDeclinedIncorrectCvc": "4000000000000127",
    "chargeDeclinedProcessingError": "4000000000000119",
    "visa_chargeDeclinedProcessingError": "4000000000000119",
    "chargeDeclinedFraudulent": "4100000000000019",
    "visa_chargeDeclinedFraudulent": "4100000000000019",
    "visa_chargeDeclinedVelocityLimitExceeded": "4000000000006975",
    "chargeCustomerFail": "4000000000000341",
    "radarBlock": "4100000000000019",
    "riskLevelHighest": "4000000000004954",
    "riskLevelElevated": "4000000000009235",
    "highFraudDisputeScore": "4000008400000407",
    "highEfwScore": "4000008400000159",
    "radarDynamicRiskThreshold": "4000008400001017",
    "adaptive3dsChallenge": "4000008405600003",
    "cvcCheckFail": "4000000000000101",
    "cvcCheckFailElevatedRisk": "4000058400307872",
    "avsZipFail": "4000000000000036",
    "avsZipFailElevatedRisk": "4000058400306072",
    "avsLine1Fail": "4000000000000028",
    "avsFail": "4000000000000010",
    "avsUnchecked": "4000000000000044",
    "createDispute": "4000000000000259",
    "createDisputeProductNotReceived": "4000000000002685",
    "createDisputeInquiry": "4000000000001976",
    "createIssuerFraudRecord": "4000000000005423",
    "createMultipleDisputes": "4000000404000079",
    "createCe3EligibleDispute": "4000000404000038",
    "createComplianceDispute": "4000008400000779",
    "createMastercardComplianceDispute": "5105008400000002",
    "createAutoRepresentmentEligibleDispute": "4000000001000043",
    "createRapidDisputeResolutionDispute": "4000000404004816",
    "createCe3BlockDispute": "4000000404005649",
    "createEthocaAlert": "5105000300000018",
    "pendingRefund": "4000000000007726",
    "refundFail": "4000000000005126",
    "bypassPending": "4000000000000077",
    "bypassPendingInternational": "4000003720000278",
    "threeDSecure2Required": "4000000000003220",
    "threeDSecureRequired": "4000000000003063",
    "threeDSecureRequiredChargeDeclined": "4000008400001629",
    "threeDSecureRequiredProcessingError": "4000008400001280",
    "threeDSecureOptional": "4000000000003055",
    "threeDSecureOptionalProcessingError": "4000000000003097",
    "amex_threeDSecureNotSupported": "378282246310005",
}

_PAYMENT_METHOD_ONLY: dict[str, str] = {
    "chargeDeclinedVelocityLimitExceeded": "4000000000006975",
    "authenticationRequired": "4000002760003184",
    "authenticationRequiredOnSetup": "4000002500003155",
    "authenticationRequiredSetupForOffSession": "4000003800000446",
    "authenticationRequiredChargeDeclinedInsufficientFunds": "4000008260003178",
    "debit_visaFsaProductCode": "4000051230000072",
    "debit_visaHsaProductCode": "4000051230000072",
    "mastercard_debit_mastercardFsaProductCode": "5200828282828897",
    "domesticPricing": "4000000000000093",
}

_TOKEN_ONLY: dict[str, str] = {
    # Stripe gives no number for a debit card that lacks funds; the credit one stands in.
    "visa_debit_chargeDeclinedInsufficientFunds": "4000000000009995",
    "visa_chargeCustomerFail": "4000000000000341",
}

_COUNTRY_ALIASES: dict[str, str] = {
    suffix: number for _, number, _, _, suffix in _COUNTRY_ROWS if suffix is not None
}

PAYMENT_METHOD_ALIASES: dict[str, str] = {
    f"pm_card_{name}": number
    for group in (_SHARED_ALIASES, _PAYMENT_METHOD_ONLY, _COUNTRY_ALIASES)
    for name, number in group.items()
}

TOKEN_ALIASES: dict[str, str] = {
    f"tok_{name}": number
    for group in (_SHARED_ALIASES, _TOKEN_ONLY, _COUNTRY_ALIASES)
    for name, number in group.items()
}


def _digits(number: str) -> str:
    return "".join(number.split())


def luhn_valid(number: str) -> bool:
    digits = _digits(number)
    if not digits.isdigit() or not digits.isascii():
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def card_for_number(number: str) -> TestCard | None:
    return CARDS.get(_digits(number))


def card_for_test_id(test_id: str) -> TestCard | None:
    number = PAYMENT_METHOD_ALIASES.get(test_id) or TOKEN_ALIASES.get(test_id)
    return CARDS.get(number) if number is not None else None


def _prefix_in(digits: str, length: int, low: int, high: int) -> bool:
    return len(digits) >= length and low <= int(digits[:length]) <= high


def brand_for_number(number: str) -> str:
    digits = _digits(number)
    known = CARDS.get(digits)
    if known is not None:
        return known.brand
    if not digits.isdigit() or not digits.isascii():
        return "unknown"
    if digits.startswith("4"):
        return "visa"
    if _prefix_in(digits, 2, 51, 55) or _prefix_in(digits, 4, 2221, 2720):
        return "mastercard"
    if digits.startswith(("34", "37")):
        return "amex"
    if digits.startswith(("6011", "65")) or _prefix_in(digits, 3, 644, 649):
        return "discover"
    if _prefix_in(digits, 4, 3528, 3589):
        return "jcb"
    if digits.startswith(("36", "38", "39")) or _prefix_in(digits, 3, 300, 305):
        return "diners"
    if digits.startswith("62"):
        return "unionpay"
    return "unknown"
