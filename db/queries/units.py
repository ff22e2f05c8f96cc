"""Reads of the unit tree. Units are the public shape of the state apparatus (see scoping)."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from db.models import Unit, table_of
from db.scoping import OFFICIAL, Scope, official_filter, structure_visible

UNIT = table_of(Unit)


def one_select(scope: Scope, *, unit_id: int | None = None, code: str | None = None) -> Select[Any]:
    # Values bound by name: the compiled read path keeps the statement and binds another unit.
    stmt = select(UNIT).where(structure_visible(scope))
    if code is None:
        return stmt.where(UNIT.c.id == bindparam("unit_id", unit_id))
    return stmt.where(UNIT.c.code == bindparam("unit_code", code))


async def get_many(conn: AsyncConnection, *, scope: Scope, unit_ids: Sequence[int]) -> list[Row[Any]]:
    stmt = select(UNIT).where(structure_visible(scope), UNIT.c.id.in_(sorted(set(unit_ids))))
    return list((await conn.execute(stmt)).all())


async def get_by_code(conn: AsyncConnection, *, scope: Scope, code: str) -> Row[Any] | None:
    return (await conn.execute(one_select(scope, code=code))).first()


def children_select(scope: Scope, parent_ids: Sequence[int | None], kind: str | None = None) -> Select[Any]:
    """Children of each parent, ordered by code; a `None` parent means the top-level units."""
    binds = children_binds(parent_ids, kind)
    parent = UNIT.c.parent_id
    condition: ColumnElement[bool] = parent.in_(bindparam("parent_ids", binds["parent_ids"], expanding=True))
    if None in parent_ids:
        condition = condition | parent.is_(None)
    stmt = select(UNIT).where(structure_visible(scope), condition)
    if kind is not None:
        stmt = stmt.where(UNIT.c.kind == bindparam("unit_kind", kind))
    return stmt.order_by(UNIT.c.code)


def children_binds(parent_ids: Sequence[int | None], kind: str | None = None) -> dict[str, Any]:
    """The values children_select binds, by name; the statement's shape is whether a parent is None
    and whether a kind is given."""
    binds: dict[str, Any] = {"parent_ids": sorted({p for p in parent_ids if p is not None})}
    return binds | ({"unit_kind": kind} if kind is not None else {})


async def list_children(
    conn: AsyncConnection, *, scope: Scope, parent_ids: Sequence[int | None], kind: str | None = None
) -> list[Row[Any]]:
    return list((await conn.execute(children_select(scope, parent_ids, kind))).all())


async def every_unit(conn: AsyncConnection, *, scope: Scope) -> list[Row[Any]]:
    """The whole tree, for a process's directory of units (resolvers/directory.py): a few thousand rows."""
    return list((await conn.execute(select(UNIT).where(structure_visible(scope)))).all())


async def tree_shape(conn: AsyncConnection, *, scope: Scope) -> Row[Any]:
    """How many top-level units there are, and the most children any one unit has: what bounds a list of
    units (the static cost of a query, schema/cost.py)."""
    visible = structure_visible(scope)
    per_parent = (
        select(func.count().label("children"))
        .where(visible, UNIT.c.parent_id.is_not(None))
        .group_by(UNIT.c.parent_id)
        .subquery()
    )
    top_units = select(func.count()).select_from(UNIT).where(visible, UNIT.c.parent_id.is_(None))
    most_children = select(func.coalesce(func.max(per_parent.c.children), 0))
    stmt = select(
        top_units.scalar_subquery().label("top_units"), most_children.scalar_subquery().label("most_children")
    )
    return (await conn.execute(stmt)).one()


async def in_subtree(conn: AsyncConnection, *, scope: Scope, path: str, subtree: bool, limit: int) -> list[Row[Any]]:
    """The unit at `path` and, with `subtree`, every unit below it, in path order (a tree's reading order)."""
    condition = UNIT.c.path.startswith(path, autoescape=True) if subtree else UNIT.c.path == path
    stmt = select(UNIT).where(structure_visible(scope), condition).order_by(UNIT.c.path).limit(limit)
    return list((await conn.execute(stmt)).all())


async def paths_of_officials(conn: AsyncConnection, *, scope: Scope, official_ids: Sequence[int]) -> dict[int, str]:
    """Each of these officials of the scope, and the path of their unit (what an approval's event names)."""
    if not official_ids:
        return {}
    stmt = (
        select(OFFICIAL.c.id, UNIT.c.path)
        .join(OFFICIAL, OFFICIAL.c.unit_id == UNIT.c.id)
        .where(OFFICIAL.c.id.in_(sorted(official_ids)), official_filter(scope))
    )
    return {row.id: row.path for row in await conn.execute(stmt)}
