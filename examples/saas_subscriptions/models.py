"""The SaaS app's own database: users, their subscription and access, processed events.

Access lives here, not in Stripe: the app decides what a user may do from its own rows, which
only webhooks change (``invoice.paid`` grants access until the paid period ends,
``invoice.payment_failed`` raises a dunning notice, ``customer.subscription.deleted`` ends it).
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime

from sqlalchemy import ForeignKey, String, create_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, sessionmaker

DATABASE_URL = os.environ.get("DATABASE_URL", "sqlite:///./saas_subscriptions.db")

engine = create_engine(DATABASE_URL)
Session = sessionmaker(engine, expire_on_commit=False)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    # A random token kept in the browser's cookie: this example's stand-in for a login.
    session_token: Mapped[str] = mapped_column(String(64), unique=True)
    stripe_customer_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    # Prefix of this user's idempotency keys: unique even if the app's database is recreated.
    request_key: Mapped[str] = mapped_column(String(32), default=lambda: uuid.uuid4().hex)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    subscription: Mapped[Subscription | None] = relationship(back_populates="user")


class Subscription(Base):
    """One row per Stripe subscription. ``access`` is what the product checks."""

    __tablename__ = "subscriptions"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)  # Stripe's sub_... id
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    plan: Mapped[str] = mapped_column(String(64))
    amount: Mapped[int]  # per period, in cents
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(32), default="incomplete")  # Stripe's status
    access: Mapped[bool] = mapped_column(default=False)
    current_period_end: Mapped[int | None]  # unix time the paid period ends
    cancel_at_period_end: Mapped[bool] = mapped_column(default=False)
    dunning_notice: Mapped[str | None] = mapped_column(String(1000))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    user: Mapped[User] = relationship(back_populates="subscription")


class ProcessedEvent(Base):
    """Stripe delivers at least once: an event id in this table has already been applied."""

    __tablename__ = "processed_events"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(255))
    processed_at: Mapped[datetime] = mapped_column(default=utcnow)


def init_db() -> None:
    Base.metadata.create_all(engine)
