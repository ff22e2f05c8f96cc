"""Answers kept for `Idempotency-Key` retries. Not officials' data: the answer is replayed only to the
account that made the request, and is the same bytes it was sent the first time."""

from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from db.models import IdempotentRequest, table_of

KEPT = table_of(IdempotentRequest)


async def get(conn: AsyncConnection, *, account_id: int, key: str, now: datetime) -> Row[Any] | None:
    stmt = select(KEPT).where(KEPT.c.account_id == account_id, KEPT.c.key == key, KEPT.c.expires_at > now)
    return (await conn.execute(stmt)).one_or_none()


async def keep(
    conn: AsyncConnection,
    *,
    account_id: int,
    key: str,
    request_sha256: str,
    status: int,
    media_type: str,
    body: bytes,
    now: datetime,
    expires_at: datetime,
) -> bool:
    """Store the answer in the caller's transaction; False when the key was taken meanwhile (a
    concurrent request with the same key committed first)."""
    await conn.execute(delete(KEPT).where(KEPT.c.expires_at <= now))
    values = {
        "account_id": account_id,
        "key": key,
        "request_sha256": request_sha256,
        "status": status,
        "media_type": media_type,
        "body": body,
        "created_at": now,
        "expires_at": expires_at,
    }
    try:
        async with conn.begin_nested():  # a failed INSERT must not abort the transaction (PostgreSQL)
            await conn.execute(insert(KEPT).values(values))
    except IntegrityError:
        return False
    return True
