"""`workforceStats` and `staffing`: aggregates for dashboards, under the caller's scope.

Counts are SQL GROUP BY over exactly the rows a page of officials would list (the scope, the filter),
so they never include an official the caller cannot see. Grouping by a dimension reads its field: the
caller may group by it when it reads that field on every official counted, or when the policy lets it
aggregate by it without reading it (`aggregate` lines: an analyst by sensitive dimensions).

Protected answers. Where the caller could not read the values it groups by (an `aggregate` line), and
for every partner agency, no count may single anyone out, even combined with totals the caller knows
exactly (a page's `totalCount`, a breakdown by a field it reads). A bucket with 0 < count < k
(configuration, default 5) is suppressed (count null), and suppression is complementary: along every
dimension, the buckets that differ in that dimension alone (a line of the table) hold either no
suppressed bucket, or at least two whose counts add up to k or more, more buckets being suppressed
(the smallest first) until that holds. Subtracting a line's visible buckets from its total then leaves
the sum of several suppressed ones, never one of them (the differencing attack, tested). A line hidden
whole that still holds one bucket, or suppressed counts under k in all, is left out.

Across answers, suppression alone cannot hold: a unit's answer with and without a subunit, or by one
dimension and by two, are different tables of the same people, and a linear program over a few thousand
of them narrowed or pinned suppressed cells (found by review). So a protected answer's visible counts are
also rounded to a multiple of k, at random but unbiased, the draw being the cell's key: the sum of its
officials' secret record keys (`official.record_key`), as statistics offices do for tables users build
themselves (the cell-key method). A count is then only known to within k either way, the same officials
always give the same number (asking again tells nothing), and a subtraction across answers leaves the
small cell give or take k or more. In a simulation of the reviewer's subtraction (a unit's subtree minus
its subunits'), 98% of suppressed cells keep every value from 1 to k-1 possible and none is left with
one; that takes a rare alignment of several roundings, the residual risk of any rounding, bounded in
tests/resolvers/test_aggregates.py. What rounding cannot stop alone: different partitions of the same
officials (by each readable dimension, pairs of them, years) round independently, so averaging very
many answers narrows a count (review: ±1 would take about a hundred at national scale). Per-caller
budgets on protected answers (the guardrails issue) are what bounds that.
"""

import asyncio
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Hashable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Final

from sqlalchemy import Row

from db.catalog import OFFICIAL
from db.codes import CODE_LISTS
from db.errors import BadInput, NotFound
from db.models.officials import RECORD_KEYS
from db.queries import aggregates, positions, versions
from db.queries import units as units_
from db.queries.aggregates import AGE_BANDS, NO_EVALUATION
from db.queries.officials import OfficialFilter
from db.scoping import UnitBound
from policies.rules import AGGREGATE, REVIEW
from resolvers.codes import labeller
from resolvers.context import RequestContext
from resolvers.errors import Forbidden, ForbiddenField, Unauthenticated
from resolvers.events import ApprovalEvent, within
from resolvers.months import day_after, parse_period
from resolvers.officials import OfficialFilterArgs, build_filter, check_filter, to_filter, unit_bounds
from resolvers.units import unit_by_ref

MAX_DIMENSIONS: Final = 3
# Buckets one answer holds at most (and what bounds a breakdown by units in the cost of a request).
MAX_BUCKETS: Final = 2_000
# Units `staffing` lists at most: a ministry's departments and divisions; a larger tree is asked part by part.
MAX_STAFFING_UNITS: Final = 500
DEFAULT_SMALL_CELL: Final = 5


@dataclass(frozen=True, slots=True)
class Dimension:
    """A way to group officials: the SQL expression's name (db/queries/aggregates.py), the field it
    reads (its policy), and how its values are labelled."""

    name: str  # the API's, e.g. AGE_BAND
    key: str
    field: str  # catalog field name
    codes: str | None = None  # a code list labels its values


_AGE_LABELS: Final = {
    "60+": "Từ 60 tuổi",
    "50-59": "50–59 tuổi",
    "40-49": "40–49 tuổi",
    "30-39": "30–39 tuổi",
    "<30": "Dưới 30 tuổi",
}
_PARTY_LABELS: Final = {"YES": "Đảng viên", "NO": "Chưa là đảng viên"}

DIMENSIONS: Final = {
    d.name: d
    for d in (
        Dimension("TOP_LEVEL_UNIT", "top_unit", "topUnit"),
        Dimension("UNIT", "unit", "unit"),
        Dimension("EMPLOYEE_TYPE", "employee_type", "employeeType", "employee_type"),
        Dimension("GENDER", "gender", "gender", "gender"),
        Dimension("AGE_BAND", "age_band", "birthDate"),
        Dimension("RANK", "rank", "rank", "rank"),
        Dimension("QUALIFICATION", "qualification", "qualification", "qualification"),
        Dimension("POLITICAL_THEORY", "political_theory", "politicalTheory", "political_theory"),
        Dimension("STATE_MANAGEMENT", "state_management", "stateManagement", "state_management"),
        Dimension("ETHNICITY", "ethnicity", "ethnicity", "ethnicity"),
        Dimension("RELIGION", "religion", "religion", "religion"),
        Dimension("PARTY_MEMBERSHIP", "party", "partyAdmissionDate"),
        Dimension("EVALUATION", "evaluation", "evaluations", "evaluation_level"),
    )
}
assert {d.key for d in DIMENSIONS.values()} == aggregates.DIMENSIONS  # one list each side, kept equal
# The fields whose change can change a count: those of the dimensions, and what a headcount, staffing and
# the average coefficient read (an approval changing one tells workforceChanged's subscribers).
COUNTED_FIELDS: Final = frozenset({d.field for d in DIMENSIONS.values()} | {"status", "position", "salaryCoefficient"})


def most_buckets(names: Sequence[str], top_units: int) -> int:
    """The most buckets grouping by these dimensions can give (what the request's cost counts)."""
    most = 1
    for name in names:
        dimension = DIMENSIONS.get(name)
        if dimension is None or dimension.key == "unit":
            return MAX_BUCKETS
        most *= _values(dimension, top_units)
    return min(most, MAX_BUCKETS)


def _values(dimension: Dimension, top_units: int) -> int:
    if dimension.key == "top_unit":
        return top_units
    if dimension.key == "age_band":
        return len(AGE_BANDS)
    if dimension.key == "party":
        return len(_PARTY_LABELS)
    return len(CODE_LISTS[dimension.codes or ""]) + 1  # and officials without a value


@dataclass(frozen=True, slots=True)
class StatKey:
    dimension: str
    code: str | None
    label: str


@dataclass(frozen=True, slots=True)
class StatBucket:
    keys: tuple[StatKey, ...]
    count: int | None
    suppressed: bool
    average_salary_coefficient: float | None


async def resolve_workforce_stats(
    ctx: RequestContext,
    group_by: Sequence[str],
    filter: OfficialFilterArgs | None,
    unit_id: str | None,
    include_subtree: bool,
    evaluation_year: int | None,
) -> list[StatBucket]:
    dimensions = _dimensions(group_by, evaluation_year)
    query = await _filter(ctx, filter, unit_id, include_subtree)
    protected = _protected(ctx, dimensions, query.within)
    if protected and _narrows(filter):
        # Two protected answers over rows that differ by a filter would tell the difference of two counts.
        raise BadInput("A protected breakdown (one that must single no one out) takes a unit, not a `filter`")
    average = OFFICIAL["salaryCoefficient"].policy in ctx.scope.everywhere_within(query.within)
    today, keys = ctx.calendar.today(), tuple(d.key for d in dimensions)
    async with ctx.connect() as conn:
        # The same breakdown of the same data version, for the same scope and day: answered from memory.
        key = (ctx.engine, ctx.scope, query, keys, today, evaluation_year, await versions.current(conn))
        rows = ANSWERS.get(key, ctx.calendar.now())
        if rows is None:
            rows = await aggregates.counts(
                conn,
                scope=ctx.scope,
                filter=query,
                dimensions=keys,
                today=today,
                evaluation_year=evaluation_year,
                limit=MAX_BUCKETS + 1,
            )
            ANSWERS.put(key, rows, ctx.calendar.now())
    if len(rows) > MAX_BUCKETS:
        raise BadInput(f"More than {MAX_BUCKETS} buckets: group by fewer dimensions, or narrow `unitId` or `filter`")
    labels = await _labellers(ctx, dimensions, rows)
    if not protected:
        return [_bucket(row, dimensions, labels, average, int(row.n)) for row in rows]
    counts = [(tuple(row)[: len(dimensions)], int(row.n)) for row in rows]
    hidden, left_out = protect(counts, ctx.small_cell, protected)
    shown = [
        _bucket(row, dimensions, labels, average, rounded(int(row.n), int(row.keys), ctx.small_cell))
        for i, row in enumerate(rows)
        if i not in hidden
    ]
    return shown + _masked([rows[i] for i in sorted(hidden - left_out)], dimensions, labels, protected)


class Answers:
    """Breakdowns counted lately, in this process, keyed by everything their rows depend on: the
    database, the scope, the filter, the dimensions, the day (age bands), the evaluation year and the
    data version, which every approval and sync bundle counts up (the only writes to officials). A
    dashboard's national breakdown is a scan of every official (about a second at 1,000,000): it is
    counted once per data version and day, then read from here. Bounded in entries and in age (a write
    made outside the gateway is seen within `MAX_AGE`)."""

    MAX_ENTRIES: Final = 256
    MAX_AGE: Final = timedelta(minutes=5)

    def __init__(self) -> None:
        self._kept: OrderedDict[Hashable, tuple[datetime, list[Row[Any]]]] = OrderedDict()

    def get(self, key: Hashable, now: datetime) -> list[Row[Any]] | None:
        kept = self._kept.get(key)
        if kept is None or now - kept[0] > self.MAX_AGE:
            return None
        self._kept.move_to_end(key)
        return kept[1]

    def put(self, key: Hashable, rows: list[Row[Any]], now: datetime) -> None:
        self._kept[key] = (now, rows)
        self._kept.move_to_end(key)
        while len(self._kept) > self.MAX_ENTRIES:
            self._kept.popitem(last=False)


ANSWERS: Final = Answers()


def _dimensions(group_by: Sequence[str], evaluation_year: int | None) -> list[Dimension]:
    if not 1 <= len(group_by) <= MAX_DIMENSIONS or len(set(group_by)) != len(group_by):
        raise BadInput(f"`groupBy` names 1 to {MAX_DIMENSIONS} different dimensions")
    dimensions = [DIMENSIONS[name] for name in group_by]
    if any(d.key == "evaluation" for d in dimensions) and (
        evaluation_year is None or not 1945 <= evaluation_year <= 2100
    ):
        raise BadInput("Grouping by EVALUATION needs `evaluationYear` (the year evaluated)")
    return dimensions


async def _filter(
    ctx: RequestContext, filter: OfficialFilterArgs | None, unit_id: str | None, include_subtree: bool
) -> OfficialFilter:
    if unit_id is not None and filter is not None and filter.unit is not None:
        raise BadInput("Give the unit as `unitId` or as `filter.unit`, not both")
    query = (
        await to_filter(ctx, filter, None)
        if unit_id is None
        else await _unit_filter(ctx, filter, unit_id, include_subtree)
    )
    check_filter(ctx, query)
    return query


async def _unit_filter(
    ctx: RequestContext, filter: OfficialFilterArgs | None, unit_id: str, include_subtree: bool
) -> OfficialFilter:
    unit = await unit_by_ref(ctx, unit_id)
    if unit is None:
        raise NotFound(f"No unit with code or id '{unit_id}'")
    query = build_filter(filter, None, {})
    bounds = unit_bounds(unit, include_subtree)
    return replace(query, **bounds)


def _narrows(filter: OfficialFilterArgs | None) -> bool:
    """Whether a filter asks for more than a unit."""
    if filter is None:
        return False
    asked = (
        filter.employee_types,
        filter.rank_codes,
        filter.gender,
        filter.statuses,
        filter.birth_year_from,
        filter.birth_year_to,
        filter.name,
    )
    return any(value is not None for value in asked)


def _protected(ctx: RequestContext, dimensions: Sequence[Dimension], bound: UnitBound | None) -> frozenset[int]:
    """The dimensions (by place) whose values the answer must not tell of anyone (`_protected_fields`)."""
    names = {d.field: d.name for d in dimensions}
    protected = _protected_fields(ctx, list(names), bound, lambda field: f"Grouping by {names[field]}")
    return frozenset(axis for axis, d in enumerate(dimensions) if d.field in protected)


def _protected_fields(
    ctx: RequestContext, fields: Sequence[str], bound: UnitBound | None, doing: Callable[[str], str]
) -> frozenset[str]:
    """Of these catalog fields a count reads, those whose values it must not tell of anyone: those the
    caller does not read on every official counted (it may aggregate by them), and every one for a
    partner agency. Refuses a field the caller may neither read everywhere there nor aggregate by."""
    readable = ctx.scope.everywhere_within(bound)
    agency = ctx.principal.kind == "agency"
    protected: set[str] = set()
    for name in fields:
        policy = OFFICIAL[name].policy
        if policy in readable:
            if agency:
                protected.add(name)
            continue
        if policy not in ctx.scope_to(AGGREGATE).covering_fields(bound):
            raise ForbiddenField(
                f"{doing(name)} reads `{name}`, which you may not read on every official counted, nor aggregate by"
            )
        protected.add(name)
    return frozenset(protected)


async def _labellers(
    ctx: RequestContext, dimensions: Sequence[Dimension], rows: Sequence[Row[Any]]
) -> list[dict[Any, tuple[str | None, str]]]:
    """For each dimension, the code and Vietnamese label of every value the rows hold (a unit by its
    code and name, as units are named everywhere else in the API)."""
    unit_axes = [i for i, d in enumerate(dimensions) if d.key in ("top_unit", "unit")]
    unit_ids = sorted({row[i] for i in unit_axes for row in rows if row[i] is not None})
    units = await asyncio.gather(*(ctx.loaders.unit_by_id.load(u) for u in unit_ids))  # one batch
    named = {u.id: (str(u.code), str(u.name)) for u in units if u is not None}
    out: list[dict[Any, tuple[str | None, str]]] = []
    for i, dimension in enumerate(dimensions):
        values = {row[i] for row in rows}
        if i in unit_axes:
            out.append({v: named.get(v, (str(v), str(v))) for v in values})
        else:
            out.append({v: (None if v is None else str(v), _value_label(dimension, v)) for v in values})
    return out


def _value_label(dimension: Dimension, value: Any) -> str:
    if dimension.key == "age_band":
        return _AGE_LABELS.get(value, str(value))
    if dimension.key == "party":
        return _PARTY_LABELS.get(value, str(value))
    if dimension.key == "evaluation" and value == NO_EVALUATION:
        return "Chưa đánh giá"
    return _label(labeller(dimension.codes or ""), value)


def _label(label: Callable[[str | None], Any], value: str | None) -> str:
    found = label(value)
    return "Không có" if found is None else str(found.label)


def _bucket(
    row: Row[Any],
    dimensions: Sequence[Dimension],
    labels: Sequence[dict[Any, tuple[str | None, str]]],
    average: bool,
    count: int,
) -> StatBucket:
    keys = tuple(StatKey(d.name, *labels[i][row[i]]) for i, d in enumerate(dimensions))
    mean = float(round(Decimal(row.average), 2)) if average and row.average is not None else None
    return StatBucket(keys, count, False, mean)


def rounded(count: int, keys: int, base: int) -> int:
    """`count` rounded to a multiple of `base`, up with probability (count mod base) / base, so unbiased,
    the draw being the cell's key: the sum of its officials' secret record keys. The same officials
    always round the same way, so asking again, in another answer or another breakdown, gives the
    same number and averaging tells nothing; officials differing by one give independent draws."""
    below = count - count % base
    if below == count:
        return count
    draw = keys % RECORD_KEYS  # uniform over 0..RECORD_KEYS-1
    return below + base if draw * base < (count - below) * RECORD_KEYS else below


MASKED: Final = "Nhóm nhỏ (ẩn)"


def _masked(
    rows: Sequence[Row[Any]],
    dimensions: Sequence[Dimension],
    labels: Sequence[dict[Any, tuple[str | None, str]]],
    protected: frozenset[int],
) -> list[StatBucket]:
    """The suppressed buckets, their protected dimensions' values hidden too (a listed bucket would tell
    that someone there has that value), merged where nothing else tells them apart."""
    merged: dict[tuple[StatKey, ...], None] = {}
    for row in rows:
        keys = tuple(
            StatKey(d.name, None, MASKED) if i in protected else StatKey(d.name, *labels[i][row[i]])
            for i, d in enumerate(dimensions)
        )
        merged[keys] = None
    return [StatBucket(keys, None, True, None) for keys in merged]


def protect(
    counts: Sequence[tuple[tuple[Any, ...], int]], k: int, protected: frozenset[int] | None = None
) -> tuple[set[int], set[int]]:
    """(suppressed, left out): the buckets, by index, a protected answer hides (see the module's text).
    Along a protected dimension, a line of one bucket is hidden too: it would tell everyone's value."""
    axes = protected if protected is not None else frozenset(range(len(counts[0][0]) if counts else 0))
    suppressed = {i for i, (_, n) in enumerate(counts) if n < k}
    suppressed |= {line[0] for axis, line in _lines_by_axis(counts) if axis in axes and len(line) == 1}
    lines = _lines(counts)
    changed = bool(suppressed)
    while changed:
        changed = False
        for line in lines:
            hidden = [i for i in line if i in suppressed]
            if not hidden or (len(hidden) >= 2 and sum(counts[i][1] for i in hidden) >= k):
                continue
            visible = sorted((counts[i][1], i) for i in line if i not in suppressed)
            if visible:
                suppressed.add(visible[0][1])
                changed = True
    # A line hidden whole whose suppressed counts still do not make k (a single bucket, or a few small
    # ones) would tell its values from its total and the number of its buckets: it is left out.
    left_out = {
        i
        for line in lines
        if all(i in suppressed for i in line) and (len(line) < 2 or sum(counts[i][1] for i in line) < k)
        for i in line
    }
    return suppressed, left_out


def _lines(counts: Sequence[tuple[tuple[Any, ...], int]]) -> list[list[int]]:
    """Every line of the table: along each dimension, the buckets equal in all the other dimensions."""
    return [line for _, line in _lines_by_axis(counts)]


def _lines_by_axis(counts: Sequence[tuple[tuple[Any, ...], int]]) -> list[tuple[int, list[int]]]:
    width = len(counts[0][0]) if counts else 0
    lines: list[tuple[int, list[int]]] = []
    for axis in range(width):
        groups: dict[tuple[Any, ...], list[int]] = {}
        for i, (keys, _) in enumerate(counts):
            groups.setdefault(keys[:axis] + keys[axis + 1 :], []).append(i)
        lines.extend((axis, line) for line in groups.values())
    return lines


# -- headcount month by month ----------------------------------------------------------------------------------

MAX_MONTHS: Final = 120


@dataclass(frozen=True, slots=True)
class HeadcountMonth:
    period: str
    headcount: int | None
    joined: int | None
    left: int | None
    suppressed: bool


async def resolve_headcount_history(
    ctx: RequestContext, unit_id: str, first: str, last: str, include_subtree: bool
) -> list[HeadcountMonth]:
    """Officials holding a post (active or on leave) in the unit (and below it) at the end of each month
    from `first` to `last`, as the approved record stood then, with those its approvals brought in and
    took out; an official counts from the month they were recruited (by the record's date). Counted
    under today's scope: an official since moved beyond it is in no month."""
    periods = _months(first, last, ctx.calendar.period_now())
    query = await _unit_filter(ctx, None, unit_id, include_subtree)
    assert query.within is not None
    protected = bool(_protected_fields(ctx, COUNTING, query.within, _month_by_month))
    month_ends = [day_after(period) for period in periods]
    async with ctx.connect() as conn:
        now = await aggregates.headcount_now(conn, scope=ctx.scope, filter=query, month_ends=month_ends)
        moves = await aggregates.headcount_moves(
            conn,
            scope=ctx.scope,
            counted_by=(ctx.scope, ctx.scope_to(AGGREGATE)),
            fields=[OFFICIAL[name].policy for name in COUNTING],
            path=query.within.path,
            unit_id=query.unit_id or 0,
            subtree=include_subtree,
            after=periods[0],
            month_ends=month_ends,
        )
    months = []
    for i, period in enumerate(periods):
        # Those recruited by the month's end, as they are today, less what every later month's approvals
        # did to them.
        count = sum(int(row.n) for row in now if row.recruited <= i)
        keys = sum(int(row.keys) for row in now if row.recruited <= i)
        for row in moves:
            if row.recruited <= i and row.period > period:
                count, keys = count - int(row.joined) + int(row.left), keys - int(row.keys)
        moved = [row for row in moves if row.recruited <= i and row.period == period]
        joined, left = sum(int(row.joined) for row in moved), sum(int(row.left) for row in moved)
        months.append(_month(period, count, keys, (joined, left), protected, ctx.small_cell))
    return months


# What a headcount reads of each official: where they work, and whether they hold a post.
COUNTING: Final = ("unit", "status")


def _month_by_month(_: str) -> str:
    return "Counting officials month by month"


def _months(first: str, last: str, now: str) -> list[str]:
    start, end = parse_period(first), parse_period(last)
    if start > end or end > parse_period(now):
        raise BadInput(f"Months run from `from` to `to`, both no later than this month ({now})")
    count = (end[0] - start[0]) * 12 + end[1] - start[1] + 1
    if count > MAX_MONTHS:
        raise BadInput(f"At most {MAX_MONTHS} months at once")
    return [f"{start[0] + (start[1] - 1 + i) // 12:04d}-{(start[1] - 1 + i) % 12 + 1:02d}" for i in range(count)]


def _month(period: str, count: int, keys: int, moved: tuple[int, int], protected: bool, k: int) -> HeadcountMonth:
    joined, left = moved
    if not protected:
        return HeadcountMonth(period, count, joined, left, False)
    # Protected: a month's moves are a few people each; the headcount is rounded like any protected count.
    if 0 < count < k:
        return HeadcountMonth(period, None, None, None, True)
    return HeadcountMonth(period, rounded(count, keys, k), None, None, False)


# -- live: what an approval changed --------------------------------------------------------------------------


async def approval_events(ctx: RequestContext, unit_id: str) -> AsyncIterator[ApprovalEvent]:
    """Approvals of the unit's batches and of batches of units above or below it, for whoever reviews
    the unit's changes (`review`, over the whole unit): what approvalBatch shows them."""
    unit = await _subscribed_unit(ctx, unit_id)
    if not ctx.scope_to(REVIEW).covers(UnitBound(unit.path, unit.top_unit_id)):
        raise Forbidden(f"Only the approver (or HR) of the ministry or province of {unit.code} follows its approvals")
    async for event in _events(ctx):
        if within(event.unit_path, unit.path) or within(unit.path, event.unit_path):
            yield event


async def workforce_changes(ctx: RequestContext, unit_id: str) -> AsyncIterator[tuple[ApprovalEvent, Row[Any]]]:
    """Approvals that changed the unit's numbers (an official of it, before or after, changed in a
    counted field), for whoever may count its officials (as headcountHistory). Only of fields the
    subscriber reads on every official there: that one person's religion changed is not told to an
    analyst who may only count by religion (found by review)."""
    unit = await _subscribed_unit(ctx, unit_id)
    bound = UnitBound(unit.path, unit.top_unit_id)
    _protected_fields(ctx, COUNTING, bound, _month_by_month)
    readable = ctx.scope.everywhere_within(bound)
    async for event in _events(ctx):
        if event.changed(unit.path, readable):
            yield event, unit


async def _subscribed_unit(ctx: RequestContext, unit_id: str) -> Row[Any]:
    unit = await unit_by_ref(ctx, unit_id)
    if unit is None:
        raise NotFound(f"No unit with code or id '{unit_id}'")
    return unit


async def _events(ctx: RequestContext) -> AsyncIterator[ApprovalEvent]:
    """The bus's events until the subscriber's token expires: a WebSocket authenticates once, so a
    disabled account or a revoked grant stops receiving within a token's lifetime (CCVC_TOKEN_TTL_SECONDS)."""
    if ctx.events is None:
        raise BadInput("Subscriptions are served by the gateway over WebSocket (graphql-transport-ws)")
    events = ctx.events.events()
    try:
        while True:
            left = None if ctx.expires_at is None else ctx.expires_at - time.time()
            if left is not None and left <= 0:
                raise Unauthenticated("The token has expired: connect again with a fresh one")
            try:
                yield await asyncio.wait_for(anext(events), timeout=left)
            except TimeoutError:
                continue  # expired: said on the next turn
    finally:
        await events.aclose()


# -- staffing -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Staffed:
    """Sums over positions: a unit's vacancies are its positions' vacancies, not its quota minus its
    filled posts, where one position's excess would hide another's vacancy (found by review)."""

    quota: int
    filled: int
    vacancies: int
    over_quota: int


def _position(quota: int, filled: int) -> "Staffed":
    return Staffed(quota, filled, max(quota - filled, 0), max(filled - quota, 0))


def _sum(parts: Sequence[Staffed]) -> Staffed:
    return Staffed(*(sum(getattr(p, f) for p in parts) for f in ("quota", "filled", "vacancies", "over_quota")))


@dataclass(frozen=True, slots=True)
class PositionStaffing(Staffed):
    position: Row[Any]


@dataclass(frozen=True, slots=True)
class UnitStaffing(Staffed):
    unit: Row[Any]
    positions: tuple[PositionStaffing, ...]


@dataclass(frozen=True, slots=True)
class Staffing(Staffed):
    units: tuple[UnitStaffing, ...]


async def resolve_staffing(ctx: RequestContext, unit_id: str, include_subtree: bool) -> Staffing:
    """Quota (biên chế), filled, vacancies and over-quota per position, per unit, and in total. Filled
    counts the officials of the caller's scope holding each position: it reads their position."""
    query = await _unit_filter(ctx, None, unit_id, include_subtree)
    assert query.within is not None
    # One grant over the whole subtree, opening positions: a grant over some of it would count some
    # holders and show the rest as vacancies (found by review).
    covering = OFFICIAL["position"].policy in ctx.scope.covering_fields(query.within)
    if not covering:
        raise ForbiddenField(
            "Staffing counts who holds each position: you may not read the position of every official there"
        )
    assert query.within is not None
    async with ctx.connect() as conn:
        units = await units_.in_subtree(
            conn, scope=ctx.scope, path=query.within.path, subtree=include_subtree, limit=MAX_STAFFING_UNITS + 1
        )
        if len(units) > MAX_STAFFING_UNITS:
            raise BadInput(f"More than {MAX_STAFFING_UNITS} units: ask for a smaller part of the tree")
        held = await aggregates.filled(conn, scope=ctx.scope, filter=query)
        rows = await positions.list_by_units(conn, scope=ctx.scope, unit_ids=[u.id for u in units])
    by_unit: dict[int, list[PositionStaffing]] = {}
    for row in rows:
        counted = _position(row.quota, held.get(row.id, 0))
        by_unit.setdefault(row.unit_id, []).append(PositionStaffing(*_fields(counted), row))
    listed = tuple(_unit_staffing(unit, by_unit.get(unit.id, [])) for unit in units)
    return Staffing(*_fields(_sum(listed)), listed)


def _fields(staffed: Staffed) -> tuple[int, int, int, int]:
    return staffed.quota, staffed.filled, staffed.vacancies, staffed.over_quota


def _unit_staffing(unit: Row[Any], held: list[PositionStaffing]) -> UnitStaffing:
    return UnitStaffing(*_fields(_sum(held)), unit, tuple(held))
