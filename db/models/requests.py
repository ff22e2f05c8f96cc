"""Answers kept for retries: a mutation sent with an `Idempotency-Key` header is answered once, and
a retry of the same request (after a lost answer) gets that answer again instead of acting twice."""

from datetime import datetime

from sqlalchemy import Column, DateTime, LargeBinary
from sqlmodel import Field, SQLModel


class IdempotentRequest(SQLModel, table=True):
    __tablename__ = "idempotent_request"

    account_id: int = Field(foreign_key="account.id", primary_key=True)
    key: str = Field(primary_key=True, max_length=255)
    # SHA-256 of the request body: the same key with another request is refused, not answered.
    request_sha256: str = Field(max_length=64)
    status: int
    media_type: str = Field(max_length=64)
    body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = Field(sa_type=DateTime(timezone=True))
    expires_at: datetime = Field(sa_type=DateTime(timezone=True), index=True)
