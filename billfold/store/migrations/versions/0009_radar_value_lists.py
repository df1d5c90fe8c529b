"""Radar value list items indexed by their list, so a list's items page without a scan.

An item's normalized value is its ``lookup_key``, so "is this email on @trusted_emails" is one
indexed lookup whatever the lists' sizes.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    # No backfill: no value list existed before this revision.
    op.add_column("objects", sa.Column("value_list", sa.Text, nullable=True))
    op.create_index(
        "ix_objects_value_list", "objects", ["account", "livemode", "object", "value_list", "created", "seq"]
    )


def downgrade() -> None:
    op.drop_index("ix_objects_value_list", "objects")
    op.drop_column("objects", "value_list")
