"""The audit: one row per request the gateway answered for someone it knows (`audit_event`), and one row
per official whose data that answer (or a file it made) carried (`audit_access`), which is what an
official's `accessLog` reads. Both are append-only: the migration installs triggers that refuse every
UPDATE and DELETE (and, on PostgreSQL, TRUNCATE). The tables' owner may still drop a trigger, so in
production the gateway serves as a role that owns nothing and may only insert and read them
(docs/operations.md, "The audit")."""

from datetime import datetime

from sqlalchemy import BigInteger, Column, DateTime, Index, Integer, Text
from sqlmodel import Field, SQLModel


class AuditEvent(SQLModel, table=True):
    """A request as the gateway answered it. Nothing here repeats personal data: the query by its hash
    (its text may hold a name), the variables with every free-text value replaced (schema/audit.py)."""

    __tablename__ = "audit_event"

    id: int | None = Field(
        default=None, sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    )
    at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False, index=True))
    request_id: str = Field(max_length=64)
    account_id: int = Field(index=True)
    username: str = Field(max_length=100)
    principal_kind: str = Field(max_length=16)
    agency_code: str | None = Field(default=None, max_length=64, index=True)
    # The reading account's unit (HR, a manager): who read, for an official's access log.
    unit_id: int | None = None
    roles: str = Field(max_length=200)  # comma-separated, sorted
    operation_type: str = Field(max_length=16)  # query | mutation | subscription | none (never ran)
    operation_name: str | None = Field(default=None, max_length=200)
    query_sha256: str | None = Field(default=None, max_length=64)
    variables: str | None = Field(default=None, sa_column=Column(Text))  # JSON, redacted
    status: int  # the HTTP status answered
    outcome: str = Field(max_length=16)  # ok | error
    error_codes: str = Field(default="", max_length=400)  # comma-separated, distinct, in answer order
    receipt_id: str | None = Field(default=None, max_length=32)
    official_count: int = 0
    legal_basis: str | None = Field(default=None, sa_column=Column(Text))  # JSON list of the grants' bases cited
    # The operation's static cost (fields), when it was worked out: an attack's runs to billions.
    cost: int | None = Field(default=None, sa_column=Column(BigInteger))
    duration_ms: int


class AuditAccess(SQLModel, table=True):
    """Official `official_id`'s data was in the answer to request `event_id` (or in a file it made, whose
    receipt `receipt_id` lists them), let out by the grants whose bases `legal_basis` names. Either is
    null where it is the event's own (the answer's receipt, every basis the event cites): the usual case."""

    __tablename__ = "audit_access"
    __table_args__ = (Index("ix_audit_access_official", "official_id", "event_id"),)

    event_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    official_id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    receipt_id: str | None = Field(default=None, max_length=32)
    legal_basis: str | None = Field(default=None, sa_column=Column(Text))
