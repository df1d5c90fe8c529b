"""The objects table's filter indexes hold only the rows that have the filtered value.

Each of these indexes serves one list filter (``customer = :customer``, ``status = :status``,
...), and a filter never asks for NULL. Most objects leave most of these columns NULL (an event
has no email, a price no charge), yet every insert used to add an entry to all fourteen indexes.
Partial indexes (``WHERE column IS NOT NULL``, which both SQLite and PostgreSQL use for an
equality filter on the column) keep the same lists indexed while an insert touches only the
indexes of the columns it fills: fewer pages written per commit.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"

COLUMNS = (
    "customer", "payment_intent", "payment_method", "charge", "status", "email", "kind",
    "product", "lookup_key", "subscription", "invoice", "event_name", "test_clock", "value_list",
)


def _create(column: str, partial: bool) -> None:
    where = sa.text(f"{column} IS NOT NULL") if partial else None
    op.create_index(
        f"ix_objects_{column}", "objects",
        ["account", "livemode", "object", column, "created", "seq"],
        sqlite_where=where, postgresql_where=where,
    )


def upgrade() -> None:
    for column in COLUMNS:
        op.drop_index(f"ix_objects_{column}", "objects")
        _create(column, partial=True)


def downgrade() -> None:
    for column in COLUMNS:
        op.drop_index(f"ix_objects_{column}", "objects")
        _create(column, partial=False)
