"""Index objects by subscription and invoice, for the billing lists.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"

# No backfill: no object stored before this revision carries a subscription or an invoice.
COLUMNS = ("subscription", "invoice")


def upgrade() -> None:
    for column in COLUMNS:
        op.add_column("objects", sa.Column(column, sa.Text, nullable=True))
        op.create_index(
            f"ix_objects_{column}",
            "objects",
            ["account", "livemode", "object", column, "created", "seq"],
        )
