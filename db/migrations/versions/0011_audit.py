"""audit of every request, and who read each official's record

`audit_event`: one row per request answered for a known principal; `audit_access`: one row per official
whose data an answer (or a file it made) carried, read by the official's `accessLog`. Both append-only:
triggers refuse UPDATE and DELETE on both back ends, and TRUNCATE on PostgreSQL, so a record, once
written, stays as written whoever holds the connection (db/models/audit.py).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("audit_event", "audit_access")
REFUSAL = "audit records are append-only"


def upgrade() -> None:
    op.create_table(
        "audit_event",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("request_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("username", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("principal_kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("agency_code", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("roles", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("operation_type", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("operation_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("query_sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("variables", sa.Text(), nullable=True),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("error_codes", sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
        sa.Column("receipt_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("official_count", sa.Integer(), nullable=False),
        sa.Column("legal_basis", sa.Text(), nullable=True),
        sa.Column("cost", sa.BigInteger(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_event")),
    )
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_event_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_event_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_event_agency_code"), ["agency_code"], unique=False)
    op.create_table(
        "audit_access",
        sa.Column("event_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("official_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("receipt_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("legal_basis", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("event_id", "official_id", name=op.f("pk_audit_access")),
    )
    op.create_index("ix_audit_access_official", "audit_access", ["official_id", "event_id"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION '{REFUSAL}'; END $$"
        )
        for table in TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION audit_append_only()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()"
            )
    else:
        for table in TABLES:
            for action in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END"
                )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute("DROP FUNCTION IF EXISTS audit_append_only()")
    op.drop_index("ix_audit_access_official", table_name="audit_access")
    op.drop_table("audit_access")
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_event_agency_code"))
        batch_op.drop_index(batch_op.f("ix_audit_event_account_id"))
        batch_op.drop_index(batch_op.f("ix_audit_event_at"))
    op.drop_table("audit_event")
