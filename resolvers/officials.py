"""Resolvers for officials: `me`, `official`, and the `officials` connection (also under units and
positions). Every read goes through the request's scope via db.queries.officials."""

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, Final, Protocol

from sqlalchemy import Row

from db.errors import BadInput, NotFound
from db.queries import officials
from db.queries.officials import ORDER_FIELDS, OfficialFilter, OrderField, Ordering
from db.scoping import UnitBound
from resolvers.codes import check_codes
from resolvers.context import RequestContext
from resolvers.errors import ForbiddenField
from resolvers.ids import check_text, is_id, parse_id
from resolvers.pagination import Page, check_first, decode_cursor, encode_cursor
from resolvers.units import unit_by_ref


# What the resolvers read of the schema's input objects: read-only members, so that the schema's own
# enums and lists (OfficialFilter.employee_types: list[EmployeeType]) are what they ask for.
class OfficialFilterArgs(Protocol):
    @property
    def unit(self) -> str | None: ...
    @property
    def include_subunits(self) -> bool: ...
    @property
    def employee_types(self) -> Sequence[Enum] | None: ...
    @property
    def rank_codes(self) -> Sequence[str] | None: ...
    @property
    def gender(self) -> Enum | None: ...
    @property
    def statuses(self) -> Sequence[Enum] | None: ...
    @property
    def birth_year_from(self) -> int | None: ...
    @property
    def birth_year_to(self) -> int | None: ...
    @property
    def name(self) -> str | None: ...


class OfficialOrderArgs(Protocol):
    @property
    def field(self) -> Enum: ...
    @property
    def direction(self) -> Enum: ...


# The API argument behind each attribute of OfficialFilter, for messages.
_ARGUMENT_NAMES = {
    "unit_path": "unit",
    "unit_id": "unit",
    "position_id": "position",
    "employee_types": "employeeTypes",
    "rank_codes": "rankCodes",
    "genders": "gender",
    "statuses": "statuses",
    "birth_year_from": "birthYearFrom",
    "birth_year_to": "birthYearTo",
    "name": "name",
}
# No full name is longer (the column holds 128 characters), so a longer needle could match nothing; and
# SQLite refuses a LIKE pattern past 50,000 bytes, which an unbounded one would reach.
MAX_NAME_FILTER: Final = 128


def _require_somewhere(ctx: RequestContext, field: str, what: str) -> None:
    # A filter or order on a field readable on some rows only is answered row by row (db.queries.officials);
    # one on a field readable on no row at all could only ever return nothing, so it is refused outright.
    if field not in ctx.scope.fields:
        raise ForbiddenField(f"{what}: you may not read `{field.partition('.')[2]}` on any official in your scope")


def check_filter(ctx: RequestContext, query: OfficialFilter) -> None:
    for attribute, field in officials.filter_fields(query).items():
        _require_somewhere(ctx, field, f"Filtering by `{_ARGUMENT_NAMES[attribute]}`")


def _ordering(ctx: RequestContext, order_by: OfficialOrderArgs | None) -> Ordering:
    if order_by is None:
        # By name wherever the caller reads names: rows whose name it cannot read come last, by id, which
        # reveals nothing; so a grant over a few more officials never changes the order of the rest.
        return Ordering(field="name" if ORDER_FIELDS["name"] in ctx.scope.fields else "id")
    field: OrderField = order_by.field.value
    name = ORDER_FIELDS[field]
    if name is not None:
        _require_somewhere(ctx, name, f"Ordering by `{order_by.field.name}`")
    return Ordering(field=field, descending=order_by.direction.value == "DESC")


async def resolve_me(ctx: RequestContext) -> Row[Any] | None:
    if ctx.principal.official_id is None:
        # Null, with a word why: a staff or partner account is not an official and has no record.
        raise NotFound(
            f"Account '{ctx.principal.username}' is a {ctx.principal.kind} account with no official record of "
            "its own; `me` is an official's own record (accounts named by an official's code, SH...)"
        )
    row: Row[Any] | None = await ctx.loaders.official_by_id.load(ctx.principal.official_id)
    ctx.exposed.add(row)
    return row


async def resolve_official(ctx: RequestContext, official_id: str | None, code: str | None) -> Row[Any] | None:
    """By id or by code (số hiệu). Outside the scope is the same as absent: null, not "forbidden", so
    existence does not leak."""
    if (official_id is None) == (code is None):
        raise BadInput("Give either `id` or `code`")
    if official_id is not None and not is_id(official_id):
        raise BadInput(f"'{official_id}' is not an official id; to find an official by code: official(code: ...)")
    row: Row[Any] | None
    if official_id is not None:
        row = await ctx.loaders.official_by_id.load(parse_id(official_id, "official"))
    else:
        found = await officials_by_code(ctx, [code or ""])
        row = found[0] if found else None
    ctx.exposed.add(row)
    return row


async def resolve_official_by_id(ctx: RequestContext, official_id: int) -> Row[Any] | None:
    """An official another object names (a change's), through the request's scope: null outside it."""
    row: Row[Any] | None = await ctx.loaders.official_by_id.load(official_id)
    ctx.exposed.add(row)
    return row


async def officials_by_code(ctx: RequestContext, codes: list[str]) -> list[Row[Any]]:
    """The officials of the scope with these codes. A row counts only where its code is readable: a
    lookup by a field is a filter on it, and a filter must not reveal a field where it is not readable."""
    wanted = [check_text(code, "code") for code in codes]
    async with ctx.connect() as conn:
        rows = await officials.get_many_by_code(conn, scope=ctx.scope, codes=wanted)
    return [row for row in rows if _CODE in ctx.scope.readable(row.grants)]


_CODE = "Official.code"


def _values(items: Sequence[Enum] | None) -> list[str]:
    return [item.value for item in items or ()]


def unit_bounds(unit: Row[Any] | None, include_subunits: bool) -> dict[str, Any]:
    """The unit part of the filter: its subtree path, or exactly its id."""
    if unit is None:
        return {}
    within = UnitBound(path=unit.path, top_unit_id=unit.top_unit_id)
    return {"unit_path": unit.path, "within": within} if include_subunits else {"unit_id": unit.id, "within": within}


def unit_ref(args: OfficialFilterArgs | None, unit: int | None) -> str | None:
    """The unit the filter names: the parent field's (Unit.officials), or the caller's `filter.unit`."""
    if unit is not None and args is not None and args.unit is not None:
        # Unit.officials: the unit is the parent field's, and the caller's filter narrows within it.
        raise BadInput("`Unit.officials` is already filtered by its unit; leave `filter.unit` out")
    return str(unit) if unit is not None else (args.unit if args is not None else None)


def _check_name(name: str) -> str:
    if len(name) > MAX_NAME_FILTER:
        raise BadInput(
            f"`filter.name` is {len(name)} characters long; no name is longer than {MAX_NAME_FILTER}, so search "
            "by a shorter part of it"
        )
    return check_text(name, "filter.name")


async def to_filter(
    ctx: RequestContext, args: OfficialFilterArgs | None, unit: int | None, **fixed: Any
) -> OfficialFilter:
    ref = unit_ref(args, unit)
    row = await unit_by_ref(ctx, ref) if ref is not None else None
    if ref is not None and row is None:
        raise NotFound(f"No unit with code or id '{ref}'")
    return build_filter(args, row, fixed)


def build_filter(args: OfficialFilterArgs | None, unit: Row[Any] | None, fixed: dict[str, Any]) -> OfficialFilter:
    """The filter the arguments ask for, its unit already looked up; bad values are refused here."""
    bounds = unit_bounds(unit, args.include_subunits if args is not None else True)
    if args is None:
        return OfficialFilter(**bounds, **fixed)
    if (
        args.birth_year_from is not None
        and args.birth_year_to is not None
        and args.birth_year_from > args.birth_year_to
    ):
        raise BadInput("`birthYearFrom` is after `birthYearTo`")
    for year in (args.birth_year_from, args.birth_year_to):
        if year is not None and not 1900 <= year <= 2100:
            raise BadInput(f"Birth year {year} is out of range")
    return OfficialFilter(
        **bounds,
        employee_types=frozenset(_values(args.employee_types)),
        rank_codes=check_codes("rank", args.rank_codes, "rankCodes"),
        genders=frozenset(_values([args.gender] if args.gender else None)),
        statuses=frozenset(_values(args.statuses)),
        birth_year_from=args.birth_year_from,
        birth_year_to=args.birth_year_to,
        name=_check_name(args.name) if args.name is not None else None,
        **fixed,
    )


@dataclass(frozen=True, slots=True)
class PageRequest:
    """A page of officials as asked for, checked: how many, in which order, from where."""

    limit: int
    ordering: Ordering
    order_key: str
    after: tuple[Any, int] | None


def page_request(
    ctx: RequestContext, *, first: int, after: str | None, order_by: OfficialOrderArgs | None
) -> PageRequest:
    limit = check_first(first)
    ordering = _ordering(ctx, order_by)
    order_key = f"{ordering.field}:{'desc' if ordering.descending else 'asc'}"
    return PageRequest(limit, ordering, order_key, decode_cursor(after, order_key) if after else None)


def cursor(ctx: RequestContext, request: PageRequest, value: Any, row_id: int, mask: str) -> str:
    """A row's cursor: its place in the order, without a value the caller may not read on it."""
    return encode_cursor(
        request.order_key, *officials.cursor_position(value, row_id, request.ordering, ctx.scope.readable(mask))
    )


async def resolve_officials(
    ctx: RequestContext,
    *,
    first: int,
    after: str | None,
    filter: OfficialFilterArgs | None,
    order_by: OfficialOrderArgs | None,
    unit: int | None = None,
    **fixed: Any,
) -> Page[Row[Any]]:
    """A keyset page of officials. `fixed` pins the filter to a unit or position (Unit.officials,
    Position.holders) on top of whatever the caller filters by."""
    request = page_request(ctx, first=first, after=after, order_by=order_by)
    query = await to_filter(ctx, filter, unit, **fixed)
    check_filter(ctx, query)
    async with ctx.connect() as conn:
        rows = await officials.list_(
            conn, scope=ctx.scope, filter=query, ordering=request.ordering, limit=request.limit + 1, after=request.after
        )
    page = rows[: request.limit]
    column = officials.order_column(request.ordering)

    async def count() -> int:
        async with ctx.connect() as conn:
            return await officials.count(conn, scope=ctx.scope, filter=query)

    return Page(
        nodes=page,
        cursors=[cursor(ctx, request, getattr(row, column), row.id, row.grants) for row in page],
        has_next_page=len(rows) > request.limit,
        has_previous_page=request.after is not None,
        count=count,
    )
