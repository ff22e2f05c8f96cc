"""The data version receipts cite: the last approved period and a counter of approvals."""

from datetime import datetime
from typing import Any

from sqlalchemy import Row, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from db.models import DataVersion, table_of

VERSION = table_of(DataVersion)


async def get(conn: AsyncConnection) -> Row[Any]:
    return (await conn.execute(select(VERSION.c.period, VERSION.c.version).where(VERSION.c.id == 1))).one()


async def approve(conn: AsyncConnection, *, period: str, now: datetime) -> None:
    """Record that the data of `period` (YYYY-MM) is approved: the period moves, the version counts up."""
    stmt = update(VERSION).where(VERSION.c.id == 1).values(period=period, version=VERSION.c.version + 1, updated_at=now)
    await conn.execute(stmt)
