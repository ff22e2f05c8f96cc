"""Trusted documents: the GraphQL operations a partner agency registered for its systems to run by id."""

from datetime import datetime

from sqlalchemy import Column, DateTime, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class TrustedDocument(SQLModel, table=True):
    """A document an agency registered (`ccvc documents register`), named by the SHA-256 (hex) of its
    exact UTF-8 text. A request naming it runs that text; a revoked row is kept as history."""

    __tablename__ = "trusted_document"
    __table_args__ = (UniqueConstraint("agency_id", "sha256"),)

    id: int | None = Field(default=None, primary_key=True)
    agency_id: int = Field(foreign_key="agency.id")
    sha256: str = Field(max_length=64, index=True)
    document: str = Field(sa_column=Column(Text, nullable=False))
    operation_names: str = Field(max_length=2000)  # space-separated; empty for one anonymous operation
    registered_by: str = Field(max_length=128)  # the operator who reviewed and registered it
    registered_at: datetime = Field(sa_type=DateTime(timezone=True))
    revoked_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
