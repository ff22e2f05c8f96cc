"""The audit's storage: events appended in batches, an official's accesses, the administrator's search,
and the export. Never an UPDATE or DELETE: the tables refuse them (migration 0011)."""

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import ColumnElement, Row, and_, func, insert, select, text, true
from sqlalchemy.dialects.postgresql.base import PGDialect
from sqlalchemy.ext.asyncio import AsyncConnection

from db.models import Account, Agency, AuditAccess, AuditEvent, table_of

EVENT = table_of(AuditEvent)
ACCESS = table_of(AuditAccess)
ACCOUNT = table_of(Account)
AGENCY = table_of(Agency)

# Events read per statement by the export: bounded memory whatever the period.
EXPORT_CHUNK: Final = 1000


@dataclass(frozen=True, slots=True)
class Record:
    """One request's audit: its event's columns, and one row per official it exposed (official_id,
    receipt_id, legal_basis)."""

    event: Mapping[str, Any]
    accesses: Sequence[Mapping[str, Any]]


async def append(conn: AsyncConnection, records: Sequence[Record]) -> list[None]:
    """Store the records (one `None` each: nothing to give back). On PostgreSQL in one statement, atomic by
    itself: a batch is one round trip (tests/gateway/test_audit.py counts). On SQLite inside the caller's
    transaction, the events one by one (SQLite has no multi-row INSERT returning ids in order) and their
    accesses in one executemany: a local call each, and the commit is what the batch shares."""
    if conn.dialect.name == "postgresql":
        await conn.execute(_APPEND, _arrays(records))
        return [None] * len(records)
    stmt = insert(EVENT).returning(EVENT.c.id, sort_by_parameter_order=True)
    ids = [int(i) for i in (await conn.execute(stmt, [dict(r.event) for r in records])).scalars()]
    rows = [{"event_id": i, **a} for i, r in zip(ids, records, strict=True) for a in r.accesses]
    if rows:
        await conn.execute(insert(ACCESS), rows)
    return [None] * len(records)


# The event's columns, and the accesses' own: what a batch sends as one array each.
_EVENT_COLUMNS: Final = tuple(column for column in EVENT.c if column.name != "id")
_ACCESS_COLUMNS: Final = {
    "official_id": "access_official",
    "receipt_id": "access_receipt",
    "legal_basis": "access_basis",
}


_POSTGRESQL: Final = PGDialect()  # type: ignore[no-untyped-call]  # SQLAlchemy's dialects are untyped


def _array_of(column: Any) -> str:
    return f"{column.type.compile(dialect=_POSTGRESQL)}[]"


# The events numbered from their sequence in a CTE (evaluated once: it is used twice, and nextval is
# volatile), inserted, and their accesses joined to them by their place in the batch (WITH ORDINALITY):
# one statement whose text never changes, prepared once per connection, whatever the batch's size.
_APPEND: Final = text(
    # Names and types from the table's own definition, never from input.
    f"""WITH given AS (
  SELECT nextval(pg_get_serial_sequence('audit_event', 'id')) AS id, g.*
  FROM unnest({", ".join(f"CAST(:{c.name} AS {_array_of(c)})" for c in _EVENT_COLUMNS)})
    WITH ORDINALITY AS g({", ".join(c.name for c in _EVENT_COLUMNS)}, place)
), events AS (
  INSERT INTO audit_event (id, {", ".join(c.name for c in _EVENT_COLUMNS)})
  SELECT id, {", ".join(c.name for c in _EVENT_COLUMNS)} FROM given
)
INSERT INTO audit_access (event_id, official_id, receipt_id, legal_basis)
SELECT given.id, a.official_id, a.receipt_id, a.legal_basis
FROM unnest(CAST(:access_place AS bigint[]), CAST(:access_official AS integer[]),
  CAST(:access_receipt AS varchar[]), CAST(:access_basis AS text[])) AS a(place, official_id, receipt_id, legal_basis)
JOIN given ON given.place = a.place"""  # noqa: S608
)


def _arrays(records: Sequence[Record]) -> dict[str, list[Any]]:
    arrays: dict[str, list[Any]] = {c.name: [r.event[c.name] for r in records] for c in _EVENT_COLUMNS}
    arrays["access_place"] = [place for place, r in enumerate(records, 1) for _ in r.accesses]
    for column, parameter in _ACCESS_COLUMNS.items():
        arrays[parameter] = [a[column] for r in records for a in r.accesses]
    return arrays


async def accesses(conn: AsyncConnection, *, official_id: int, before: int | None, limit: int) -> Sequence[Row[Any]]:
    """Who read official `official_id`'s data, newest first, before event `before`: every access but
    the official's own (through an account of theirs)."""
    own = select(ACCOUNT.c.id).where(ACCOUNT.c.official_id == official_id)
    stmt = (
        select(
            EVENT.c.id,
            EVENT.c.at,
            EVENT.c.principal_kind,
            EVENT.c.agency_code,
            AGENCY.c.name.label("agency_name"),
            EVENT.c.unit_id,
            EVENT.c.roles,
            EVENT.c.operation_type,
            EVENT.c.operation_name,
            # An access names its own receipt and bases only where they are not its event's.
            func.coalesce(ACCESS.c.receipt_id, EVENT.c.receipt_id).label("receipt_id"),
            func.coalesce(ACCESS.c.legal_basis, EVENT.c.legal_basis).label("legal_basis"),
        )
        .select_from(ACCESS.join(EVENT, EVENT.c.id == ACCESS.c.event_id))
        .outerjoin(AGENCY, AGENCY.c.code == EVENT.c.agency_code)
        .where(
            ACCESS.c.official_id == official_id,
            EVENT.c.account_id.not_in(own),
            ACCESS.c.event_id < before if before is not None else true(),
        )
        .order_by(ACCESS.c.event_id.desc())
        .limit(limit)
    )
    return (await conn.execute(stmt)).all()


@dataclass(frozen=True, slots=True)
class EventFilter:
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    agency_code: str | None = None
    username: str | None = None
    operation_name: str | None = None
    outcome: str | None = None
    official_id: int | None = None


def _matching(where: EventFilter) -> ColumnElement[bool]:
    conditions: list[ColumnElement[bool]] = []
    # In UTC, as stored: SQLite keeps an instant as text without its offset (found by review: a bound
    # given in +07:00 was compared as if it were UTC).
    if where.since is not None:
        conditions.append(EVENT.c.at >= where.since.astimezone(UTC))
    if where.until is not None:
        conditions.append(EVENT.c.at < where.until.astimezone(UTC))
    if where.agency_code is not None:
        conditions.append(EVENT.c.agency_code == where.agency_code)
    if where.username is not None:
        conditions.append(EVENT.c.username == where.username)
    if where.operation_name is not None:
        conditions.append(EVENT.c.operation_name == where.operation_name)
    if where.outcome is not None:
        conditions.append(EVENT.c.outcome == where.outcome)
    if where.official_id is not None:
        exposed = select(ACCESS.c.event_id).where(ACCESS.c.official_id == where.official_id)
        conditions.append(EVENT.c.id.in_(exposed))
    return and_(true(), *conditions)


async def events(conn: AsyncConnection, where: EventFilter, *, before: int | None, limit: int) -> Sequence[Row[Any]]:
    """Events matching `where`, newest first, before event `before`."""
    stmt = (
        select(EVENT)
        .where(_matching(where), EVENT.c.id < before if before is not None else true())
        .order_by(EVENT.c.id.desc())
        .limit(limit)
    )
    return (await conn.execute(stmt)).all()


async def officials_of(conn: AsyncConnection, event_ids: Sequence[int]) -> dict[int, list[int]]:
    """The officials each event exposed, by event id (ascending official ids)."""
    if not event_ids:
        return {}
    stmt = (
        select(ACCESS.c.event_id, ACCESS.c.official_id)
        .where(ACCESS.c.event_id.in_(event_ids))
        .order_by(ACCESS.c.event_id, ACCESS.c.official_id)
    )
    found: dict[int, list[int]] = {i: [] for i in event_ids}
    for event_id, official_id in (await conn.execute(stmt)).all():
        found[int(event_id)].append(int(official_id))
    return found


async def export(conn: AsyncConnection, where: EventFilter) -> AsyncIterator[tuple[Row[Any], list[int]]]:
    """Every event matching `where`, oldest first, each with the officials it exposed: read in chunks,
    so a year's audit streams in bounded memory."""
    after = 0
    while True:
        stmt = select(EVENT).where(_matching(where), EVENT.c.id > after).order_by(EVENT.c.id).limit(EXPORT_CHUNK)
        rows = (await conn.execute(stmt)).all()
        if not rows:
            return
        officials = await officials_of(conn, [int(row.id) for row in rows])
        for row in rows:
            yield row, officials[int(row.id)]
        after = int(rows[-1].id)
