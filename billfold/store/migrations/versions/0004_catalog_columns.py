"""Index objects by product and lookup_key, for the price lists and lookup-key uniqueness.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"

# No backfill: no object stored before this revision carries a product or a lookup_key.
COLUMNS = ("product", "lookup_key")


def upgrade() -> None:
    for column in COLUMNS:
        op.add_column("objects", sa.Column(column, sa.Text, nullable=True))
        op.create_index(
            f"ix_objects_{column}",
            "objects",
            ["account", "livemode", "object", column, "created", "seq"],
        )
