from typing import Any

from sqlalchemy import Row

from db.catalog import RecordKind
from resolvers.context import RequestContext


async def resolve_records(ctx: RequestContext, kind: RecordKind, official_id: int) -> list[Row[Any]]:
    return await ctx.loaders.records_by_official(kind).load(official_id)
