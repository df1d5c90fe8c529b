"""Request logs: one row per API request, so ``billfold logs`` can tail requests that any API
process served.

Rows arrive in batches from each process's request-log writer and are pruned to the newest
ones; ``seq`` orders them across processes and is the cursor ``?after=`` pages on.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"

SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "request_logs",
        sa.Column("seq", SEQ, primary_key=True, autoincrement=True),
        sa.Column("id", sa.Text, nullable=False),
        sa.Column("account", sa.Text, nullable=False),
        sa.Column("livemode", sa.Boolean, nullable=False),
        sa.Column("created", sa.Float, nullable=False),
        sa.Column("method", sa.Text, nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("data", sa.Text, nullable=False),
    )
    op.create_index("ix_request_logs_account", "request_logs", ["account", "livemode", "seq"])
    op.create_index("ix_request_logs_id", "request_logs", ["id"])
    op.create_index("ix_request_logs_created", "request_logs", ["created"])


def downgrade() -> None:
    op.drop_table("request_logs")
