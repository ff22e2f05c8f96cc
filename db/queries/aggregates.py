"""Counts of officials for dashboards: SQL GROUP BY under the request's scope, with the same filter as a
page of officials (db/queries/officials.py), so a count never includes a row the caller cannot see.

A dimension is an expression over the official's row (its unit, a coded column, an age band, Party
membership, the evaluation of a year); the resolver decides which the caller may group by.
"""

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, Final

from sqlalchemy import ColumnElement, Row, and_, bindparam, case, func, literal, literal_column, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from db.models import Approval, Evaluation, OfficialVersion, Position, table_of
from db.queries.officials import OfficialFilter, matching
from db.scoping import OFFICIAL, Scope, official_filter, unit_within, where_readable

EVALUATION: Final = table_of(Evaluation)
APPROVAL: Final = table_of(Approval)
VERSION: Final = table_of(OfficialVersion)
POSITION: Final = table_of(Position)
# Age bands by completed years on the day asked: (label code, youngest age in it).
AGE_BANDS: Final = (("60+", 60), ("50-59", 50), ("40-49", 40), ("30-39", 30), ("<30", 0))
NO_EVALUATION: Final = "NONE"
HOLDING: Final = ("ACTIVE", "ON_LEAVE")

_COLUMNS: Final[Mapping[str, ColumnElement[Any]]] = {
    "top_unit": OFFICIAL.c.top_unit_id,
    "unit": OFFICIAL.c.unit_id,
    "employee_type": OFFICIAL.c.employee_type,
    "gender": OFFICIAL.c.gender,
    "rank": OFFICIAL.c.rank_code,
    "qualification": OFFICIAL.c.qualification,
    "political_theory": OFFICIAL.c.political_theory,
    "state_management": OFFICIAL.c.state_management,
    "ethnicity": OFFICIAL.c.ethnicity,
    "religion": OFFICIAL.c.religion,
}
DIMENSIONS: Final = frozenset({*_COLUMNS, "age_band", "party", "evaluation"})


def _years_before(day: date, years: int) -> date:
    return day.replace(year=day.year - years, day=min(day.day, 28 if day.month == 2 else day.day))


def _expression(name: str, today: date) -> ColumnElement[Any]:
    if name in _COLUMNS:
        return _COLUMNS[name]
    if name == "age_band":
        # Born on or before the day `age` years ago: at least that old today.
        whens = [
            (OFFICIAL.c.birth_date <= bindparam(f"age_{age}", _years_before(today, age)), literal(band))
            for band, age in AGE_BANDS[:-1]
        ]
        return case(*whens, else_=literal(AGE_BANDS[-1][0]))
    if name == "party":
        return case((OFFICIAL.c.party_admission_date.is_(None), literal("NO")), else_=literal("YES"))
    if name == "evaluation":
        return func.coalesce(literal_column("evaluated.level"), literal(NO_EVALUATION))
    raise KeyError(name)


async def counts(
    conn: AsyncConnection,
    *,
    scope: Scope,
    filter: OfficialFilter,
    dimensions: Sequence[str],
    today: date,
    evaluation_year: int | None = None,
    limit: int,
) -> list[Row[Any]]:
    """(d0, d1, …, count, average salary coefficient, sum of record keys) per combination of the
    dimensions' values, for the officials of the scope matching the filter; at most `limit` rows (the
    caller refuses more)."""
    keys = [_expression(name, today).label(f"d{i}") for i, name in enumerate(dimensions)]
    stmt = select(
        *keys,
        func.count().label("n"),
        func.avg(OFFICIAL.c.salary_coefficient).label("average"),
        func.sum(OFFICIAL.c.record_key).label("keys"),
    )
    if "evaluation" in dimensions:
        # One level per official and year, whatever the table holds: the lowest, the strictest reading.
        year = (
            select(EVALUATION.c.official_id, func.min(EVALUATION.c.level).label("level"))
            .where(EVALUATION.c.year == bindparam("eval_year", evaluation_year))
            .group_by(EVALUATION.c.official_id)
            .subquery("evaluated")
        )
        stmt = stmt.select_from(OFFICIAL.outerjoin(year, year.c.official_id == OFFICIAL.c.id))
    stmt = stmt.where(*matching(scope, filter)).group_by(*keys).order_by(*keys).limit(limit)
    return list((await conn.execute(stmt)).all())


async def filled(conn: AsyncConnection, *, scope: Scope, filter: OfficialFilter) -> dict[int, int]:
    """Officials of the scope holding each position now, among those matching the filter."""
    stmt = (
        select(OFFICIAL.c.position_id, func.count().label("n"))
        # Who holds a post now: not those retired or moved elsewhere, whose rows keep their last position.
        .where(*matching(scope, filter), OFFICIAL.c.position_id.is_not(None), OFFICIAL.c.status.in_(HOLDING))
        .group_by(OFFICIAL.c.position_id)
    )
    return {row.position_id: int(row.n) for row in await conn.execute(stmt)}


# -- headcount month by month ---------------------------------------------------------------------------------


def _countable(scopes: Sequence[Scope], fields: Sequence[str]) -> list[ColumnElement[bool]]:
    clauses = []
    for name in fields:
        opened = [where_readable(scope, name) for scope in scopes]
        if any(clause is None for clause in opened):
            continue  # open on every official of one of the scopes
        clauses.append(or_(*(c for c in opened if c is not None)))
    return clauses


def _counted(unit_id: ColumnElement[Any], status: ColumnElement[Any], path: str, subtree: bool) -> ColumnElement[Any]:
    """1 where an official of that unit and status counts in the headcount of the unit at `path`, else 0."""
    place = unit_within(unit_id, path) if subtree else unit_id == bindparam("h_unit_id")
    return case((and_(place, status.in_(HOLDING)), 1), else_=0)


def _recruited_by(month_ends: Sequence[date]) -> ColumnElement[Any]:
    """The index of the first month by whose end (the next month's first day) the official was recruited;
    0 where the record says no date; len(month_ends) when recruited after them all."""
    recruited = OFFICIAL.c.recruitment_date
    whens: list[tuple[ColumnElement[bool], ColumnElement[Any]]] = [(recruited.is_(None), literal(0))]
    whens += [
        (recruited < bindparam(f"h_end_{i}", end, type_=recruited.type), literal(i)) for i, end in enumerate(month_ends)
    ]
    return case(*whens, else_=literal(len(month_ends)))


async def headcount_now(
    conn: AsyncConnection, *, scope: Scope, filter: OfficialFilter, month_ends: Sequence[date]
) -> list[Row[Any]]:
    """(month index they were recruited by, count, sum of record keys) of the officials of the scope in
    the filter's unit holding a post now."""
    bucket = _recruited_by(month_ends).label("recruited")
    stmt = (
        select(bucket, func.count().label("n"), func.sum(OFFICIAL.c.record_key).label("keys"))
        .where(*matching(scope, filter), OFFICIAL.c.status.in_(HOLDING))
        .group_by(bucket)
    )
    return list((await conn.execute(stmt)).all())


async def headcount_moves(
    conn: AsyncConnection,
    *,
    scope: Scope,
    counted_by: Sequence[Scope],
    fields: Sequence[str],
    path: str,
    unit_id: int,
    subtree: bool,
    after: str,
    month_ends: Sequence[date],
) -> list[Row[Any]]:
    """(period, month index recruited by, joined, left, change of the record-key sum) for each month after
    `after` whose approvals moved officials of the scope into or out of the headcount of the unit (and of
    its subtree).

    A version keeps the record as it was before its approval (`previous`); what it made is the next
    version's `previous`, or the row as it is now for the last. So every version says whether its
    official counted before and after, and a month's approvals, summed, say how the count moved."""
    was = _counted(VERSION.c.previous["unit"].as_integer(), VERSION.c.previous["status"].as_string(), path, subtree)
    now = _counted(OFFICIAL.c.unit_id, OFFICIAL.c.status, path, subtree)
    made = func.coalesce(func.lead(was).over(partition_by=VERSION.c.official_id, order_by=VERSION.c.version), now)
    versions = (
        select(
            APPROVAL.c.period,
            _recruited_by(month_ends).label("recruited"),
            was.label("was"),
            made.label("made"),
            OFFICIAL.c.record_key,
        )
        .select_from(VERSION.join(APPROVAL, APPROVAL.c.id == VERSION.c.approval_id))
        .join(OFFICIAL, OFFICIAL.c.id == VERSION.c.official_id)
        # Counted under today's scope, as every count is: the officials the caller may count now, and of
        # those outside the unit today, only where some scope (reading, aggregating) opens every field counted.
        .where(official_filter(scope), *_countable(counted_by, fields), APPROVAL.c.period > bindparam("h_after", after))
        .subquery("moves")
    )
    m = versions.c
    stmt = (
        select(
            m.period,
            m.recruited,
            func.sum(case((m.made > m.was, 1), else_=0)).label("joined"),
            func.sum(case((m.made < m.was, 1), else_=0)).label("left"),
            func.sum((m.made - m.was) * m.record_key).label("keys"),
        )
        .group_by(m.period, m.recruited)
        .order_by(m.period, m.recruited)
    )
    return list((await conn.execute(stmt, {"h_unit_id": unit_id})).all())
