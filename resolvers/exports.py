"""`exportOfficials`: officials in the caller's scope as a CSV or JSON Lines file, with a receipt over the
file's exact bytes; the file waits for its requester at GET /exports/{id} until it expires.

The first column is always the official's `id`. The others are the fields asked for or, by default, every
exportable field the caller may read on some official the export can hold (its scope, folded over the
filter's unit): like reads, a grant over a few more officials adds columns and never takes one away.
Code fields export the code and its label; unit and position export code and name.

On a row where the caller may not read a field, the field's cells are empty and the row's last cell,
`withheld`, names it (CSV: names joined with "; "; JSON Lines: a list): a blank is missing data exactly
when its field is not named there. The `withheld` column is present whenever some exported field is
unreadable on some row the export can hold, and absent when every one is readable on every such row.
"""

import asyncio
import csv
import hashlib
import io
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any, Final

import orjson
from sqlalchemy import Row

from db.catalog import OFFICIAL_FIELDS
from db.errors import BadInput
from db.queries import exports, officials
from db.queries.officials import OfficialFilter, Ordering
from db.scoping import UnitBound
from evidence.records import Exposure, draft_for
from resolvers.codes import labeller
from resolvers.context import RequestContext
from resolvers.errors import ForbiddenField
from resolvers.officials import OfficialFilterArgs, check_filter, to_filter

MAX_EXPORT_ROWS: Final = 50_000
DEFAULT_EXPORT_ROWS: Final = 1_000
EXPORT_TTL: Final = timedelta(hours=24)
_CHUNK: Final = 5_000
FORMATS: Final = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson", "pdf": "application/pdf"}
# The formats of a table of officials (`exportOfficials`); a PDF is one official's CV (resolvers/cv.py).
TABLES: Final = ("csv", "jsonl")
WITHHELD: Final = "withheld"
# Exports one request may start (schema/cost.py counts them before anything runs): each reads up to
# MAX_EXPORT_ROWS rows, and several in one request would hold the database from everyone else.
MAX_EXPORTS_PER_REQUEST: Final = 1
# Statements storing a file with its receipt: the write lock (on SQLite), the receipt's two (next index
# with the data version, leaf), expired files, the file (tests/schema/test_limits.py holds exports to this).
_STORING: Final = 5

# What an export can hold, from the one list of an official's fields (db.catalog): plain columns, coded
# ones (exported as `<field>` and `<field>Label`) and references (`<field>Code` and `<field>Name` of the
# unit or position); child records are not columns.
_PLAIN: Final = {f.name: f.column for f in OFFICIAL_FIELDS if f.kind == "plain"}
_CODED: Final = {f.name: (f.codes or "", f.column) for f in OFFICIAL_FIELDS if f.kind == "code"}
_REFERENCES: Final = {f.name: f.column for f in OFFICIAL_FIELDS if f.kind in ("unit", "position")}
EXPORTABLE: Final = (*_PLAIN, *_CODED, *_REFERENCES)
_COLUMN: Final = {f.name: f.column for f in OFFICIAL_FIELDS if f.name in EXPORTABLE}


@dataclass(frozen=True, slots=True)
class ExportRequest:
    format: str  # csv | jsonl
    fields: Sequence[str] | None
    limit: int
    filter: OfficialFilterArgs | None


@dataclass(frozen=True, slots=True)
class ExportResult:
    id: str
    format: str
    fields: list[str]
    columns: list[str]
    row_count: int
    byte_size: int
    sha256: str
    receipt: str
    receipt_id: str
    created_at: datetime
    expires_at: datetime

    @property
    def url(self) -> str:
        return f"/exports/{self.id}"


def _chosen_fields(ctx: RequestContext, fields: Sequence[str] | None, bound: UnitBound | None) -> list[str]:
    if fields is None:
        return [name for name in EXPORTABLE if f"Official.{name}" in ctx.scope.fields_within(bound)]
    unknown = sorted(set(fields) - set(EXPORTABLE))
    if unknown:
        raise BadInput(f"Cannot export {unknown}; exportable fields: {', '.join(EXPORTABLE)}")
    for name in fields:
        if f"Official.{name}" not in ctx.scope.fields:
            raise ForbiddenField(f"Exporting `{name}`: you may not read it on any official in your scope")
    return list(dict.fromkeys(fields))


def _may_withhold(ctx: RequestContext, fields: Sequence[str], bound: UnitBound | None) -> bool:
    everywhere = ctx.scope.everywhere_within(bound)
    return any(f"Official.{name}" not in everywhere for name in fields)


def _headers(fields: Sequence[str], withheld: bool) -> list[str]:
    headers = ["id"]  # always first: the official's API id, which the receipt's `ids_sha256` hashes
    for name in fields:
        if name in _CODED:
            headers += [name, f"{name}Label"]
        elif name in _REFERENCES:
            headers += [f"{name}Code", f"{name}Name"]
        else:
            headers.append(name)
    return [*headers, WITHHELD] if withheld else headers


async def _references(ctx: RequestContext, rows: Sequence[Row[Any]], fields: Sequence[str]) -> dict[str, Any]:
    """Units and positions the rows point at where the caller may read them, loaded once per distinct id."""
    found: dict[str, Any] = {}
    for name in fields:
        if name not in _REFERENCES:
            continue
        pointed = {getattr(row, _REFERENCES[name]) for row in rows if _readable(ctx, row, name)}
        ids = sorted(pointed - {None})
        loader = ctx.loaders.position_by_id if name == "position" else ctx.loaders.unit_by_id
        found[name] = dict(zip(ids, await loader.load_many(ids), strict=True))
    return found


def _readable(ctx: RequestContext, row: Row[Any], name: str) -> bool:
    return f"Official.{name}" in ctx.scope.readable(row.grants)


@dataclass(frozen=True, slots=True)
class _Column:
    """How one exported field writes its cells, worked out once per export, not once per cell."""

    name: str
    policy: str
    cells: Callable[[Row[Any], dict[str, Any]], list[Any]]  # (row, references) -> its cells
    width: int


def _columns(fields: Sequence[str]) -> list[_Column]:
    columns = []
    for name in fields:
        if name in _CODED:
            label, column = labeller(_CODED[name][0]), _CODED[name][1]
            cells = partial(_coded_cells, label, column)
        elif name in _REFERENCES:
            cells = partial(_referenced_cells, name, _REFERENCES[name])
        else:
            cells = partial(_plain_cells, _PLAIN[name])
        columns.append(_Column(name, f"Official.{name}", cells, 2 if name in _CODED or name in _REFERENCES else 1))
    return columns


def _plain_cells(column: str, row: Row[Any], _: dict[str, Any]) -> list[Any]:
    return [getattr(row, column)]


def _coded_cells(label: Callable[[Any], Any], column: str, row: Row[Any], _: dict[str, Any]) -> list[Any]:
    return _code_cells(label(getattr(row, column)))


def _referenced_cells(name: str, column: str, row: Row[Any], references: dict[str, Any]) -> list[Any]:
    return _reference_cells(references[name].get(getattr(row, column)))


def _cells(
    ctx: RequestContext, row: Row[Any], columns: Sequence[_Column], references: dict[str, Any], withheld: bool
) -> list[Any]:
    cells: list[Any] = [str(row.id)]
    unreadable: list[str] = []
    readable = ctx.scope.readable(row.grants)  # once per row (and worked out once per mask)
    for column in columns:
        if column.policy in readable:
            cells += column.cells(row, references)
        else:
            unreadable.append(column.name)
            cells += [None] * column.width
    return [*cells, unreadable] if withheld else cells


def _code_cells(value: Any) -> list[Any]:
    return [None, None] if value is None else [value.code, value.label]


def _reference_cells(target: Row[Any] | None) -> list[Any]:
    if target is None:
        return [None, None]
    return [target.code, getattr(target, "name", None) or getattr(target, "title", None)]


def _text(value: Any) -> Any:
    """A cell as JSON sees it: dates ISO 8601, decimals as exact strings (as the API returns them)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, date | Decimal):
        return value.isoformat() if isinstance(value, date) else str(value)
    return value


def render(format: str, headers: Sequence[str], rows: Sequence[list[Any]]) -> bytes:
    """CSV (RFC 4180, header row, UTF-8, lists joined with "; ") or JSON Lines (one object per official)."""
    if format == "jsonl":
        return b"".join(orjson.dumps(dict(zip(headers, map(_text, cells), strict=True))) + b"\n" for cells in rows)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(headers)
    for cells in rows:
        writer.writerow(["; ".join(v) if isinstance(v, list) else "" if v is None else _text(v) for v in cells])
    return out.getvalue().encode()


async def _rows(ctx: RequestContext, query: OfficialFilter, limit: int, fields: Sequence[str]) -> list[Row[Any]]:
    """The rows, chunk by chunk in id order, with only the columns the export reads: what its receipt
    records (id, grant mask, top-level unit) and the fields' own. Every column of a thousand rows
    costs several times as much to fetch and decode."""
    wanted = ["id", "grants", "top_unit_id", *(_COLUMN[name] for name in fields)]
    rows: list[Row[Any]] = []
    async with ctx.connect() as conn:
        while len(rows) < limit:
            after = (rows[-1].id, rows[-1].id) if rows else None
            size = min(_CHUNK, limit - len(rows))
            stmt = officials.page_select(ctx.scope, query, Ordering(field="id"), size, after)
            stmt = stmt.with_only_columns(*(stmt.selected_columns[c] for c in dict.fromkeys(wanted)))
            batch = list((await conn.execute(stmt)).all())
            rows += batch
            if len(batch) < size:
                break
    return rows


async def resolve_export_officials(ctx: RequestContext, request: ExportRequest) -> ExportResult:
    if request.format not in TABLES:
        raise BadInput(f"`exportOfficials` writes {' or '.join(TABLES)}, not '{request.format}'")
    if not 1 <= request.limit <= MAX_EXPORT_ROWS:
        raise BadInput(f"`limit` must be between 1 and {MAX_EXPORT_ROWS}")
    if ctx.receipts is None or ctx.operation is None:
        raise BadInput("Exports are made by the gateway, with a receipt")
    query = await to_filter(ctx, request.filter, None)
    check_filter(ctx, query)
    fields = _chosen_fields(ctx, request.fields, query.within)
    withheld = _may_withhold(ctx, fields, query.within)
    rows = await _rows(ctx, query, request.limit, fields)
    references = await _references(ctx, rows, fields)
    headers = _headers(fields, withheld)

    def file() -> bytes:
        columns = _columns(fields)
        return render(request.format, headers, [_cells(ctx, row, columns, references, withheld) for row in rows])

    # Tens of thousands of rows take seconds of CPU: in a thread, so the event loop keeps answering
    # everyone else meanwhile (Python shares the core, but in slices, not in one block).
    content = await asyncio.to_thread(file)
    return await store(ctx, request.format, content, rows, fields=fields, headers=headers)


async def store(
    ctx: RequestContext,
    format: str,
    content: bytes,
    rows: Sequence[Row[Any]],
    *,
    fields: list[str],
    headers: list[str],
    rid: str | None = None,
) -> ExportResult:
    """Keep an exported file for its requester, with a receipt over its exact bytes (`rid`: the receipt's
    id, when the file already shows it)."""
    if ctx.receipts is None or ctx.operation is None:
        raise BadInput("Exports are made by the gateway, with a receipt")
    export_id, digest = secrets.token_hex(16), await asyncio.to_thread(lambda: hashlib.sha256(content).hexdigest())
    exposure = Exposure()
    exposure.add_all(rows)
    described = {"id": export_id, "format": format, "bytes": len(content), "rows": len(rows)}
    draft = draft_for(
        ctx.principal, ctx.scope, exposure, ctx.operation, kind="export", data_sha256=digest, export=described, rid=rid
    )
    # One transaction for the receipt and the file: an export is only ever stored with its receipt in
    # the log, and the receipt is logged only if the file is stored (and, in the gateway, the request
    # answered without error).
    now = datetime.now(UTC)
    async with ctx.write() as conn:
        issued = await ctx.receipts.issue(draft, conn=conn)
        await exports.delete_expired(conn, now=now)
        await exports.create(
            conn,
            export_id=export_id,
            account_id=ctx.principal.account_id,
            format=format,
            content=content,
            sha256=digest,
            row_count=len(rows),
            rid=issued.rid,
            now=now,
            expires_at=now + EXPORT_TTL,
        )
    ctx.files.append((exposure, issued.rid))
    return ExportResult(
        id=export_id,
        format=format,
        fields=fields,
        columns=headers,
        row_count=len(rows),
        byte_size=len(content),
        sha256=digest,
        receipt=issued.receipt,
        receipt_id=issued.rid,
        created_at=now,
        expires_at=now + EXPORT_TTL,
    )


def export_statements(limit: int) -> int:
    """The most SQL statements an export of `limit` rows runs: the filter's unit, its pages of rows, the
    units and positions its columns name, and storing the file with its receipt."""
    return 1 + -(-limit // _CHUNK) + len(_REFERENCES) + _STORING
