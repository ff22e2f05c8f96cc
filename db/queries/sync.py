"""Approved records moving from a ministry's gateway to the national one (Decision 832): what a bundle
holds, read on the ministry's side, and how it is written on the national side.

A record travels by its number (số hiệu, `code`), its unit by code and its position by code within
that unit: ids differ from one database to the other. Both sides read officials through a scope (the
ministry's whole top-level unit).
"""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Row, bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from db.catalog import OFFICIAL as CATALOG
from db.catalog import RecordKind
from db.edits import Json, column_values, json_value, record_json, record_kinds, record_rows
from db.models import MinistryKey, Position, SyncBatch, table_of
from db.queries import keys
from db.queries.changes import APPROVAL, VERSION
from db.queries.records import table_of_kind
from db.scoping import OFFICIAL, UNIT, Scope, official_filter

MINISTRY_KEY: Final = table_of(MinistryKey)
BATCH: Final = table_of(SyncBatch)
POSITION: Final = table_of(Position)
# The fields a bundle's record carries as they are (in the JSON form of db/edits.py); its unit and
# position travel as codes, its number and version beside them.
_AS_THEY_ARE: Final = tuple(f for f in CATALOG.values() if f.editable and f.kind not in ("unit", "position"))
_KINDS: Final = tuple(f.records for f in _AS_THEY_ARE if f.records is not None)


async def add_ministry_key(
    conn: AsyncConnection, *, ministry_id: int, kid: str, public_jwk: dict[str, str], now: datetime
) -> None:
    await keys.add(conn, MINISTRY_KEY, owner="unit_id", owner_id=ministry_id, kid=kid, public_jwk=public_jwk, now=now)


async def ministry_of_key(conn: AsyncConnection, *, kid: str) -> tuple[Row[Any], dict[str, str]] | None:
    """The ministry an active key is registered for, and the key (kids are unique across ministries)."""
    stmt = (
        select(UNIT, MINISTRY_KEY.c.public_jwk)
        .join(MINISTRY_KEY, MINISTRY_KEY.c.unit_id == UNIT.c.id)
        .where(MINISTRY_KEY.c.kid == kid, MINISTRY_KEY.c.revoked_at.is_(None))
    )
    row = (await conn.execute(stmt)).first()
    return None if row is None else (row, json.loads(row.public_jwk))


async def lock_ministry(conn: AsyncConnection, *, ministry_id: int) -> None:
    """Hold the ministry's row until the transaction ends: its bundles are applied one at a time."""
    await conn.execute(update(UNIT).where(UNIT.c.id == ministry_id).values(code=UNIT.c.code))


# -- the ministry's side: what a bundle holds ---------------------------------------------------------------


async def approvals_of(conn: AsyncConnection, *, unit_path: str, period: str) -> list[Row[Any]]:
    """The approvals of a month for a unit and the units below it, oldest first."""
    stmt = (
        select(APPROVAL, UNIT.c.code.label("unit_code"))
        .join(UNIT, UNIT.c.id == APPROVAL.c.unit_id)
        .where(APPROVAL.c.period == period, UNIT.c.path.startswith(unit_path, autoescape=True))
        .order_by(APPROVAL.c.id)
    )
    return list((await conn.execute(stmt)).all())


async def approved_records(
    conn: AsyncConnection, *, scope: Scope, approval_ids: Sequence[int]
) -> list[dict[str, Json]]:
    """The records those approvals changed, as they stand approved, in the bundle's form."""
    changed = select(VERSION.c.official_id).where(VERSION.c.approval_id.in_(sorted(approval_ids)))
    stmt = (
        select(OFFICIAL, UNIT.c.code.label("unit_code"), POSITION.c.code.label("position_code"))
        .join(UNIT, UNIT.c.id == OFFICIAL.c.unit_id)
        .outerjoin(POSITION, POSITION.c.id == OFFICIAL.c.position_id)
        .where(official_filter(scope), OFFICIAL.c.id.in_(changed))
        .order_by(OFFICIAL.c.code)
    )
    rows = list((await conn.execute(stmt)).all())
    children = {kind: await _children(conn, kind, [row.id for row in rows]) for kind in _KINDS}
    return [_record(row, {kind: children[kind].get(row.id, []) for kind in _KINDS}) for row in rows]


async def _children(conn: AsyncConnection, kind: RecordKind, official_ids: list[int]) -> dict[int, list[Any]]:
    table, order = table_of_kind(kind)
    stmt = (
        select(table)
        .where(table.c.official_id.in_(official_ids))
        .order_by(table.c.official_id, table.c[order], table.c.id)
    )
    grouped: dict[int, list[Any]] = {}
    for row in (await conn.execute(stmt)).all():
        grouped.setdefault(row.official_id, []).append(row)
    return grouped


def _record(row: Row[Any], children: Mapping[RecordKind, list[Any]]) -> dict[str, Json]:
    fields: dict[str, Json] = {}
    for field in _AS_THEY_ARE:
        if field.records is not None:
            fields[field.name] = record_json(field.records, children[field.records])
        else:
            fields[field.name] = json_value(field, getattr(row, field.column))
    return {
        "code": row.code,
        "version": row.version,
        "unit": row.unit_code,
        "position": row.position_code,
        "fields": fields,
    }


# -- the national side: applying a bundle -------------------------------------------------------------------


async def find_batch(conn: AsyncConnection, *, payload_sha256: str) -> Row[Any] | None:
    stmt = select(BATCH, UNIT.c.code.label("ministry")).join(UNIT, UNIT.c.id == BATCH.c.ministry_id)
    return (await conn.execute(stmt.where(BATCH.c.payload_sha256 == payload_sha256))).first()


async def unit_by_code(conn: AsyncConnection, *, code: str) -> Row[Any] | None:
    return (await conn.execute(select(UNIT).where(UNIT.c.code == code))).first()


async def unit_by_id(conn: AsyncConnection, *, unit_id: int) -> Row[Any] | None:
    return (await conn.execute(select(UNIT).where(UNIT.c.id == unit_id))).first()


async def top_unit(conn: AsyncConnection, *, code: str) -> Row[Any] | None:
    """A ministry or province by code (units are the public shape of the state apparatus)."""
    stmt = select(UNIT).where(UNIT.c.code == code, UNIT.c.parent_id.is_(None))
    return (await conn.execute(stmt)).first()


async def places(conn: AsyncConnection, *, ministry_id: int, unit_codes: Sequence[str]) -> dict[str, Row[Any]]:
    """The units of the ministry with these codes (a code of another ministry is simply absent)."""
    stmt = select(UNIT).where(UNIT.c.top_unit_id == ministry_id, UNIT.c.code.in_(sorted(set(unit_codes))))
    return {row.code: row for row in await conn.execute(stmt)}


async def positions_in(conn: AsyncConnection, *, unit_ids: Sequence[int]) -> dict[tuple[int, str], int]:
    stmt = select(POSITION.c.id, POSITION.c.unit_id, POSITION.c.code).where(
        POSITION.c.unit_id.in_(sorted(set(unit_ids)))
    )
    return {(row.unit_id, row.code): row.id for row in await conn.execute(stmt)}


async def officials_by_code(conn: AsyncConnection, *, scope: Scope, codes: Sequence[str]) -> dict[str, Row[Any]]:
    """The officials of the scope (the ministry's) with these numbers: a number held outside it is not
    found, and writing it as a new record fails on its uniqueness."""
    stmt = select(OFFICIAL.c.id, OFFICIAL.c.code, OFFICIAL.c.version).where(
        official_filter(scope), OFFICIAL.c.code.in_(sorted(set(codes)))
    )
    return {row.code: row for row in await conn.execute(stmt)}


@dataclass(frozen=True, slots=True)
class Incoming:
    """One record of a bundle, checked and placed here: the official it updates (None: a new one)."""

    official_id: int | None
    code: str
    version: int
    unit_id: int
    position_id: int | None
    changes: Mapping[str, Json]


async def write_records(conn: AsyncConnection, *, ministry_id: int, records: Sequence[Incoming], now: datetime) -> None:
    """The records as the ministry approved them: rows updated or created, child records replaced. A
    few statements for the whole bundle, whatever its size (each executed for all its rows)."""
    rows = [_row(r, ministry_id, now) for r in records]
    updates = [
        {"b_id": r.official_id, **row} for r, row in zip(records, rows, strict=True) if r.official_id is not None
    ]
    if updates:
        await conn.execute(update(OFFICIAL).where(OFFICIAL.c.id == bindparam("b_id")), updates)
    new = [{"code": r.code, **row} for r, row in zip(records, rows, strict=True) if r.official_id is None]
    ids = {r.code: r.official_id for r in records if r.official_id is not None}
    if new:
        inserted = await conn.execute(
            insert(OFFICIAL).returning(OFFICIAL.c.id, OFFICIAL.c.code, sort_by_parameter_order=True), new
        )
        ids |= {row.code: row.id for row in inserted}
    for kind in _KINDS:
        table, _ = table_of_kind(kind)
        await conn.execute(delete(table).where(table.c.official_id.in_(sorted(ids.values()))))
        entries = [row for r in records for row in record_rows(kind, record_kinds(r.changes)[kind], ids[r.code])]
        if entries:
            await conn.execute(insert(table), entries)


def _row(record: Incoming, ministry_id: int, now: datetime) -> dict[str, Any]:
    values = column_values({k: v for k, v in record.changes.items() if CATALOG[k].kind != "records"})
    place = {"unit_id": record.unit_id, "top_unit_id": ministry_id, "position_id": record.position_id}
    return values | place | {"version": record.version, "updated_at": now}


async def record_batch(
    conn: AsyncConnection,
    *,
    ministry_id: int,
    unit_code: str,
    period: str,
    payload_sha256: str,
    kid: str,
    bundle: str,
    official_count: int,
    created_count: int,
    now: datetime,
) -> int:
    values = {
        "ministry_id": ministry_id,
        "unit_code": unit_code,
        "period": period,
        "payload_sha256": payload_sha256,
        "kid": kid,
        "bundle": bundle,
        "official_count": official_count,
        "created_count": created_count,
        "received_at": now,
    }
    return int((await conn.execute(insert(BATCH).values(**values).returning(BATCH.c.id))).scalar_one())
