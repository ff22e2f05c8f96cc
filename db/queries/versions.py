"""The data version receipts cite: the last approved period and a counter of approvals."""

from datetime import datetime
from typing import Any

from sqlalchemy import Row, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from db.models import DataVersion, LogHead, table_of

VERSION = table_of(DataVersion)
HEAD = table_of(LogHead)


async def get(conn: AsyncConnection) -> Row[Any]:
    """(period, version). The receipt log reads it after taking its head lock, in a statement of its
    own: on PostgreSQL a statement's snapshot is taken when it starts, so a subquery of the locking
    UPDATE could miss an approval committed while it waited; this read cannot, and approvals take
    the same lock (`approve`)."""
    return (await conn.execute(select(VERSION.c.period, VERSION.c.version).where(VERSION.c.id == 1))).one()


async def approve(conn: AsyncConnection, *, period: str, now: datetime) -> None:
    """Record that the data of `period` (YYYY-MM) is approved: the period moves, the version counts up.
    It first takes the receipt log's head lock, so every receipt numbered after the approval commits
    cites the new version and none numbered before it does."""
    await conn.execute(update(HEAD).where(HEAD.c.id == 1).values(size=HEAD.c.size))
    stmt = update(VERSION).where(VERSION.c.id == 1).values(period=period, version=VERSION.c.version + 1, updated_at=now)
    await conn.execute(stmt)
