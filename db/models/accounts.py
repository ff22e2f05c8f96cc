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


class AgencyKey(SQLModel, table=True):
    """A partner agency's registered public key (P-256, as a JWK): it signs the agency's client
    assertions (RFC 7523). `kid` is the key's RFC 7638 thumbprint."""

    __tablename__ = "agency_key"

    id: int | None = Field(default=None, primary_key=True)
    agency_id: int = Field(foreign_key="agency.id", index=True)
    kid: str = Field(max_length=64, unique=True)
    public_jwk: str = Field(max_length=1000)  # JSON text: kty, crv, x, y
    created_at: datetime = Field(sa_type=DateTime(timezone=True))
    revoked_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class UsedAssertion(SQLModel, table=True):
    """A client assertion's `jti`, kept until the assertion expires so it cannot be replayed, even on
    another gateway process: the primary key makes the second use fail."""

    __tablename__ = "used_assertion"

    agency_id: int = Field(foreign_key="agency.id", primary_key=True)
    jti: str = Field(max_length=128, primary_key=True)
    expires_at: datetime = Field(sa_type=DateTime(timezone=True), index=True)
