"""Signed sync of approved data from a ministry's gateway to the national one (Decision 832: ministries
sign approved data, with the key pair MOHA issued them, before it is synchronised to the national
database).

The ministry's side (`ccvc sync export`): the approvals of a unit for a month and the records they
changed, as they stand approved, in one canonical JSON payload signed as a JWS with the ministry's key.
The national side (`POST /sync/batches`, `syncApprovedBatch`): the bundle verifies against a key
registered for the ministry it names (`ccvc ministries register-key`), touches officials of that
ministry only, passes the same checks as a proposed change (db/edits.py), and is applied once, in one
transaction: the same bundle again changes nothing. Each bundle is kept as received.
"""

import asyncio
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

import orjson
from sqlalchemy import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from db.catalog import OFFICIAL as CATALOG
from db.catalog import RECORD_FIELDS
from db.edits import normalized
from db.errors import DomainError, InvalidFields
from db.predicates import Grant, TopUnits, UnitBound
from db.queries import sync, versions
from db.queries.sync import Incoming
from db.scoping import Scope
from evidence.canonical import canonical_json
from evidence.crypto import SYNC_TYP, sign_registered, signer_kid, verify_registered
from evidence.errors import SignatureRefused
from policies.rules import SYNC
from resolvers.context import RequestContext
from resolvers.errors import Forbidden
from resolvers.ids import MAX_ID, check_text
from resolvers.months import parse_period, period_of

FORMAT: Final = "ccvc-sync/1"
_RECORD_KEYS: Final = frozenset({"code", "version", "unit", "position", "fields"})
MAX_CODE: Final = 32  # an official's number (official.code); units' codes are as short in practice
# A bundle of a ministry's month: tens of thousands of records at most, some kilobytes each.
MAX_BUNDLE_BYTES: Final = 64 * 1024 * 1024
# Statements applying a bundle takes, whatever its number of records (each statement executed for all
# of them; past a thousand rows the driver splits one into pages, which the GraphQL body's size
# keeps `syncApprovedBatch` under): the write lock, the ministry, its keys, an earlier batch, the
# officials, units and positions named, the rows updated and created, each kind of child record
# deleted and inserted, the batch, the data version, reading the batch back.
SYNC_STATEMENTS: Final = 13 + 2 * len(RECORD_FIELDS)
_FIELDS: Final = frozenset(f.name for f in CATALOG.values() if f.editable and f.kind not in ("unit", "position"))


class SyncRefused(DomainError):
    """A bundle that is not what a ministry may send: nothing of it is applied."""

    code = "SYNC_REFUSED"


@dataclass(frozen=True, slots=True)
class SyncResult:
    batch: Row[Any]
    already_applied: bool


def batch_view(result: SyncResult) -> dict[str, Any]:
    """A received batch as the API shows it (POST /sync/batches and `syncApprovedBatch`)."""
    row = result.batch
    return {
        "id": str(row.id),
        "ministry": row.ministry,
        "unit": row.unit_code,
        "period": row.period,
        "officials": row.official_count,
        "created": row.created_count,
        "payloadSha256": row.payload_sha256,
        "kid": row.kid,
        "receivedAt": row.received_at.isoformat(),
        "alreadyApplied": result.already_applied,
    }


def ministry_scope(ministry_id: int) -> Scope:
    """What the ministry's system reads and writes: its own officials (the operator's tool and the
    ministry's signature stand for it, not a person's role)."""
    return Scope(grants=(Grant(TopUnits(frozenset({ministry_id})), frozenset(), ("sync",)),))


# -- the ministry's side ------------------------------------------------------------------------------------


async def bundle_payload(
    conn: AsyncConnection, unit: Row[Any], ministry: Row[Any], period: str, now: datetime
) -> dict[str, Any]:
    """What `ccvc sync export` signs: the month's approvals of the unit's subtree and the records they
    changed, as approved now."""
    parse_period(period)
    approvals = await sync.approvals_of(conn, unit_path=unit.path, period=period)
    if not approvals:
        raise SyncRefused(f"No batch of {unit.code} (or of a unit below it) was approved for {period}")
    records = await sync.approved_records(
        conn, scope=ministry_scope(ministry.id), approval_ids=[a.id for a in approvals]
    )
    return {
        "format": FORMAT,
        "ministry": ministry.code,
        "unit": unit.code,
        "period": period,
        "issuedAt": now.isoformat(),
        "approvals": [
            {
                "unit": a.unit_code,
                "digest": a.digest,
                "signature": a.signature,
                "kid": a.kid,
                "approvedAt": a.approved_at.isoformat(),
                "changeCount": a.change_count,
            }
            for a in approvals
        ],
        "records": records,
    }


def sign_bundle(payload: Mapping[str, Any], private_pem: bytes) -> str:
    return sign_registered(private_pem, canonical_json(dict(payload)), typ=SYNC_TYP)


# -- the national side --------------------------------------------------------------------------------------


async def apply_bundle(
    conn: AsyncConnection,
    bundle: str,
    *,
    now: datetime,
    today: date,
    allowed: Callable[[Row[Any]], bool] = lambda _: True,
) -> SyncResult:
    """Verify and apply a bundle in the caller's transaction (which an error rolls back whole);
    `allowed` says whether the caller may import the named ministry's bundles at all.

    The key the header names says whose bundle it is (kids are unique across ministries): nothing of
    the payload is read before its signature verifies, so a stranger's large body costs a size check
    and a header. Verifying and parsing a large bundle runs off the event loop."""
    token = bundle.strip()
    kid = signer_kid(token, typ=SYNC_TYP, what="The bundle", max_bytes=MAX_BUNDLE_BYTES)
    found = await sync.ministry_of_key(conn, kid=kid)
    if found is None:
        raise SignatureRefused("The bundle names a key that is not registered for any ministry (`kid`)")
    ministry, public_jwk = found
    if not allowed(ministry):
        raise Forbidden(f"You may not import bundles of {ministry.code}")
    payload, digest = await asyncio.to_thread(_verified, token, kid, public_jwk)
    # One bundle of a ministry at a time (a row lock on PostgreSQL, the write lock on SQLite): the same
    # bundle sent twice at once is applied by the first and found by the second.
    await sync.lock_ministry(conn, ministry_id=ministry.id)
    kept = await sync.find_batch(conn, payload_sha256=digest)
    if kept is not None:
        return SyncResult(kept, already_applied=True)
    unit_code, period, records = _checked(payload, ministry.code, latest=period_of(now))
    await _unit_of(conn, ministry, unit_code)
    written = await _write(conn, ministry, records, now=now, today=today)
    batch_id = await sync.record_batch(
        conn,
        ministry_id=ministry.id,
        unit_code=unit_code,
        period=period,
        payload_sha256=digest,
        kid=kid,
        bundle=token,
        official_count=written.changed,
        created_count=written.created,
        now=now,
    )
    await versions.approve(conn, period=period, now=now)
    batch = await sync.find_batch(conn, payload_sha256=digest)
    assert batch is not None and batch.id == batch_id
    return SyncResult(batch, already_applied=False)


def _verified(token: str, kid: str, public_jwk: dict[str, str]) -> tuple[dict[str, Any], str]:
    """The payload once the signature verifies, and the SHA-256 that names it."""
    _, raw = verify_registered(
        token, keys={kid: public_jwk}, typ=SYNC_TYP, what="The bundle", max_bytes=MAX_BUNDLE_BYTES
    )
    return _json(raw), hashlib.sha256(raw).hexdigest()


async def _unit_of(conn: AsyncConnection, ministry: Row[Any], unit_code: str) -> None:
    if len(unit_code) > MAX_CODE or not (await sync.places(conn, ministry_id=ministry.id, unit_codes=[unit_code])):
        raise SyncRefused(f"The bundle's unit '{unit_code[:MAX_CODE]}' is not a unit of {ministry.code} here")


def _json(raw: bytes) -> dict[str, Any]:
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise SyncRefused("The bundle's payload is not JSON") from None
    if not isinstance(value, dict):
        raise SyncRefused("The bundle's payload is not a JSON object")
    return value


def _checked(payload: Mapping[str, Any], ministry: str, *, latest: str) -> tuple[str, str, list[Mapping[str, Any]]]:
    if payload.get("format") != FORMAT:
        raise SyncRefused(f"Not a bundle of this format (expected {FORMAT})")
    if payload.get("ministry") != ministry:
        raise SyncRefused("The bundle's ministry is not the one whose key signed it")
    unit, period, records = payload.get("unit"), payload.get("period"), payload.get("records")
    if not isinstance(unit, str) or not isinstance(period, str) or not isinstance(records, list):
        raise SyncRefused("The bundle needs `unit`, `period` and `records`")
    parse_period(period)
    if period > latest:
        raise SyncRefused(f"The bundle's month {period} has not begun here")
    for record in records:
        if not isinstance(record, Mapping) or set(record) != _RECORD_KEYS:
            raise SyncRefused(f"Every record of the bundle is an object of exactly {', '.join(sorted(_RECORD_KEYS))}")
        code = record["code"]
        if not isinstance(code, str) or not 0 < len(code) <= MAX_CODE or not code.isprintable() or not code.isascii():
            raise SyncRefused(f"A record's `code` must be 1 to {MAX_CODE} printable ASCII characters")
        if not isinstance(record["unit"], str) or len(record["unit"]) > MAX_CODE:
            raise SyncRefused(f"Record {code}: `unit` must be a unit's code")
    return unit, period, records


@dataclass(frozen=True, slots=True)
class Written:
    changed: int  # records written (newer than here)
    created: int  # of which new here


async def _write(
    conn: AsyncConnection, ministry: Row[Any], records: list[Mapping[str, Any]], *, now: datetime, today: date
) -> Written:
    """Every record of the bundle, checked first and written after: a refusal writes nothing. A record
    no newer than the one here (a late bundle, or one sent again re-signed) is left as it is here."""
    codes = [str(r["code"]) for r in records]
    if len(set(codes)) != len(codes):
        raise SyncRefused("The bundle holds the same record twice")
    # Read through the ministry's scope: a record of another ministry is "new" here, and creating it fails
    # on its number, which another record holds (below).
    existing = await sync.officials_by_code(conn, scope=ministry_scope(ministry.id), codes=codes)
    units = await sync.places(conn, ministry_id=ministry.id, unit_codes=[str(r["unit"]) for r in records])
    positions = await sync.positions_in(conn, unit_ids=[u.id for u in units.values()])
    incoming = [_plan(record, existing, units, positions, today) for record in records]
    newer = [r for r in incoming if r.official_id is None or r.version > existing[r.code].version]
    try:
        await sync.write_records(conn, ministry_id=ministry.id, records=newer, now=now)
    except IntegrityError:
        raise SyncRefused(
            "The bundle gives a record a number or personal id another record holds here: an official of "
            "another ministry or province, or another official"
        ) from None
    return Written(changed=len(newer), created=sum(1 for r in newer if r.official_id is None))


def _plan(
    record: Mapping[str, Any],
    existing: Mapping[str, Row[Any]],
    units: Mapping[str, Row[Any]],
    positions: Mapping[tuple[int, str], int],
    today: date,
) -> Incoming:
    code = str(record["code"])
    unit = units.get(str(record.get("unit")))
    if unit is None:
        raise SyncRefused(f"Record {code}: its unit '{record.get('unit')}' is not a unit of the ministry here")
    position = record.get("position")
    position_id = None if position is None else positions.get((unit.id, str(position)))
    if position is not None and position_id is None:
        raise SyncRefused(f"Record {code}: no position '{position}' in unit {unit.code} here")
    version, fields = record.get("version"), record.get("fields")
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= MAX_ID:
        raise SyncRefused(f"Record {code}: `version` must be a whole number from 1 to {MAX_ID}")
    if not isinstance(fields, Mapping) or set(fields) != _FIELDS:
        raise SyncRefused(f"Record {code}: `fields` must hold every field of the record, and no other")
    try:
        changes = normalized(_as_input(fields), today=today)
    except InvalidFields as wrong:
        raise SyncRefused(f"Record {code}: {wrong.message}") from None
    official = existing.get(code)
    return Incoming(None if official is None else official.id, code, version, unit.id, position_id, changes)


def _as_input(fields: Mapping[str, Any]) -> dict[str, object]:
    """The JSON form back to the values a change takes (dates as dates), to pass the same checks."""
    values: dict[str, object] = {}
    for name, value in fields.items():
        field = CATALOG[name]
        if field.records is not None and isinstance(value, list):
            dates = {c.name for c in RECORD_FIELDS[field.records] if c.value == "date"}
            values[name] = [
                {k: _date(v) if k in dates else v for k, v in entry.items()} if isinstance(entry, dict) else entry
                for entry in value
            ]
        else:
            values[name] = _date(value) if field.value == "date" else value
    return values


def _date(value: object) -> object:
    if not isinstance(value, str):
        return value
    try:
        return date.fromisoformat(value)
    except ValueError:
        return value  # refused as a date by the checks, with the field named


async def resolve_sync_approved_batch(ctx: RequestContext, bundle: str) -> SyncResult:
    """`syncApprovedBatch`: a bundle received another way (on a medium, by mail), imported by the national
    administrator (policy: `sync`); a ministry's system sends it to POST /sync/batches itself."""
    scope = ctx.scope_to(SYNC)
    if not scope.grants:
        raise Forbidden("Only the national administrator imports a ministry's bundle here")
    async with ctx.write() as conn:
        return await apply_bundle(
            conn,
            check_text(bundle, "bundle"),
            now=ctx.calendar.now(),
            today=ctx.calendar.today(),
            allowed=lambda ministry: scope.covers(UnitBound(ministry.path, ministry.id)),
        )
