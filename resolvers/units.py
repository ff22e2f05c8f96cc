from typing import Any

from sqlalchemy import Row

from db.queries import units
from resolvers.context import RequestContext
from resolvers.ids import check_text, is_id, parse_id


async def resolve_unit(ctx: RequestContext, unit_id: str | None, code: str | None) -> Row[Any] | None:
    if unit_id is not None:
        return await ctx.loaders.unit_by_id.load(parse_id(unit_id, "unit"))
    if code is not None:
        return await _unit_by_code(ctx, code)
    return None


async def unit_by_ref(ctx: RequestContext, ref: str | int) -> Row[Any] | None:
    """A unit named the way people name units: by its code ("BNV", "BNV.VP") or by its id ("42")."""
    if is_id(ref):
        return await ctx.loaders.unit_by_id.load(parse_id(ref, "unit"))
    return await _unit_by_code(ctx, str(ref))


async def _unit_by_code(ctx: RequestContext, code: str) -> Row[Any] | None:
    async with ctx.connect() as conn:
        return await units.get_by_code(conn, scope=ctx.scope, code=check_text(code, "code"))


async def resolve_units(ctx: RequestContext, parent: str | None, kind: str | None) -> list[Row[Any]]:
    """Direct children of `parent`, or the top-level units (ministries, provinces) without one."""
    parent_id = parse_id(parent, "unit") if parent is not None else None
    async with ctx.connect() as conn:
        return await units.list_children(conn, scope=ctx.scope, parent_ids=[parent_id], kind=kind)


async def resolve_unit_by_id(ctx: RequestContext, unit_id: int | None) -> Row[Any] | None:
    return None if unit_id is None else await ctx.loaders.unit_by_id.load(unit_id)


async def resolve_children(ctx: RequestContext, unit_id: int) -> list[Row[Any]]:
    return await ctx.loaders.units_by_parent.load(unit_id)
