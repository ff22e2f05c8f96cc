"""`exportOfficials`: officials in the caller's scope as a CSV or JSON Lines file, with a receipt over the
file's exact bytes; the file waits for its requester at GET /exports/{id} until it expires.

The first column is always the official's `id`. The others are fields readable on every official of the caller's scope (`Scope.everywhere`), the same rule
as filtering: a column readable on some rows only would leave blanks that nobody could tell from
missing data. Code fields export the code and its label; unit and position export code and name.
"""

import csv
import hashlib
import io
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Final

import orjson
from sqlalchemy import Row

from db.errors import BadInput, ForbiddenField
from db.queries import exports, officials
from db.queries.officials import Ordering
from resolvers.codes import labeller
from resolvers.context import RequestContext
from resolvers.officials import OfficialFilterArgs, check_filter, to_filter
from resolvers.receipts import Exposure, draft_for

MAX_EXPORT_ROWS: Final = 50_000
DEFAULT_EXPORT_ROWS: Final = 1_000
EXPORT_TTL: Final = timedelta(hours=24)
_CHUNK: Final = 5_000
FORMATS: Final = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}

# Plain columns: the field's name in the API and the row column holding it.
_PLAIN: Final = {
    "code": "code",
    "personalId": "personal_id",
    "fullName": "full_name",
    "otherName": "other_name",
    "birthDate": "birth_date",
    "birthplace": "birthplace",
    "hometown": "hometown",
    "permanentAddress": "permanent_address",
    "currentAddress": "current_address",
    "jobTitle": "job_title",
    "concurrentTitles": "concurrent_titles",
    "recruitmentOccupation": "recruitment_occupation",
    "mainDuties": "main_duties",
    "salaryGrade": "salary_grade",
    "salaryCoefficient": "salary_coefficient",
    "salaryEffectiveDate": "salary_effective_date",
    "positionAllowance": "position_allowance",
    "recruitmentDate": "recruitment_date",
    "recruitingAgency": "recruiting_agency",
    "generalEducation": "general_education",
    "major": "major",
    "foreignLanguages": "foreign_languages",
    "itLevel": "it_level",
    "partyAdmissionDate": "party_admission_date",
    "partyConfirmationDate": "party_confirmation_date",
    "health": "health",
    "heightCm": "height_cm",
    "weightKg": "weight_kg",
    "bloodGroup": "blood_group",
    "socialInsuranceNumber": "social_insurance_number",
    "version": "version",
    "updatedAt": "updated_at",
}
# Coded columns: the code list and the row column; exported as `<field>` (code) and `<field>Label`.
_CODED: Final = {
    "gender": ("gender", "gender"),
    "ethnicity": ("ethnicity", "ethnicity"),
    "religion": ("religion", "religion"),
    "employeeType": ("employee_type", "employee_type"),
    "rank": ("rank", "rank_code"),
    "qualification": ("qualification", "qualification"),
    "academicTitle": ("academic_title", "academic_title"),
    "politicalTheory": ("political_theory", "political_theory"),
    "stateManagement": ("state_management", "state_management"),
    "status": ("status", "status"),
}
# Referenced columns: exported as `<field>Code` and `<field>Name` of the unit or position.
_REFERENCES: Final = {"unit": "unit_id", "topUnit": "top_unit_id", "position": "position_id"}
EXPORTABLE: Final = (*_PLAIN, *_CODED, *_REFERENCES)


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


def _chosen_fields(ctx: RequestContext, fields: Sequence[str] | None) -> list[str]:
    if fields is None:
        return [name for name in EXPORTABLE if f"Official.{name}" in ctx.scope.everywhere]
    unknown = sorted(set(fields) - set(EXPORTABLE))
    if unknown:
        raise BadInput(f"Cannot export {unknown}; exportable fields: {', '.join(EXPORTABLE)}")
    for name in fields:
        if f"Official.{name}" not in ctx.scope.everywhere:
            raise ForbiddenField(f"Exporting `{name}` needs it readable on every official in your scope")
    return list(dict.fromkeys(fields))


def _headers(fields: Sequence[str]) -> list[str]:
    headers = ["id"]  # always first: the official's API id, which the receipt's `ids_sha256` hashes
    for name in fields:
        if name in _CODED:
            headers += [name, f"{name}Label"]
        elif name in _REFERENCES:
            headers += [f"{name}Code", f"{name}Name"]
        else:
            headers.append(name)
    return headers


async def _references(ctx: RequestContext, rows: Sequence[Row[Any]], fields: Sequence[str]) -> dict[str, Any]:
    """Units and positions the rows point at, loaded once per distinct id (through the scope)."""
    found: dict[str, Any] = {}
    for name in fields:
        if name not in _REFERENCES:
            continue
        ids = sorted({getattr(row, _REFERENCES[name]) for row in rows} - {None})
        loader = ctx.loaders.position_by_id if name == "position" else ctx.loaders.unit_by_id
        found[name] = dict(zip(ids, await loader.load_many(ids), strict=True))
    return found


def _cells(row: Row[Any], fields: Sequence[str], references: dict[str, Any]) -> list[Any]:
    cells: list[Any] = [str(row.id)]
    for name in fields:
        if name in _CODED:
            list_name, column = _CODED[name]
            cells += _code_cells(labeller(list_name)(getattr(row, column)))
        elif name in _REFERENCES:
            cells += _reference_cells(references[name].get(getattr(row, _REFERENCES[name])))
        else:
            cells.append(getattr(row, _PLAIN[name]))
    return cells


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


async def _rows(ctx: RequestContext, request: ExportRequest) -> list[Row[Any]]:
    check_filter(ctx, request.filter, None, {})
    query = await to_filter(ctx, request.filter, None)
    rows: list[Row[Any]] = []
    async with ctx.connect() as conn:
        while len(rows) < request.limit:
            after = (rows[-1].id, rows[-1].id) if rows else None
            size = min(_CHUNK, request.limit - len(rows))
            batch = await officials.list_(
                conn, scope=ctx.scope, filter=query, ordering=Ordering(field="id"), limit=size, after=after
            )
            rows += batch
            if len(batch) < size:
                break
    return rows


async def resolve_export_officials(ctx: RequestContext, request: ExportRequest) -> ExportResult:
    if request.format not in FORMATS:
        raise BadInput(f"Unknown export format '{request.format}'")
    if not 1 <= request.limit <= MAX_EXPORT_ROWS:
        raise BadInput(f"`limit` must be between 1 and {MAX_EXPORT_ROWS}")
    if ctx.receipts is None or ctx.operation is None:
        raise BadInput("Exports are made by the gateway, with a receipt")
    fields = _chosen_fields(ctx, request.fields)
    rows = await _rows(ctx, request)
    references = await _references(ctx, rows, fields)
    headers = _headers(fields)
    content = render(request.format, headers, [_cells(row, fields, references) for row in rows])
    return await _store(ctx, request, fields, headers, rows, content)


async def _store(
    ctx: RequestContext,
    request: ExportRequest,
    fields: list[str],
    headers: list[str],
    rows: Sequence[Row[Any]],
    content: bytes,
) -> ExportResult:
    assert ctx.receipts is not None and ctx.operation is not None
    export_id, digest = secrets.token_hex(16), hashlib.sha256(content).hexdigest()
    exposure = Exposure()
    exposure.add_all(rows)
    described = {"id": export_id, "format": request.format, "bytes": len(content), "rows": len(rows)}
    draft = draft_for(
        ctx.principal, ctx.scope, exposure, ctx.operation, kind="export", data_sha256=digest, export=described
    )
    # The receipt is logged first: an export is only ever stored with a receipt that is already in the log.
    issued = await ctx.receipts.issue(draft)
    now = datetime.now(UTC)
    async with ctx.engine.begin() as conn:
        await exports.delete_expired(conn, now=now)
        await exports.create(
            conn,
            export_id=export_id,
            account_id=ctx.principal.account_id,
            format=request.format,
            content=content,
            sha256=digest,
            row_count=len(rows),
            rid=issued.rid,
            now=now,
            expires_at=now + EXPORT_TTL,
        )
    return ExportResult(
        id=export_id,
        format=request.format,
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
