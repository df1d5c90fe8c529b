"""Test clocks: jobs that run on a clock's time, and objects indexed by their clock.

A job with a ``test_clock`` runs only when that clock is advanced; the real-time worker leaves
it alone. Customers, subscriptions and invoices carry the clock they live on, so a clock finds
its customers (to delete them with it) and its subscriptions (to bound an advance).

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"


def upgrade() -> None:
    op.add_column("jobs", sa.Column("test_clock", sa.Text, nullable=True))
    op.create_index("ix_jobs_test_clock", "jobs", ["test_clock", "status", "run_at"])
    # No backfill: no clock existed before this revision, so no object names one.
    op.add_column("objects", sa.Column("test_clock", sa.Text, nullable=True))
    op.create_index(
        "ix_objects_test_clock", "objects", ["account", "livemode", "object", "test_clock", "created", "seq"]
    )
