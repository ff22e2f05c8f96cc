"""Pending changes, approvals and record versions (db/models/changes.py).

Every read of changes joins the official they are about and applies the scope given (the principal's
scope for the action: reviewing, approving; policies/), so a change of an official outside it is not
found, like the official. Applying an approval writes the approved record; it runs inside the caller's
transaction, with the rest of the approval.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Row, Select, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import aliased

from db.catalog import OFFICIAL as CATALOG
from db.catalog import RecordKind
from db.edits import Json, column_values, json_value, record_json, record_kinds, record_rows
from db.models import Account, Approval, OfficialVersion, PendingChange, Position, table_of
from db.queries.records import table_of_kind
from db.scoping import OFFICIAL, UNIT, Scope, official_filter, subtree_filter

CHANGE: Final = table_of(PendingChange)
APPROVAL: Final = table_of(Approval)
VERSION: Final = table_of(OfficialVersion)
ACCOUNT: Final = table_of(Account)
POSITION: Final = table_of(Position)
PENDING: Final = "pending"
STATUSES: Final = ("pending", "withdrawn", "rejected", "approved")

_PROPOSER = aliased(ACCOUNT, name="proposer")
_DECIDER = aliased(ACCOUNT, name="decider")


def _changes(scope: Scope) -> Select[Any]:
    """Changes with what a reader needs beside them: the official's place (unit, top-level unit, path),
    who proposed and who decided (usernames), through `scope`."""
    return (
        select(
            CHANGE,
            OFFICIAL.c.unit_id,
            OFFICIAL.c.top_unit_id,
            OFFICIAL.c.code.label("official_code"),
            UNIT.c.path.label("unit_path"),
            _PROPOSER.c.username.label("proposed_by"),
            _DECIDER.c.username.label("decided_by"),
        )
        .join(OFFICIAL, OFFICIAL.c.id == CHANGE.c.official_id)
        .join(UNIT, UNIT.c.id == OFFICIAL.c.unit_id)
        .join(_PROPOSER, _PROPOSER.c.id == CHANGE.c.proposed_by_id)
        .outerjoin(_DECIDER, _DECIDER.c.id == CHANGE.c.decided_by_id)
        .where(official_filter(scope))
    )


async def create(
    conn: AsyncConnection,
    *,
    official_id: int,
    changes: Mapping[str, Json],
    reason: str,
    content_sha256: str,
    base_version: int,
    proposed_by_id: int,
    now: datetime,
) -> int:
    values = {
        "official_id": official_id,
        "changes": dict(changes),
        "reason": reason,
        "content_sha256": content_sha256,
        "base_version": base_version,
        "proposed_by_id": proposed_by_id,
        "proposed_at": now,
        "status": PENDING,
    }
    return int((await conn.execute(insert(CHANGE).values(**values).returning(CHANGE.c.id))).scalar_one())


async def get(conn: AsyncConnection, *, scope: Scope, change_id: int) -> Row[Any] | None:
    return (await conn.execute(_changes(scope).where(CHANGE.c.id == change_id))).first()


async def of_officials(
    conn: AsyncConnection, *, scope: Scope, official_ids: Sequence[int], status: str | None = PENDING
) -> list[Row[Any]]:
    """Changes of these officials, oldest first (all of them when `status` is None)."""
    stmt = _changes(scope).where(CHANGE.c.official_id.in_(sorted(set(official_ids))))
    if status is not None:
        stmt = stmt.where(CHANGE.c.status == status)
    return list((await conn.execute(stmt.order_by(CHANGE.c.official_id, CHANGE.c.id))).all())


async def in_subtree(
    conn: AsyncConnection,
    *,
    scope: Scope,
    unit_path: str,
    top_unit_id: int,
    proposed_before: datetime | None = None,
    after: int | None = None,
    limit: int | None = None,
) -> list[Row[Any]]:
    """Pending changes of the officials of a unit's subtree, oldest first; with `proposed_before`, only
    those proposed before it (a month's batch); with `after`, those after that change id (a page)."""
    stmt = _changes(scope).where(CHANGE.c.status == PENDING, subtree_filter(unit_path, top_unit_id=top_unit_id))
    if proposed_before is not None:
        stmt = stmt.where(CHANGE.c.proposed_at < proposed_before)
    if after is not None:
        stmt = stmt.where(CHANGE.c.id > after)
    stmt = stmt.order_by(CHANGE.c.id)
    return list((await conn.execute(stmt if limit is None else stmt.limit(limit))).all())


async def decide(
    conn: AsyncConnection, *, change_id: int, status: str, by_id: int, now: datetime, note: str | None = None
) -> bool:
    """Move a pending change to `status` (withdrawn, rejected); False when it is no longer pending
    (a concurrent decision or approval got there first)."""
    stmt = (
        update(CHANGE)
        .where(CHANGE.c.id == change_id, CHANGE.c.status == PENDING)
        .values(status=status, decided_by_id=by_id, decided_at=now, decision_note=note)
    )
    return bool((await conn.execute(stmt)).rowcount)


async def find_approval(conn: AsyncConnection, *, unit_id: int, period: str, digest: str) -> Row[Any] | None:
    """The approval of this unit's batch for this month with this digest, with its approver's username."""
    stmt = (
        select(APPROVAL, ACCOUNT.c.username.label("approved_by"))
        .join(ACCOUNT, ACCOUNT.c.id == APPROVAL.c.approved_by_id)
        .where(APPROVAL.c.unit_id == unit_id, APPROVAL.c.period == period, APPROVAL.c.digest == digest)
    )
    return (await conn.execute(stmt.order_by(APPROVAL.c.id))).first()


async def record_approval(
    conn: AsyncConnection,
    *,
    unit_id: int,
    period: str,
    digest: str,
    signature: str,
    kid: str,
    approved_by_id: int,
    now: datetime,
    change_ids: Sequence[int],
) -> int:
    """The approval, and its changes marked approved by it. Every change must still be pending: a
    change decided meanwhile makes the count differ, and the caller's transaction is then rolled back."""
    values = {
        "unit_id": unit_id,
        "period": period,
        "digest": digest,
        "signature": signature,
        "kid": kid,
        "approved_by_id": approved_by_id,
        "approved_at": now,
        "change_count": len(change_ids),
    }
    try:
        async with conn.begin_nested():  # one approval per batch: a second one racing this one fails here
            inserted = await conn.execute(insert(APPROVAL).values(**values).returning(APPROVAL.c.id))
            approval_id = int(inserted.scalar_one())
    except IntegrityError:
        raise ConcurrentDecision from None
    if change_ids:
        marked = await conn.execute(
            update(CHANGE)
            .where(CHANGE.c.id.in_(sorted(change_ids)), CHANGE.c.status == PENDING)
            .values(status="approved", decided_by_id=approved_by_id, decided_at=now, approval_id=approval_id)
        )
        if marked.rowcount != len(set(change_ids)):
            raise ConcurrentDecision
    return approval_id


class ConcurrentDecision(Exception):
    """A change of the batch was withdrawn, rejected or approved by someone else while it was applied."""


class ChangeConflict(Exception):
    """A change of the batch cannot be applied as it stands: it gives a record another record's personal
    id, or, merged with the others, puts an official on a position of another unit."""

    def __init__(self, change_id: int, reason: str) -> None:
        super().__init__(f"change {change_id} {reason}")
        self.change_id = change_id
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Approved:
    """What one approval applies to one official: its changes in the order they were proposed (a later
    one wins on the same field), and their ids."""

    official_id: int
    change_ids: tuple[int, ...]
    changes: tuple[Mapping[str, Json], ...]

    def merged(self) -> dict[str, Json]:
        merged: dict[str, Json] = {}
        for change in self.changes:
            merged.update(change)
        return merged


async def apply(
    conn: AsyncConnection,
    *,
    scope: Scope,
    approved: Sequence[Approved],
    approval_id: int,
    approved_by_id: int,
    now: datetime,
) -> None:
    """Write the approved changes to the record, count each official's version up, and keep what was
    replaced as a version of the record. A few statements for the whole batch, whatever its size: the
    officials (read through `scope`, the approver's, and locked), each kind of child record replaced
    (read, deleted, inserted), the rows updated, the versions inserted."""
    if not approved:
        return
    ids = sorted(a.official_id for a in approved)
    # Locked (PostgreSQL) until the approval commits: another batch over the same official waits, then
    # reads the version this one wrote. SQLite's write transaction holds the whole database already.
    stmt = select(OFFICIAL).where(OFFICIAL.c.id.in_(ids), official_filter(scope)).order_by(OFFICIAL.c.id)
    rows = {row.id: row for row in (await conn.execute(stmt.with_for_update())).all()}
    if len(rows) != len(ids):
        raise ConcurrentDecision  # an official moved out of the approver's reach since the batch was read
    await _check_unique(conn, approved)
    await _check_places(conn, approved, rows)
    merged = {a.official_id: a.merged() for a in approved}
    before = await _records_before(conn, merged)
    await conn.execute(update(OFFICIAL).where(OFFICIAL.c.id == bindparam("b_id")), _row_updates(rows, merged, now))
    await _replace_records(conn, merged)
    versions = [
        {
            "official_id": a.official_id,
            "version": rows[a.official_id].version + 1,
            "approval_id": approval_id,
            "approved_at": now,
            "approved_by_id": approved_by_id,
            "change_ids": list(a.change_ids),
            "changes": _replaced(rows[a.official_id], merged[a.official_id], before.get(a.official_id, {})),
            "previous": {
                name: json_value(f, getattr(rows[a.official_id], f.column)) for name, f in _ROW_FIELDS.items()
            },
        }
        for a in approved
    ]
    await conn.execute(insert(VERSION), versions)


# Fields whose value names one record (their column is unique): a change must not give one another's.
_UNIQUE: Final = {
    f.name: f.column for f in CATALOG.values() if f.editable and f.kind != "records" and OFFICIAL.c[f.column].unique
}


async def _check_unique(conn: AsyncConnection, approved: Sequence[Approved]) -> None:
    """Refuse (UniqueValueTaken, naming the change) a value of a unique field that another record
    holds or another change of the batch sets: the database would refuse the whole batch anyway."""
    claimed: dict[tuple[str, Json], tuple[int, int]] = {}  # (field, value) -> (official, change)
    for a in approved:
        for change_id, change in zip(a.change_ids, a.changes, strict=True):
            for name in _UNIQUE.keys() & change.keys():
                holder = claimed.setdefault((name, change[name]), (a.official_id, change_id))
                if holder[0] != a.official_id:
                    raise ChangeConflict(change_id, f"sets `{name}` to a value another record holds")
    for name, column in _UNIQUE.items():
        wanted = {value: owner for (field, value), owner in claimed.items() if field == name and value is not None}
        if not wanted:
            continue
        stmt = select(OFFICIAL.c.id, OFFICIAL.c[column]).where(OFFICIAL.c[column].in_(sorted(wanted)))
        for row in await conn.execute(stmt):
            official_id, change_id = wanted[row[1]]
            if row.id != official_id:
                raise ChangeConflict(change_id, f"sets `{name}` to a value another record holds")


async def _check_places(conn: AsyncConnection, approved: Sequence[Approved], rows: Mapping[int, Row[Any]]) -> None:
    """Each official's position, once the batch's changes are merged, is a position of their unit: a
    move checked against the unit approved before (proposeChange's check) may meet another change."""
    wanted: dict[int, tuple[int, int, int]] = {}  # official -> (unit, position, the last change placing them)
    for a in approved:
        placing = [i for i, c in zip(a.change_ids, a.changes, strict=True) if {"unit", "position"} & c.keys()]
        if not placing:
            continue
        merged, row = a.merged(), rows[a.official_id]
        position = merged.get("position", row.position_id)
        if position is not None:
            wanted[a.official_id] = (merged.get("unit", row.unit_id), position, placing[-1])
    if not wanted:
        return
    stmt = select(POSITION.c.id, POSITION.c.unit_id).where(POSITION.c.id.in_(sorted(p for _, p, _ in wanted.values())))
    units_of = {row.id: row.unit_id for row in await conn.execute(stmt)}
    for unit, position, change_id in wanted.values():
        if units_of.get(position) != unit:
            raise ChangeConflict(
                change_id, "leaves the official on a position of another unit, with the batch's other changes"
            )


# The fields kept whole in a version's `previous`: every column of the row the catalog names.
_ROW_FIELDS: Final = {name: field for name, field in CATALOG.items() if field.kind != "records"}
# Every column a change may set, written for every official of a batch: one UPDATE, executed for all.
_SET_COLUMNS: Final = tuple(f.column for f in CATALOG.values() if f.editable and f.kind != "records")


def _row_updates(
    rows: Mapping[int, Row[Any]], merged: Mapping[int, Mapping[str, Json]], now: datetime
) -> list[dict[str, Any]]:
    updates = []
    for official_id, changes in merged.items():
        row = rows[official_id]
        values = {column: getattr(row, column) for column in _SET_COLUMNS} | column_values(changes)
        updates.append({"b_id": official_id, **values, "version": row.version + 1, "updated_at": now})
    return updates


async def _records_before(
    conn: AsyncConnection, merged: Mapping[int, Mapping[str, Json]]
) -> dict[int, dict[str, list[dict[str, Json]]]]:
    """The child records each official had, of the kinds its changes replace (one read per kind)."""
    before: dict[int, dict[str, list[dict[str, Json]]]] = {}
    for kind, official_ids in _kinds(merged).items():
        table, order = table_of_kind(kind)
        stmt = (
            select(table)
            .where(table.c.official_id.in_(official_ids))
            .order_by(table.c.official_id, table.c[order], table.c.id)
        )
        grouped: dict[int, list[Any]] = {i: [] for i in official_ids}
        for row in (await conn.execute(stmt)).all():
            grouped[row.official_id].append(row)
        for official_id, rows in grouped.items():
            before.setdefault(official_id, {})[kind] = record_json(kind, rows)
    return before


async def _replace_records(conn: AsyncConnection, merged: Mapping[int, Mapping[str, Json]]) -> None:
    for kind, official_ids in _kinds(merged).items():
        table, _ = table_of_kind(kind)
        await conn.execute(delete(table).where(table.c.official_id.in_(official_ids)))
        rows = [row for i in official_ids for row in record_rows(kind, record_kinds(merged[i])[kind], i)]
        if rows:
            await conn.execute(insert(table), rows)


def _kinds(merged: Mapping[int, Mapping[str, Json]]) -> dict[RecordKind, list[int]]:
    """Each kind of child record some change replaces, with the officials whose it replaces."""
    kinds: dict[RecordKind, list[int]] = {}
    for official_id in sorted(merged):
        for kind in record_kinds(merged[official_id]):
            kinds.setdefault(kind, []).append(official_id)
    return kinds


def _replaced(row: Row[Any], changes: Mapping[str, Json], records: Mapping[str, Json]) -> list[dict[str, Json]]:
    """What a version lists: each field whose value changed, from what to what."""
    listed: list[dict[str, Json]] = []
    for name, value in changes.items():
        field = CATALOG[name]
        before = records[field.records] if field.records is not None else json_value(field, getattr(row, field.column))
        if before != value:
            listed.append({"field": name, "from": before, "to": value})
    return listed


async def versions_of(conn: AsyncConnection, *, scope: Scope, official_ids: Sequence[int]) -> list[Row[Any]]:
    """The versions approvals made of these officials' records, newest first, through `scope`."""
    stmt = (
        select(VERSION, ACCOUNT.c.username.label("approved_by"), APPROVAL.c.period)
        .join(OFFICIAL, OFFICIAL.c.id == VERSION.c.official_id)
        .join(ACCOUNT, ACCOUNT.c.id == VERSION.c.approved_by_id)
        .join(APPROVAL, APPROVAL.c.id == VERSION.c.approval_id)
        .where(official_filter(scope), VERSION.c.official_id.in_(sorted(set(official_ids))))
        .order_by(VERSION.c.official_id, VERSION.c.version.desc())
    )
    return list((await conn.execute(stmt)).all())
