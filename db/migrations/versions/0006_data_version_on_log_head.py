"""the data version moves onto the receipt log's head row

Numbering a batch of receipts and reading the data version they cite become one statement: the UPDATE
that takes the head's row lock returns both (a separate read of `data_version` was a round trip per
batch, taken while every other appender waited for the lock).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HEAD = sa.table(
    "log_head",
    sa.column("id", sa.Integer),
    sa.column("period", sa.String),
    sa.column("version", sa.Integer),
    sa.column("version_updated_at", sa.DateTime(timezone=True)),
)
VERSION = sa.table(
    "data_version",
    sa.column("id", sa.Integer),
    sa.column("period", sa.String),
    sa.column("version", sa.Integer),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    with op.batch_alter_table("log_head", schema=None) as batch_op:
        batch_op.add_column(sa.Column("period", sqlmodel.sql.sqltypes.AutoString(length=7), nullable=True))
        batch_op.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("version_updated_at", sa.DateTime(timezone=True), nullable=True))
    row = op.get_bind().execute(sa.select(VERSION.c.period, VERSION.c.version, VERSION.c.updated_at)).first()
    if row is not None:
        op.execute(
            HEAD.update()
            .where(HEAD.c.id == 1)
            .values(period=row.period, version=row.version, version_updated_at=row.updated_at)
        )
    op.drop_table("data_version")


def downgrade() -> None:
    op.create_table(
        "data_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period", sqlmodel.sql.sqltypes.AutoString(length=7), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_version")),
    )
    row = op.get_bind().execute(sa.select(HEAD.c.period, HEAD.c.version, HEAD.c.version_updated_at)).first()
    if row is not None:
        op.execute(
            VERSION.insert().values(
                id=1, period=row.period, version=row.version, updated_at=row.version_updated_at or sa.func.now()
            )
        )
    with op.batch_alter_table("log_head", schema=None) as batch_op:
        batch_op.drop_column("version_updated_at")
        batch_op.drop_column("version")
        batch_op.drop_column("period")
