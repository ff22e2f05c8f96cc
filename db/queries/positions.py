"""Reads of job positions (vị trí việc làm)."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, Select, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from db.models import Position, table_of
from db.scoping import Scope, structure_visible

POSITION = table_of(Position)


def one_select(scope: Scope, *, position_id: int) -> Select[Any]:
    return select(POSITION).where(structure_visible(scope), POSITION.c.id == bindparam("position_id", position_id))


async def get_many(conn: AsyncConnection, *, scope: Scope, position_ids: Sequence[int]) -> list[Row[Any]]:
    stmt = select(POSITION).where(structure_visible(scope), POSITION.c.id.in_(sorted(set(position_ids))))
    return list((await conn.execute(stmt)).all())


async def list_by_units(conn: AsyncConnection, *, scope: Scope, unit_ids: Sequence[int]) -> list[Row[Any]]:
    stmt = (
        select(POSITION)
        .where(structure_visible(scope), POSITION.c.unit_id.in_(sorted(set(unit_ids))))
        .order_by(POSITION.c.unit_id, POSITION.c.code)
    )
    return list((await conn.execute(stmt)).all())


async def most_per_unit(conn: AsyncConnection, *, scope: Scope) -> int:
    """The most positions any one unit has: what bounds `Unit.positions` (schema/cost.py)."""
    per_unit = (
        select(func.count().label("positions"))
        .select_from(POSITION)
        .where(structure_visible(scope))
        .group_by(POSITION.c.unit_id)
        .subquery()
    )
    stmt = select(func.coalesce(func.max(per_unit.c.positions), 0).label("most_positions"))
    return int((await conn.execute(stmt)).scalar_one())
