"""Currencies' minor units, and amounts written the way Stripe's messages write them."""

from __future__ import annotations

# Stripe's zero-decimal currencies: an amount of 100 JPY is ``100``, not ``10000``.
ZERO_DECIMAL = frozenset(
    "bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf".split()
)
# Three-decimal currencies: 1.000 KWD is ``1000``.
THREE_DECIMAL = frozenset("bhd jod kwd omr tnd".split())

SYMBOLS = {"usd": "$", "cad": "$", "aud": "$", "eur": "€", "gbp": "£", "jpy": "¥"}


def exponent(currency: str) -> int:
    """How many digits of the amount are below the currency's major unit."""
    currency = currency.lower()
    if currency in ZERO_DECIMAL:
        return 0
    if currency in THREE_DECIMAL:
        return 3
    return 2


def rescale(amount: int, from_exponent: int, currency: str) -> int:
    """An amount written with ``from_exponent`` decimals, in ``currency``'s minor units (half up)."""
    shift = exponent(currency) - from_exponent
    if shift >= 0:
        return amount * 10**shift
    divisor = 10**-shift
    return (amount + divisor // 2) // divisor


def format_amount(amount: int, currency: str) -> str:
    """``$1,250.00``, ``¥1,000``, ``1.500 KWD``: digits from integers only, never a float."""
    places = exponent(currency)
    sign = "-" if amount < 0 else ""
    whole, part = divmod(abs(amount), 10**places) if places else (abs(amount), 0)
    digits = f"{whole:,}.{part:0{places}d}" if places else f"{whole:,}"
    symbol = SYMBOLS.get(currency.lower())
    if symbol is not None:
        return f"{sign}{symbol}{digits}"
    return f"{sign}{digits} {currency.upper()}"
