"""trusted documents, and introspection by agreement

An agency registers the GraphQL documents its systems run (`ccvc documents register`); a request may
then name one by the SHA-256 of its exact UTF-8 text instead of sending it, and in production an agency
may run nothing else (gateway/documents.py). One agency registers a text once (the unique constraint);
revoked rows are kept as history. And an agreement may allow its agency to introspect the schema,
which production otherwise refuses to partners.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "trusted_document",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("operation_names", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("registered_by", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["agency_id"], ["agency.id"], name=op.f("fk_trusted_document_agency_id_agency")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trusted_document")),
        sa.UniqueConstraint("agency_id", "sha256", name=op.f("uq_trusted_document_agency_id")),
    )
    with op.batch_alter_table("trusted_document", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_trusted_document_sha256"), ["sha256"], unique=False)
    with op.batch_alter_table("agreement", schema=None) as batch_op:
        batch_op.add_column(sa.Column("allows_introspection", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("agreement", schema=None) as batch_op:
        batch_op.drop_column("allows_introspection")
    with op.batch_alter_table("trusted_document", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_trusted_document_sha256"))
    op.drop_table("trusted_document")
