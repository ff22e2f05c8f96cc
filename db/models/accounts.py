from datetime import datetime

from sqlalchemy import DateTime
from sqlmodel import Field, SQLModel


class Agency(SQLModel, table=True):
    """A partner system (social insurance, tax, a ministry's own system) that calls the gateway."""

    __tablename__ = "agency"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=255)


class Account(SQLModel, table=True):
    """Who can sign in. Every official has exactly one (`official_id` is unique); staff roles and
    partner agencies have theirs. `roles` is a space-separated list of role names."""

    __tablename__ = "account"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True)
    kind: str = Field(max_length=16)  # official | staff | agency
    roles: str = Field(max_length=255)
    unit_id: int | None = Field(default=None, foreign_key="unit.id")
    official_id: int | None = Field(default=None, foreign_key="official.id", unique=True)
    agency_id: int | None = Field(default=None, foreign_key="agency.id")
    password_hash: str | None = Field(default=None, max_length=255)
    disabled: bool = False
    created_at: datetime = Field(sa_type=DateTime(timezone=True))
