"""Changes to officials' records and their monthly approval (Circular 06/2023, Decision 832).

The `official` table and its child tables stay the approved record: what partners, dashboards and
receipts read. A proposed change waits in `pending_change` until an approver signs the batch of its
unit for the month (`approval`); applying it writes the record, counts its version up and keeps what it
replaced in `official_version`. Approvers' keys are in `signer_key`, ministries' in `ministry_key`: the
gateway verifies those signatures and never holds the private halves. A ministry's approved records
reach the national gateway as signed bundles (`sync_batch`).
"""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class PendingChange(SQLModel, table=True):
    """One proposal: new values for some fields of one official's record (`changes`, keyed by the
    catalog's API names; a child-record field's value replaces the whole list), why, by whom, and what
    became of it. `content_sha256` is the SHA-256 of its canonical content (db/queries/changes.content),
    what a batch's digest lists, so a change edited after the digest was computed makes the batch stale."""

    __tablename__ = "pending_change"
    __table_args__ = (Index("ix_pending_change_status_official_id", "status", "official_id"),)

    id: int | None = Field(default=None, primary_key=True)
    official_id: int = Field(foreign_key="official.id", index=True)
    changes: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    reason: str = Field(max_length=500)
    content_sha256: str = Field(max_length=64)
    # The record's version when the change was proposed: what the proposer saw.
    base_version: int
    proposed_by_id: int = Field(foreign_key="account.id")
    proposed_at: datetime = Field(sa_type=DateTime(timezone=True))
    status: str = Field(max_length=16)  # pending | withdrawn | rejected | approved
    decided_by_id: int | None = Field(default=None, foreign_key="account.id")
    decided_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    decision_note: str | None = Field(default=None, max_length=500)
    approval_id: int | None = Field(default=None, foreign_key="approval.id", index=True)


class Approval(SQLModel, table=True):
    """A signed approval of one unit's batch for one month: the digest the approver signed, the JWS as
    they sent it (verifiable later against `kid`'s public key), and who, when."""

    __tablename__ = "approval"
    # One approval per batch: the same digest for the same unit and month is the same batch.
    __table_args__ = (UniqueConstraint("unit_id", "period", "digest"),)

    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    period: str = Field(max_length=7)  # YYYY-MM
    digest: str = Field(max_length=64)
    signature: str = Field(max_length=4096)
    kid: str = Field(max_length=64)
    approved_by_id: int = Field(foreign_key="account.id")
    approved_at: datetime = Field(sa_type=DateTime(timezone=True))
    change_count: int


class OfficialVersion(SQLModel, table=True):
    """A version of an official's record made by an approval: what changed (`changes`: a list of
    {field, from, to}, `from` being the replaced value, so the previous version can be rebuilt) and the
    whole record as it was before (`previous`: the official row's columns)."""

    __tablename__ = "official_version"
    __table_args__ = (UniqueConstraint("official_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    official_id: int = Field(foreign_key="official.id")
    version: int
    approval_id: int = Field(foreign_key="approval.id", index=True)
    approved_at: datetime = Field(sa_type=DateTime(timezone=True))
    approved_by_id: int = Field(foreign_key="account.id")
    change_ids: list[int] = Field(sa_column=Column(JSON, nullable=False))
    changes: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    previous: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))


class SignerKey(SQLModel, table=True):
    """A public key (P-256, as a JWK) of someone who signs data the gateway accepts: an approver's
    account (monthly approvals). `kid` is the key's RFC 7638 thumbprint."""

    __tablename__ = "signer_key"

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    kid: str = Field(max_length=64, unique=True)
    public_jwk: str = Field(max_length=1000)  # JSON text: kty, crv, x, y
    created_at: datetime = Field(sa_type=DateTime(timezone=True))
    revoked_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class MinistryKey(SQLModel, table=True):
    """A ministry's or province's public key (P-256 JWK), issued by MOHA: it signs the approved batches
    the ministry's own system sends to the national gateway (`ccvc ministries register-key`)."""

    __tablename__ = "ministry_key"

    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)  # the ministry or province (a top-level unit)
    kid: str = Field(max_length=64, unique=True)
    public_jwk: str = Field(max_length=1000)
    created_at: datetime = Field(sa_type=DateTime(timezone=True))
    revoked_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class SyncBatch(SQLModel, table=True):
    """A signed bundle of approved records a ministry sent, as received and applied: kept whole (the JWS
    verifies later against `kid`), and named by the SHA-256 of its signed payload, so the same bundle
    received twice is recognised and applied once."""

    __tablename__ = "sync_batch"

    id: int | None = Field(default=None, primary_key=True)
    ministry_id: int = Field(foreign_key="unit.id", index=True)
    unit_code: str = Field(max_length=64)
    period: str = Field(max_length=7)
    payload_sha256: str = Field(max_length=64, unique=True)
    kid: str = Field(max_length=64)
    bundle: str = Field(sa_type=Text)
    official_count: int
    created_count: int
    received_at: datetime = Field(sa_type=DateTime(timezone=True))
