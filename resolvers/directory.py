"""Every unit, kept by each process for a minute: a filter names its unit by code or id, and looking it up
should not cost a request a statement of its own. Units are the public shape of the state apparatus
(any scope with a grant sees them all) and change with reorganisations, not from one request to the next.
A code or id not found is looked for again in the database by the caller (the resolver tree), so a unit
made a moment ago is never reported missing."""

import asyncio
import time
from dataclasses import dataclass
from typing import Any, Final
from weakref import WeakKeyDictionary

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncEngine

from db.queries import units
from resolvers.context import RequestContext
from resolvers.ids import is_id

FRESH_SECONDS: Final = 60.0


@dataclass(frozen=True, slots=True)
class _Directory:
    read_at: float
    by_id: dict[int, Row[Any]]
    by_code: dict[str, Row[Any]]


_directories: WeakKeyDictionary[AsyncEngine, _Directory] = WeakKeyDictionary()
_readers: WeakKeyDictionary[AsyncEngine, asyncio.Lock] = WeakKeyDictionary()


async def unit_by_ref(ctx: RequestContext, ref: str | int) -> Row[Any] | None:
    """The unit a filter names, by code ("BNV.VP") or id ("42"); None when this process does not know it."""
    if not ctx.scope.grants:
        return None  # a scope without a grant sees no unit
    directory = await _directory(ctx)
    if is_id(ref):
        return directory.by_id.get(int(ref)) if str(ref).isdigit() and len(str(ref)) <= 10 else None
    return directory.by_code.get(str(ref))


async def _directory(ctx: RequestContext) -> _Directory:
    known = _directories.get(ctx.engine)
    if known is not None and time.monotonic() - known.read_at < FRESH_SECONDS:
        return known
    async with _readers.setdefault(ctx.engine, asyncio.Lock()):
        known = _directories.get(ctx.engine)
        if known is not None and time.monotonic() - known.read_at < FRESH_SECONDS:
            return known
        async with ctx.connect() as conn:
            rows = await units.every_unit(conn, scope=ctx.scope)
        fresh = _Directory(time.monotonic(), {row.id: row for row in rows}, {row.code: row for row in rows})
        _directories[ctx.engine] = fresh
        return fresh
