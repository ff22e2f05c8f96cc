"""official record keys

A secret random number per official (0..4095), never shown: protected aggregates round each count by
the sum of its officials' keys, so the same officials always get the same rounding and asking again,
or another way, tells nothing new (resolvers/aggregates.py). Existing officials draw theirs here.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DRAW = {
    # Both draw uniformly from 0..4095 per row; neither is seeded, and neither key is derived from the row.
    "postgresql": "floor(random() * 4096)::integer",
    "sqlite": "abs(random()) % 4096",
}


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # A volatile default draws per row while the table is rewritten once; an UPDATE after adding the
        # column would leave a dead copy of every row (found by the 1M benchmark: the table doubled).
        op.add_column(
            "official",
            sa.Column("record_key", sa.Integer(), nullable=False, server_default=sa.text(_DRAW["postgresql"])),
        )
    else:
        with op.batch_alter_table("official", schema=None) as batch_op:
            batch_op.add_column(sa.Column("record_key", sa.Integer(), nullable=False, server_default="0"))
        op.execute(f"UPDATE official SET record_key = {_DRAW['sqlite']}")  # noqa: S608 (a fixed expression)
    with op.batch_alter_table("official", schema=None) as batch_op:
        batch_op.alter_column("record_key", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("official", schema=None) as batch_op:
        batch_op.drop_column("record_key")
