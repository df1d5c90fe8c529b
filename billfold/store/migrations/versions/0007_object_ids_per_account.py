"""Object ids are unique per account and mode, not across the whole store.

Stripe lets an integration choose some ids itself (coupons, products, plans): two accounts, or
test and live mode, may both have a coupon "SUMMER25".

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        name = conn.execute(
            sa.text(
                "SELECT conname FROM pg_constraint WHERE conrelid = 'objects'::regclass "
                "AND contype = 'u'"
            )
        ).scalar_one()
        op.drop_constraint(name, "objects", type_="unique")
    else:
        _rebuild_sqlite_without_id_unique(conn)
    op.create_index("ux_objects_scope_id", "objects", ["account", "livemode", "id"], unique=True)
    op.create_index("ix_objects_id", "objects", ["id"])


def _rebuild_sqlite_without_id_unique(conn: sa.Connection) -> None:
    """SQLite cannot drop a table's UNIQUE constraint: copy the table into one without it."""
    columns = conn.execute(sa.text("PRAGMA table_info(objects)")).fetchall()
    indexes = [
        row[0]
        for row in conn.execute(
            sa.text("SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'objects' "
                    "AND sql IS NOT NULL")
        ).fetchall()
    ]
    definitions = []
    for _cid, name, kind, notnull, default, primary in columns:
        if primary:
            definitions.append(f"{name} INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT")
            continue
        text = f"{name} {kind}"
        if notnull:
            text += " NOT NULL"
        if default is not None:
            text += f" DEFAULT {default}"
        definitions.append(text)
    names = ", ".join(column[1] for column in columns)
    conn.execute(sa.text(f"CREATE TABLE objects_rebuilt ({', '.join(definitions)})"))
    conn.execute(sa.text(f"INSERT INTO objects_rebuilt ({names}) SELECT {names} FROM objects"))
    conn.execute(sa.text("DROP TABLE objects"))
    conn.execute(sa.text("ALTER TABLE objects_rebuilt RENAME TO objects"))
    for statement in indexes:
        conn.execute(sa.text(statement))
