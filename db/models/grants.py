"""Written rights to read officials' data beyond a principal's role: grants to accounts and agreements
with partner agencies. The authorizer turns the rows in force into policy lines (policies/)."""

from datetime import date, datetime

from sqlalchemy import JSON, Column, DateTime, Index, false
from sqlmodel import Field, SQLModel


class AccessGrant(SQLModel, table=True):
    """A written grant: the managing agency's consent (document `document_number`) that an account may
    read `fields` of a unit subtree (`unit_id`) or of named officials (`official_ids`), from
    `valid_from` to `valid_to` inclusive (Asia/Ho_Chi_Minh dates). Revoked rows are kept as history."""

    __tablename__ = "access_grant"
    __table_args__ = (Index("ix_access_grant_grantee_id_valid_to", "grantee_id", "valid_to"),)

    id: int | None = Field(default=None, primary_key=True)
    grantee_id: int = Field(foreign_key="account.id")
    managing_unit_id: int = Field(foreign_key="unit.id", index=True)  # the top-level unit whose HR granted it
    unit_id: int | None = Field(default=None, foreign_key="unit.id")
    official_ids: list[int] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    fields: str = Field(max_length=2000)  # space-separated field and group names, as granted
    valid_from: date
    valid_to: date
    document_number: str = Field(max_length=64)
    granted_by_id: int = Field(foreign_key="account.id")
    created_at: datetime = Field(sa_type=DateTime(timezone=True))
    revoked_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    revoked_by_id: int | None = Field(default=None, foreign_key="account.id")


class Agreement(SQLModel, table=True):
    """A data-sharing agreement with a partner agency: which top-level units (`top_unit_ids`, null for
    all of them) and which fields it may read, under which document, between two dates."""

    __tablename__ = "agreement"

    id: int | None = Field(default=None, primary_key=True)
    agency_id: int = Field(foreign_key="agency.id", index=True)
    top_unit_ids: list[int] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    fields: str = Field(max_length=2000)
    document_number: str = Field(max_length=64)
    valid_from: date
    valid_to: date
    created_at: datetime = Field(sa_type=DateTime(timezone=True))
    revoked_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    # Production refuses schema introspection to partners (gateway/documents.py) unless this says yes.
    allows_introspection: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
