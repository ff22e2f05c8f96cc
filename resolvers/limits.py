"""What one request may ask for: the unit tree's shape that lists of units are bounded by, and the
refusals a request gets before anything of it runs (schema/cost.py works out what a request may cost)."""

import asyncio
import time
from dataclasses import dataclass
from typing import Final
from weakref import WeakKeyDictionary

from sqlalchemy.ext.asyncio import AsyncEngine

from db.codes import CODE_LISTS
from db.errors import BadInput, DomainError
from db.queries import positions, units
from resolvers.context import RequestContext
from resolvers.errors import CostExceeded
from resolvers.exports import MAX_EXPORTS_PER_REQUEST

# The tree changes with reorganisations, approved monthly: a process reads its shape again this often.
TREE_SHAPE_SECONDS: Final = 600.0
LARGEST_CODE_LIST: Final = max(len(values) for values in CODE_LISTS.values())
# Statements reading the tree's shape (tree_shape): the first request that needs it pays them.
TREE_READ_STATEMENTS: Final = 2


@dataclass(frozen=True, slots=True)
class TreeShape:
    top_units: int  # ministries and provinces: what `units` lists
    most_children: int  # the most children any one unit has: `Unit.children`, `units(parent:)`
    most_positions: int  # the most positions any one unit has: `Unit.positions`


NO_TREE: Final = TreeShape(top_units=0, most_children=0, most_positions=0)

_shapes: WeakKeyDictionary[AsyncEngine, tuple[float, TreeShape]] = WeakKeyDictionary()
# One reader at a time: the requests that find the shape old wait for the one reading it.
_readers: WeakKeyDictionary[AsyncEngine, asyncio.Lock] = WeakKeyDictionary()


def known_tree_shape(ctx: RequestContext) -> TreeShape | None:
    """The shape this process read less than TREE_SHAPE_SECONDS ago, if any (reads nothing)."""
    if not ctx.scope.grants:
        return NO_TREE  # a scope without grants sees no unit at all
    read = _shapes.get(ctx.engine)
    return read[1] if read is not None and time.monotonic() - read[0] < TREE_SHAPE_SECONDS else None


async def tree_shape(ctx: RequestContext) -> TreeShape:
    """The unit tree's shape. Units are visible whole to any scope holding a grant, so the shape is the
    same for every such caller: read once per process (two statements), and again when it is old."""
    known = known_tree_shape(ctx)
    if known is not None:
        return known
    async with _readers.setdefault(ctx.engine, asyncio.Lock()):
        known = known_tree_shape(ctx)  # read meanwhile by the request that held the lock
        if known is not None:
            return known
        async with ctx.connect() as conn:
            tree = await units.tree_shape(conn, scope=ctx.scope)
            most_positions = await positions.most_per_unit(conn, scope=ctx.scope)
        shape = TreeShape(top_units=tree.top_units, most_children=tree.most_children, most_positions=most_positions)
        _shapes[ctx.engine] = (time.monotonic(), shape)
        return shape


def over_cost(*, fields: int, most_fields: int, statements: int, most_statements: int) -> DomainError | None:
    """Why a request whose static cost is `fields` and `statements` is refused, or None when it is not."""
    if fields > most_fields:
        return CostExceeded(
            f"This request may cost {fields:,} (fields of the answer, rows of an export), more than the "
            f"{most_fields:,} one request may cost (CCVC_MAX_QUERY_COST): ask for fewer fields, smaller pages "
            "(`first`), fewer nested lists, or split it (the README's 'Limits on what one request may ask')"
        )
    if statements > most_statements:
        return CostExceeded(
            f"This request may run {statements:,} SQL statements, more than the {most_statements:,} one request "
            "may run (CCVC_MAX_QUERY_STATEMENTS): a connection (`officials`, `holders`) or `totalCount` under a "
            "list of units or positions runs its own statements for each of them; ask for one unit at a time"
        )
    return None


def over_exports(count: int) -> DomainError | None:
    if count > MAX_EXPORTS_PER_REQUEST:
        return BadInput(
            f"A request may start at most {MAX_EXPORTS_PER_REQUEST} export, and this one starts {count} "
            "(`exportOfficials` under several aliases): send one request per export"
        )
    return None
