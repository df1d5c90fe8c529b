"""Applying ``POST /v1/invoices`` and ``POST /v1/invoices/{id}`` parameters to an invoice, and the
list filters that read fields without a column of their own."""

from __future__ import annotations

from typing import Any

from billfold.context import Ctx
from billfold.errors import InvalidRequestError
from billfold.resources.billing.catalog import Where
from billfold.resources.billing.invoice_discounts import redeem_all
from billfold.resources.billing.tax_rates import resolve_rates
from billfold.wire.params import apply_metadata

__all__ = ["apply", "check_collection", "list_where"]

DAY = 86_400
# Without a due date, a send_invoice invoice is due in 30 days (Stripe's default payment terms).
DEFAULT_DAYS_UNTIL_DUE = 30
MAX_AHEAD = 5 * 366 * DAY
_PLAIN = ("description", "footer", "statement_descriptor", "number", "effective_at")


def check_collection(params: dict[str, Any], collection: str) -> None:
    """Due dates belong to ``send_invoice`` invoices, and one way of giving one at a time."""
    if "days_until_due" in params and "due_date" in params:
        raise InvalidRequestError(
            "You may only specify one of these parameters: days_until_due, due_date.", param="due_date"
        )
    if collection == "charge_automatically":
        for name in ("days_until_due", "due_date"):
            if params.get(name) is not None:
                raise InvalidRequestError(
                    f"Invalid {name}: it can only be set on invoices with "
                    "collection_method=send_invoice.",
                    param=name,
                )


def _check_due_date(ctx: Ctx, value: int) -> None:
    if value < ctx.now:
        raise InvalidRequestError("Invalid due_date: the due date must be in the future.", param="due_date")
    if value > ctx.now + MAX_AHEAD:
        raise InvalidRequestError(
            "Invalid due_date: the due date must be within 5 years.", param="due_date"
        )


def _due(ctx: Ctx, invoice: dict[str, Any], params: dict[str, Any]) -> None:
    collection = params.get("collection_method", invoice["collection_method"])
    check_collection(params, collection)
    invoice["collection_method"] = collection
    if collection == "charge_automatically":
        invoice["due_date"] = None
        return
    if params.get("due_date") is not None:
        _check_due_date(ctx, params["due_date"])
        invoice["due_date"] = params["due_date"]
    elif params.get("days_until_due") is not None:
        invoice["due_date"] = int(invoice["created"]) + params["days_until_due"] * DAY
    elif invoice.get("due_date") is None:
        invoice["due_date"] = int(invoice["created"]) + DEFAULT_DAYS_UNTIL_DUE * DAY


def _payment_method(ctx: Ctx, invoice: dict[str, Any], ref: str | None) -> str | None:
    if ref is None:
        return None
    method = ctx.objects.get(ref, "payment_method")
    if method is None or method.get("customer") != invoice["customer"]:
        raise InvalidRequestError(
            f"No such PaymentMethod: '{ref}'; the default payment method of an invoice must be "
            "attached to its customer.",
            param="default_payment_method",
            code="resource_missing",
        )
    return ref


def _payment_settings(current: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    result = dict(current or {})
    if "default_mandate" in changes:
        result["default_mandate"] = changes["default_mandate"]
    if "payment_method_types" in changes:
        types = changes["payment_method_types"]
        for index, kind in enumerate(types or []):
            if kind != "card":
                raise InvalidRequestError(
                    f"Invalid payment_settings[payment_method_types][{index}]: Billfold invoices "
                    "accept card payments.",
                    param=f"payment_settings[payment_method_types][{index}]",
                )
        result["payment_method_types"] = types or None
    if "payment_method_options" in changes:
        options = changes["payment_method_options"]
        card = (options or {}).get("card")
        result["payment_method_options"] = {"card": card} if card else None
    return result


def _rendering(current: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    result = dict(current or {})
    for name in ("amount_tax_display", "template", "template_version"):
        if name in changes:
            result[name] = changes[name]
    if "pdf" in changes:
        result["pdf"] = {"page_size": (changes["pdf"] or {}).get("page_size") or "auto"}
    return result


def apply(ctx: Ctx, invoice: dict[str, Any], params: dict[str, Any]) -> None:
    """Set what ``params`` asks of ``invoice`` (which the caller stores and recomputes)."""
    if (params.get("automatic_tax") or {}).get("enabled"):
        raise InvalidRequestError(
            "Automatic tax calculation (Stripe Tax) is not available in Billfold; apply tax "
            "rates with default_tax_rates or on the invoice items instead.",
            param="automatic_tax[enabled]",
        )
    if params.get("default_source"):
        raise InvalidRequestError(
            "Billfold does not support legacy sources; use default_payment_method.",
            param="default_source",
        )
    for name in _PLAIN:
        if name in params:
            invoice[name] = params[name]
    if "account_tax_ids" in params:
        invoice["account_tax_ids"] = params["account_tax_ids"] or None
    if "custom_fields" in params:
        invoice["custom_fields"] = params["custom_fields"] or None
    if "metadata" in params:
        invoice["metadata"] = apply_metadata(invoice.get("metadata") or {}, params["metadata"])
    if "auto_advance" in params and invoice["status"] in ("draft", "open"):
        invoice["auto_advance"] = params["auto_advance"]
    at = params.get("automatically_finalizes_at")
    if at is not None and not (ctx.now < at <= ctx.now + MAX_AHEAD):
        raise InvalidRequestError(
            "Invalid automatically_finalizes_at: it must be in the future and within 5 years.",
            param="automatically_finalizes_at",
        )
    if invoice["status"] == "draft":
        _due(ctx, invoice, params)
    if "default_payment_method" in params:
        invoice["default_payment_method"] = _payment_method(ctx, invoice, params["default_payment_method"])
    if "default_tax_rates" in params:
        invoice["default_tax_rates"] = resolve_rates(ctx, params["default_tax_rates"], "default_tax_rates")
    if "discounts" in params:
        invoice["discounts"] = redeem_all(
            ctx, params["discounts"], param="discounts", customer=invoice["customer"],
            subscription=invoice.get("subscription"), invoice=invoice["id"],
            keep=list(invoice.get("discounts") or []),
        )
    if "payment_settings" in params:
        invoice["payment_settings"] = _payment_settings(invoice["payment_settings"], params["payment_settings"])
    if "rendering" in params:
        invoice["rendering"] = _rendering(invoice["rendering"], params["rendering"])


class _Where(Where):
    def compare(self, sign: str, value: int, *path: str) -> None:
        name = self._name()
        self.params[name] = value
        self.clauses.append(f"CAST({self._field(*path)} AS BIGINT) {sign} :{name}")


def list_where(ctx: Ctx, params: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    where = _Where(ctx)
    if params.get("collection_method"):
        where.equals(params["collection_method"], "collection_method")
    due = params.get("due_date")
    if isinstance(due, int):
        where.compare("=", due, "due_date")
    elif isinstance(due, dict):
        for op, sign in (("gt", ">"), ("gte", ">="), ("lt", "<"), ("lte", "<=")):
            if op in due:
                where.compare(sign, due[op], "due_date")
    return where.build()
