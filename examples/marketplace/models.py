"""The marketplace's own database: sellers, their listings, buyers' orders, processed events.

Amounts are integers in the currency's minor unit (cents), as Stripe sends them. A seller's
``charges_enabled`` is a copy of their connected account's, kept current by ``account.updated``
webhooks: the app decides who may sell from its own table, without asking Stripe on every page.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

from sqlalchemy import ForeignKey, String, create_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, sessionmaker

DATABASE_URL = os.environ.get("DATABASE_URL", "sqlite:///./marketplace.db")

engine = create_engine(DATABASE_URL)
Session = sessionmaker(engine, expire_on_commit=False)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class Seller(Base):
    """A seller and their Express connected account (``acct_...``)."""

    __tablename__ = "sellers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    email: Mapped[str] = mapped_column(String(320))
    stripe_account_id: Mapped[str] = mapped_column(String(255), unique=True)
    details_submitted: Mapped[bool] = mapped_column(default=False)
    charges_enabled: Mapped[bool] = mapped_column(default=False)
    payouts_enabled: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    account_updated_at: Mapped[datetime | None]

    listings: Mapped[list[Listing]] = relationship(back_populates="seller", order_by="Listing.id")


class Listing(Base):
    """Something a seller offers at a fixed price."""

    __tablename__ = "listings"

    id: Mapped[int] = mapped_column(primary_key=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("sellers.id"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(2000), default="")
    price: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    seller: Mapped[Seller] = relationship(back_populates="listings")


class Order(Base):
    """A buyer's purchase of one listing; pending -> paid only by ``payment_intent.succeeded``.

    ``application_fee_amount`` is the platform's cut; the seller receives the rest through the
    destination charge's transfer.
    """

    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id"))
    seller_id: Mapped[int] = mapped_column(ForeignKey("sellers.id"))
    buyer_email: Mapped[str] = mapped_column(String(320), default="")
    amount: Mapped[int]
    application_fee_amount: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    payment_intent_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    failed_attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    paid_at: Mapped[datetime | None]
    fulfilled_at: Mapped[datetime | None]

    listing: Mapped[Listing] = relationship()
    seller: Mapped[Seller] = relationship()

    @property
    def seller_amount(self) -> int:
        return self.amount - self.application_fee_amount


class ProcessedEvent(Base):
    """Stripe delivers at least once: an event id in this table has already been applied."""

    __tablename__ = "processed_events"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(255))
    account: Mapped[str | None] = mapped_column(String(255))  # set for Connect events
    processed_at: Mapped[datetime] = mapped_column(default=utcnow)


def init_db() -> None:
    Base.metadata.create_all(engine)
