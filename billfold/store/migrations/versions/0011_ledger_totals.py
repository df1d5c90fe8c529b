"""Running totals of the ledger per account, mode and currency, so a balance costs the same
whatever the number of balance transactions behind it.

A balance is the running total minus what is still pending (entries whose ``available_on`` is
in the future), and pending entries are found through an index on ``available_on`` instead of
summing the account's whole history. Totals are changed in the same transaction as the ledger
rows they sum; this revision fills them from the ledger as it stands.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"


def upgrade() -> None:
    op.create_table(
        "ledger_totals",
        sa.Column("account", sa.Text, nullable=False),
        sa.Column("livemode", sa.Boolean, nullable=False),
        sa.Column("currency", sa.Text, nullable=False),
        sa.Column("net", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("account", "livemode", "currency"),
    )
    op.execute(
        "INSERT INTO ledger_totals (account, livemode, currency, net) "
        "SELECT account, livemode, currency, SUM(net) FROM ledger_entries "
        "GROUP BY account, livemode, currency"
    )
    op.create_index(
        "ix_ledger_pending", "ledger_entries", ["account", "livemode", "available_on"]
    )


def downgrade() -> None:
    op.drop_index("ix_ledger_pending", "ledger_entries")
    op.drop_table("ledger_totals")
