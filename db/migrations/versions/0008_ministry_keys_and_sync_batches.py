"""ministry keys and sync batches

A ministry's or province's system signs the batches it approved with the key MOHA issued it
(`ministry_key`); the national gateway verifies and applies each bundle once, and keeps it
(`sync_batch`, named by the SHA-256 of its signed payload). And one approval per batch: the same
digest of the same unit and month is the same batch (`approval`'s unique constraint).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("approval", schema=None) as batch_op:
        batch_op.create_unique_constraint(batch_op.f("uq_approval_unit_id"), ["unit_id", "period", "digest"])
    op.create_table(
        "ministry_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("kid", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("public_jwk", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_ministry_key_unit_id_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ministry_key")),
        sa.UniqueConstraint("kid", name=op.f("uq_ministry_key_kid")),
    )
    with op.batch_alter_table("ministry_key", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ministry_key_unit_id"), ["unit_id"], unique=False)

    op.create_table(
        "sync_batch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ministry_id", sa.Integer(), nullable=False),
        sa.Column("unit_code", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("period", sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
        sa.Column("payload_sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("kid", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("bundle", sa.Text(), nullable=False),
        sa.Column("official_count", sa.Integer(), nullable=False),
        sa.Column("created_count", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["ministry_id"], ["unit.id"], name=op.f("fk_sync_batch_ministry_id_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_batch")),
        sa.UniqueConstraint("payload_sha256", name=op.f("uq_sync_batch_payload_sha256")),
    )
    with op.batch_alter_table("sync_batch", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sync_batch_ministry_id"), ["ministry_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("approval", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_approval_unit_id"), type_="unique")
    with op.batch_alter_table("sync_batch", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sync_batch_ministry_id"))

    op.drop_table("sync_batch")
    with op.batch_alter_table("ministry_key", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ministry_key_unit_id"))

    op.drop_table("ministry_key")
