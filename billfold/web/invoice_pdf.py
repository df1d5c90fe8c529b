"""The invoice (and its receipt) as a PDF, drawn from the same view as the hosted page.

fpdf2's built-in Helvetica covers Latin-1 only, so text outside it is transliterated
(``€`` becomes ``EUR``) rather than embedding a font file in the package.
"""

from __future__ import annotations

import datetime

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from billfold.web.invoice_view import InvoiceView

_REPLACEMENTS = {"€": "EUR ", "–": "-", "—": "-", "•": "*", "’": "'", "“": '"', "”": '"', "…": "..."}
_MARGIN = 18.0
_GREY = (107, 114, 128)
_INK = (31, 41, 55)


def latin1(text: str) -> str:
    """``text`` as Helvetica can draw it: common symbols spelled out, anything else as ``?``."""
    for symbol, spelled in _REPLACEMENTS.items():
        text = text.replace(symbol, spelled)
    return text.encode("latin-1", "replace").decode("latin-1")


class _Document(FPDF):
    label = ""

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font("Helvetica", "", 8)
        self.set_text_color(*_GREY)
        self.cell(0, 5, latin1(self.label), align="L")
        self.set_x(self.l_margin)
        self.cell(0, 5, f"Page {self.page_no()} of {{nb}}", align="R")


def _pair(pdf: FPDF, label: str, value: str) -> None:
    pdf.set_font("Helvetica", "", 10)
    pdf.set_text_color(*_GREY)
    pdf.cell(40, 6, latin1(label))
    pdf.set_text_color(*_INK)
    pdf.cell(0, 6, latin1(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _header(pdf: FPDF, view: InvoiceView, title: str) -> None:
    pdf.set_font("Helvetica", "B", 22)
    pdf.set_text_color(*_INK)
    pdf.cell(0, 10, latin1(title), new_x=XPos.LMARGIN)
    pdf.set_font("Helvetica", "B", 12)
    pdf.cell(0, 10, latin1(view.merchant), align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if not view.livemode:
        pdf.set_font("Helvetica", "B", 8)
        pdf.set_text_color(146, 64, 14)
        pdf.cell(0, 5, "TEST MODE", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)


def _details(pdf: FPDF, view: InvoiceView, receipt: bool, payment_method: str | None) -> None:
    if view.number:
        _pair(pdf, "Receipt for invoice" if receipt else "Invoice number", view.number)
    if view.issued:
        _pair(pdf, "Date of issue", view.issued)
    if view.due and not receipt:
        _pair(pdf, "Date due", view.due)
    if view.paid_at:
        _pair(pdf, "Date paid", view.paid_at)
    if payment_method:
        _pair(pdf, "Payment method", payment_method)
    if view.voided_at:
        _pair(pdf, "Voided", view.voided_at)
    if view.uncollectible_at:
        _pair(pdf, "Marked uncollectible", view.uncollectible_at)
    _pair(pdf, "Status", view.status_label)
    if view.customer:
        pdf.ln(3)
        pdf.set_font("Helvetica", "B", 10)
        pdf.cell(0, 6, "Bill to", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font("Helvetica", "", 10)
        for part in view.customer:
            pdf.cell(0, 5, latin1(part), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(5)
    pdf.set_font("Helvetica", "B", 15)
    pdf.cell(0, 9, latin1(view.headline), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if view.description:
        pdf.set_font("Helvetica", "", 10)
        pdf.multi_cell(0, 5, latin1(view.description), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)


def _line_heading(pdf: FPDF, columns: tuple[float, ...]) -> None:
    pdf.set_font("Helvetica", "", 9)
    pdf.set_text_color(*_GREY)
    for heading, column, align in zip(
        ("Description", "Qty", "Unit price", "Amount"), columns, ("L", "R", "R", "R"), strict=True
    ):
        pdf.cell(column, 7, heading, border="B", align=align)
    pdf.ln(8)
    pdf.set_text_color(*_INK)


def _lines(pdf: FPDF, view: InvoiceView) -> None:
    width = pdf.w - 2 * _MARGIN
    columns = (width - 75, 20, 27, 28)
    _line_heading(pdf, columns)
    for line in view.lines:
        pdf.set_font("Helvetica", "", 10)
        description = latin1(line.description)
        wrapped = pdf.multi_cell(columns[0], 5.5, description, dry_run=True, output="LINES")
        height = 5.5 * (len(wrapped) if isinstance(wrapped, list) else 1)
        if line.period:
            height += 4.5
        # A line never splits across pages; the column headings repeat on the next one.
        if pdf.get_y() + height > pdf.page_break_trigger:
            pdf.add_page()
            _line_heading(pdf, columns)
            pdf.set_font("Helvetica", "", 10)
        top = pdf.get_y()
        pdf.multi_cell(columns[0], 5.5, description, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        if line.period:
            pdf.set_font("Helvetica", "", 8)
            pdf.set_text_color(*_GREY)
            pdf.cell(columns[0], 4.5, latin1(line.period), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            pdf.set_text_color(*_INK)
            pdf.set_font("Helvetica", "", 10)
        bottom = pdf.get_y()
        pdf.set_xy(pdf.l_margin + columns[0], top)
        quantity = "" if line.quantity is None else str(line.quantity)
        pdf.cell(columns[1], 5.5, quantity, align="R")
        pdf.cell(columns[2], 5.5, latin1(line.unit_amount or ""), align="R")
        pdf.cell(columns[3], 5.5, latin1(line.amount), align="R")
        pdf.set_xy(pdf.l_margin, bottom + 1.5)
    pdf.ln(2)


def _totals(pdf: FPDF, view: InvoiceView) -> None:
    width = pdf.w - 2 * _MARGIN
    label_x = pdf.l_margin + width * 0.45
    for row in view.totals:
        pdf.set_font("Helvetica", "B" if row.strong else "", 10)
        pdf.set_x(label_x)
        pdf.cell(width * 0.35, 6.5, latin1(row.label), border="T" if row.strong else 0)
        pdf.cell(width * 0.20, 6.5, latin1(row.amount), border="T" if row.strong else 0, align="R",
                 new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def render(
    view: InvoiceView,
    *,
    receipt: bool = False,
    payment_method: str | None = None,
    page_size: str | None = None,
    created: int | None = None,
) -> bytes:
    """The PDF of ``view``; ``receipt`` draws the receipt of a paid invoice instead."""
    title = "Receipt" if receipt else "Invoice"
    pdf = _Document(format="A4" if page_size == "a4" else "letter", unit="mm")
    pdf.label = f"{view.number or view.id} · {view.headline}"
    if receipt:
        pdf.label = f"Receipt for {view.number or view.id}"
    pdf.set_margins(_MARGIN, _MARGIN, _MARGIN)
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.set_title(latin1(f"{title} {view.number or view.id}"))
    pdf.set_author(latin1(view.merchant))
    pdf.set_creator("Billfold")
    if created is not None:
        pdf.set_creation_date(datetime.datetime.fromtimestamp(created, datetime.UTC))
    pdf.add_page()
    _header(pdf, view, title)
    _details(pdf, view, receipt, payment_method)
    _lines(pdf, view)
    _totals(pdf, view)
    if view.footer:
        pdf.ln(6)
        pdf.set_font("Helvetica", "", 9)
        pdf.set_text_color(*_GREY)
        pdf.multi_cell(0, 5, latin1(view.footer))
    return bytes(pdf.output())
