"""Announced maintenance windows: those not ended yet (what every gateway process keeps, and what
`maintenanceWindows` lists), how many are ahead, announcing one, and cancelling one."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from db.models import MaintenanceWindow, table_of

WINDOW = table_of(MaintenanceWindow)


def _ahead(now: datetime) -> Any:
    return (WINDOW.c.ends_at > now) & WINDOW.c.cancelled_at.is_(None)


async def list_ahead(conn: AsyncConnection, *, now: datetime, limit: int) -> Sequence[Row[Any]]:
    """The windows in effect or to come at `now`, not cancelled, soonest first."""
    stmt = select(WINDOW).where(_ahead(now)).order_by(WINDOW.c.starts_at, WINDOW.c.id).limit(limit)
    return (await conn.execute(stmt)).all()


async def count_ahead(conn: AsyncConnection, *, now: datetime) -> int:
    return int((await conn.execute(select(func.count()).select_from(WINDOW).where(_ahead(now)))).scalar_one())


async def create(
    conn: AsyncConnection, *, starts_at: datetime, ends_at: datetime, reason: str, announced_by: str, now: datetime
) -> Row[Any]:
    stmt = (
        insert(WINDOW)
        .values(starts_at=starts_at, ends_at=ends_at, reason=reason, announced_by=announced_by, announced_at=now)
        .returning(WINDOW)
    )
    return (await conn.execute(stmt)).one()


async def cancel(conn: AsyncConnection, *, window_id: int, cancelled_by: str, now: datetime) -> Row[Any] | None:
    """Cancel a window not ended nor cancelled yet; None when there is no such window."""
    stmt = (
        update(WINDOW)
        .where(WINDOW.c.id == window_id, _ahead(now))
        .values(cancelled_by=cancelled_by, cancelled_at=now)
        .returning(WINDOW)
    )
    return (await conn.execute(stmt)).one_or_none()
