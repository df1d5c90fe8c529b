"""The invoicing app's own database: business customers, invoices, their lines and history.

Amounts are integers in the currency's minor unit (cents). An invoice's ``settled_at`` is set
only by an ``invoice.paid`` webhook; ``activity`` keeps one row per applied event, which is
what a finance team reads when a customer asks "did you get my payment?".
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

from sqlalchemy import ForeignKey, String, create_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, sessionmaker

DATABASE_URL = os.environ.get("DATABASE_URL", "sqlite:///./b2b_invoicing.db")

engine = create_engine(DATABASE_URL)
Session = sessionmaker(engine, expire_on_commit=False)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class Customer(Base):
    """A business the app bills; mirrored as a Stripe Customer."""

    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    stripe_customer_id: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(256))
    email: Mapped[str] = mapped_column(String(320))
    tax_id: Mapped[str | None] = mapped_column(String(100))
    address_line1: Mapped[str] = mapped_column(String(200), default="")
    address_city: Mapped[str] = mapped_column(String(100), default="")
    address_postal_code: Mapped[str] = mapped_column(String(20), default="")
    address_country: Mapped[str] = mapped_column(String(2), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    invoices: Mapped[list[Invoice]] = relationship(back_populates="customer",
                                                   order_by="Invoice.id.desc()")


class Invoice(Base):
    """One invoice: drafted here, finalized and sent by Stripe, settled by ``invoice.paid``."""

    __tablename__ = "invoices"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    stripe_invoice_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    number: Mapped[str | None] = mapped_column(String(100))
    currency: Mapped[str] = mapped_column(String(3))
    total: Mapped[int]  # the sum of the lines, computed here before Stripe computes it
    amount_paid: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(20), default="draft")  # Stripe's invoice status
    hosted_invoice_url: Mapped[str | None] = mapped_column(String(2000))
    invoice_pdf: Mapped[str | None] = mapped_column(String(2000))
    due_date: Mapped[datetime | None]
    memo: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    settled_at: Mapped[datetime | None]

    customer: Mapped[Customer] = relationship(back_populates="invoices")
    lines: Mapped[list[InvoiceLine]] = relationship(back_populates="invoice",
                                                    order_by="InvoiceLine.id")
    activity: Mapped[list[Activity]] = relationship(back_populates="invoice",
                                                    order_by="Activity.id")


class InvoiceLine(Base):
    __tablename__ = "invoice_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"))
    description: Mapped[str] = mapped_column(String(500))
    quantity: Mapped[int]
    unit_amount: Mapped[int]
    stripe_invoice_item_id: Mapped[str | None] = mapped_column(String(255))

    invoice: Mapped[Invoice] = relationship(back_populates="lines")

    @property
    def amount(self) -> int:
        return self.quantity * self.unit_amount


class Activity(Base):
    """What happened to an invoice, one row per applied webhook event."""

    __tablename__ = "invoice_activity"

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"))
    event_id: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(50))
    detail: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    invoice: Mapped[Invoice] = relationship(back_populates="activity")


class ProcessedEvent(Base):
    """Stripe delivers at least once: an event id in this table has already been applied."""

    __tablename__ = "processed_events"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(255))
    processed_at: Mapped[datetime] = mapped_column(default=utcnow)


def init_db() -> None:
    Base.metadata.create_all(engine)
