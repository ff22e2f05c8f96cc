"""pending changes, approvals, record versions, signer keys

Changes to officials' records wait in `pending_change` until an approver signs the month's batch of
their unit (`approval`, verified against the approver's key in `signer_key`); applying one keeps the
replaced values in `official_version`. The `official` tables stay the approved record.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "approval",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("period", sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
        sa.Column("digest", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("signature", sqlmodel.sql.sqltypes.AutoString(length=4096), nullable=False),
        sa.Column("kid", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("approved_by_id", sa.Integer(), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("change_count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["approved_by_id"], ["account.id"], name=op.f("fk_approval_approved_by_id_account")),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_approval_unit_id_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approval")),
    )
    with op.batch_alter_table("approval", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_approval_unit_id"), ["unit_id"], unique=False)

    op.create_table(
        "signer_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("kid", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("public_jwk", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], name=op.f("fk_signer_key_account_id_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signer_key")),
        sa.UniqueConstraint("kid", name=op.f("uq_signer_key_kid")),
    )
    with op.batch_alter_table("signer_key", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_signer_key_account_id"), ["account_id"], unique=False)

    op.create_table(
        "official_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("official_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("approval_id", sa.Integer(), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("approved_by_id", sa.Integer(), nullable=False),
        sa.Column("change_ids", sa.JSON(), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("previous", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["approval_id"], ["approval.id"], name=op.f("fk_official_version_approval_id_approval")
        ),
        sa.ForeignKeyConstraint(
            ["approved_by_id"], ["account.id"], name=op.f("fk_official_version_approved_by_id_account")
        ),
        sa.ForeignKeyConstraint(
            ["official_id"], ["official.id"], name=op.f("fk_official_version_official_id_official")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_official_version")),
        sa.UniqueConstraint("official_id", "version", name=op.f("uq_official_version_official_id")),
    )
    with op.batch_alter_table("official_version", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_official_version_approval_id"), ["approval_id"], unique=False)

    op.create_table(
        "pending_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("official_id", sa.Integer(), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("content_sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("base_version", sa.Integer(), nullable=False),
        sa.Column("proposed_by_id", sa.Integer(), nullable=False),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("approval_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["approval_id"], ["approval.id"], name=op.f("fk_pending_change_approval_id_approval")),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["account.id"], name=op.f("fk_pending_change_decided_by_id_account")
        ),
        sa.ForeignKeyConstraint(["official_id"], ["official.id"], name=op.f("fk_pending_change_official_id_official")),
        sa.ForeignKeyConstraint(
            ["proposed_by_id"], ["account.id"], name=op.f("fk_pending_change_proposed_by_id_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pending_change")),
    )
    with op.batch_alter_table("pending_change", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pending_change_approval_id"), ["approval_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_pending_change_official_id"), ["official_id"], unique=False)
        batch_op.create_index("ix_pending_change_status_official_id", ["status", "official_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("pending_change", schema=None) as batch_op:
        batch_op.drop_index("ix_pending_change_status_official_id")
        batch_op.drop_index(batch_op.f("ix_pending_change_official_id"))
        batch_op.drop_index(batch_op.f("ix_pending_change_approval_id"))

    op.drop_table("pending_change")
    with op.batch_alter_table("official_version", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_official_version_approval_id"))

    op.drop_table("official_version")
    with op.batch_alter_table("signer_key", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signer_key_account_id"))

    op.drop_table("signer_key")
    with op.batch_alter_table("approval", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_approval_unit_id"))

    op.drop_table("approval")
