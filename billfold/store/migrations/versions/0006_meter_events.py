"""Meter events and legacy usage records as rows for summing; objects indexed by event_name.

A meter's ``event_name`` becomes an indexed column, so each meter event finds its meter in one
indexed lookup. ``meter_events`` holds every event with its customer and exact value (a decimal
string: Stripe's values may be decimals, and a float would not sum exactly). ``dedup_key`` is the
event's identifier while that identifier is reserved (Stripe's rolling 24 hours); an event
whose identifier is later reused gets its ``dedup_key`` cleared, so the unique index enforces
the window without a background sweep. ``usage_records`` holds the legacy usage records, one
row per subscription item and timestamp (``action=set`` overwrites it, ``increment`` adds).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"

SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # No backfill: no object stored before this revision carries an event_name.
    op.add_column("objects", sa.Column("event_name", sa.Text, nullable=True))
    op.create_index(
        "ix_objects_event_name",
        "objects",
        ["account", "livemode", "object", "event_name", "created", "seq"],
    )
    op.create_table(
        "meter_events",
        sa.Column("seq", SEQ, primary_key=True, autoincrement=True),
        sa.Column("account", sa.Text, nullable=False),
        sa.Column("livemode", sa.Boolean, nullable=False),
        sa.Column("identifier", sa.Text, nullable=False),
        sa.Column("dedup_key", sa.Text, nullable=True),
        sa.Column("meter", sa.Text, nullable=False),
        sa.Column("event_name", sa.Text, nullable=False),
        sa.Column("customer", sa.Text, nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("canceled", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created", sa.BigInteger, nullable=False),
    )
    op.create_index(
        "ux_meter_events_dedup", "meter_events", ["account", "livemode", "dedup_key"], unique=True
    )
    op.create_index(
        "ix_meter_events_usage",
        "meter_events",
        ["account", "livemode", "event_name", "customer", "timestamp"],
    )
    op.create_table(
        "usage_records",
        sa.Column("seq", SEQ, primary_key=True, autoincrement=True),
        sa.Column("id", sa.Text, nullable=False, unique=True),
        sa.Column("account", sa.Text, nullable=False),
        sa.Column("livemode", sa.Boolean, nullable=False),
        sa.Column("subscription_item", sa.Text, nullable=False),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
        sa.Column("quantity", sa.BigInteger, nullable=False),
        sa.Column("created", sa.BigInteger, nullable=False),
    )
    op.create_index(
        "ux_usage_records_item_time",
        "usage_records",
        ["account", "livemode", "subscription_item", "timestamp"],
        unique=True,
    )
