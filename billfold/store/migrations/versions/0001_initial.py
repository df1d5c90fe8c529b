"""Initial schema: objects, ledger, keys, accounts, idempotency, webhook deliveries.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None

SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("platform", sa.Text, nullable=True),
        sa.Column("created", sa.BigInteger, nullable=False),
        sa.Column("settings", sa.Text, nullable=False),
    )
    op.create_table(
        "api_keys",
        sa.Column("secret", sa.Text, primary_key=True),
        sa.Column("account", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("livemode", sa.Boolean, nullable=False),
        sa.Column("name", sa.Text, nullable=True),
        sa.Column("permissions", sa.Text, nullable=True),
        sa.Column("created", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_api_keys_account", "api_keys", ["account"])
    op.create_table(
        "objects",
        sa.Column("seq", SEQ, primary_key=True, autoincrement=True),
        sa.Column("id", sa.Text, nullable=False, unique=True),
        sa.Column("account", sa.Text, nullable=False),
        sa.Column("livemode", sa.Boolean, nullable=False),
        sa.Column("object", sa.Text, nullable=False),
        sa.Column("created", sa.BigInteger, nullable=False),
        sa.Column("customer", sa.Text, nullable=True),
        sa.Column("payment_intent", sa.Text, nullable=True),
        sa.Column("charge", sa.Text, nullable=True),
        sa.Column("status", sa.Text, nullable=True),
        sa.Column("email", sa.Text, nullable=True),
        sa.Column("kind", sa.Text, nullable=True),
        sa.Column("deleted", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("data", sa.Text, nullable=False),
    )
    scope = ["account", "livemode", "object"]
    op.create_index("ix_objects_created", "objects", [*scope, "created", "seq"])
    for column in ("customer", "payment_intent", "charge", "status", "email", "kind"):
        op.create_index(f"ix_objects_{column}", "objects", [*scope, column, "created", "seq"])
    op.create_table(
        "ledger_entries",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("account", sa.Text, nullable=False),
        sa.Column("livemode", sa.Boolean, nullable=False),
        sa.Column("currency", sa.Text, nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("fee", sa.BigInteger, nullable=False),
        sa.Column("net", sa.BigInteger, nullable=False),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=True),
        sa.Column("available_on", sa.BigInteger, nullable=False),
        sa.Column("created", sa.BigInteger, nullable=False),
    )
    op.create_index(
        "ix_ledger_balance", "ledger_entries", ["account", "livemode", "currency", "available_on"]
    )
    op.create_index("ix_ledger_source", "ledger_entries", ["source"])
    op.create_table(
        "idempotency_keys",
        sa.Column("account", sa.Text, primary_key=True),
        sa.Column("livemode", sa.Boolean, primary_key=True),
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("fingerprint", sa.Text, nullable=False),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_idempotency_created", "idempotency_keys", ["created"])
    op.create_table(
        "webhook_deliveries",
        sa.Column("seq", SEQ, primary_key=True, autoincrement=True),
        sa.Column("id", sa.Text, nullable=False, unique=True),
        sa.Column("account", sa.Text, nullable=False),
        sa.Column("livemode", sa.Boolean, nullable=False),
        sa.Column("event", sa.Text, nullable=False),
        sa.Column("endpoint", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.Float, nullable=True),
        sa.Column("claimed_until", sa.Float, nullable=True),
        sa.Column("last_status_code", sa.Integer, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("created", sa.BigInteger, nullable=False),
        sa.Column("updated", sa.Float, nullable=False),
    )
    op.create_index("ix_deliveries_due", "webhook_deliveries", ["status", "next_attempt_at"])
    op.create_index("ix_deliveries_event", "webhook_deliveries", ["event"])
    op.create_index("ix_deliveries_endpoint", "webhook_deliveries", ["endpoint", "seq"])
    op.create_table(
        "webhook_attempts",
        sa.Column("seq", SEQ, primary_key=True, autoincrement=True),
        sa.Column("delivery", sa.Text, nullable=False),
        sa.Column("attempted_at", sa.Float, nullable=False),
        sa.Column("status_code", sa.Integer, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("duration_ms", sa.Integer, nullable=False),
    )
    op.create_index("ix_attempts_delivery", "webhook_attempts", ["delivery", "seq"])
