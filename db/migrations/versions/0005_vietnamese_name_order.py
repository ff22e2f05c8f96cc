"""officials sort in Vietnamese alphabetical order: name_sort recomputed (db.text.name_sort_key)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from db.text import name_sort_key

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 10_000
OFFICIAL = sa.table(
    "official", sa.column("id", sa.Integer), sa.column("full_name", sa.String), sa.column("name_sort", sa.String)
)


def upgrade() -> None:
    """The old key folded accents away (đ sorted as d, ă as a); page cursors ordered by name issued
    before this revision no longer point anywhere meaningful, and are refused as stale at worst."""
    bind = op.get_bind()
    last = 0
    while True:
        rows = bind.execute(
            sa.select(OFFICIAL.c.id, OFFICIAL.c.full_name)
            .where(OFFICIAL.c.id > last)
            .order_by(OFFICIAL.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        bind.execute(
            OFFICIAL.update().where(OFFICIAL.c.id == sa.bindparam("key")).values(name_sort=sa.bindparam("sort")),
            [{"key": row.id, "sort": name_sort_key(row.full_name)} for row in rows],
        )
        last = rows[-1].id


def downgrade() -> None:
    """The key is derived data: the previous revision's code would recompute it (db.text as it was)."""
