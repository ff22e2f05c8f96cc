from typing import Any

from sqlalchemy import Row

from resolvers.context import RequestContext
from resolvers.ids import parse_id


async def resolve_position(ctx: RequestContext, position_id: str) -> Row[Any] | None:
    return await ctx.loaders.position_by_id.load(parse_id(position_id, "position"))


async def resolve_position_by_id(ctx: RequestContext, position_id: int | None) -> Row[Any] | None:
    return None if position_id is None else await ctx.loaders.position_by_id.load(position_id)


async def resolve_unit_positions(ctx: RequestContext, unit_id: int) -> list[Row[Any]]:
    return await ctx.loaders.positions_by_unit.load(unit_id)
