"""Index objects by payment_method, for lists that filter on it (setup intents).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.add_column("objects", sa.Column("payment_method", sa.Text, nullable=True))
    op.create_index(
        "ix_objects_payment_method",
        "objects",
        ["account", "livemode", "object", "payment_method", "created", "seq"],
    )
    # Objects written before this column existed get it filled from their documents.
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, data FROM objects WHERE data LIKE '%\"payment_method\":\"%'"))
    for object_id, data in rows.fetchall():
        value = json.loads(data).get("payment_method")
        if isinstance(value, str):
            conn.execute(
                sa.text("UPDATE objects SET payment_method = :pm WHERE id = :id"),
                {"pm": value, "id": object_id},
            )
