"""`exportOfficials`: a file of officials, with a receipt over its bytes, fetched from GET /exports/{id}."""

from datetime import datetime
from enum import Enum

import strawberry

from resolvers.exports import DEFAULT_EXPORT_ROWS, EXPORTABLE, MAX_EXPORT_ROWS, ExportRequest, ExportResult
from resolvers.exports import resolve_export_officials as resolve_export
from schema.common import Ctx, mutation
from schema.officials import OfficialFilter


@strawberry.enum
class ExportFormat(Enum):
    CSV = "csv"
    JSONL = "jsonl"
    PDF = "pdf"  # a CV (Official.cv); exportOfficials writes the other two


@strawberry.type(description="A prepared export: download it from `url` (same bearer token) before `expiresAt`.")
class Export:
    id: strawberry.ID
    format: ExportFormat
    fields: list[str] = strawberry.field(description="The Official fields exported, in column order")
    columns: list[str] = strawberry.field(description="The file's columns (code fields add `<field>Label`)")
    row_count: int
    byte_size: int
    sha256: str = strawberry.field(description="SHA-256 hex of the file's bytes (the receipt's `data_sha256`)")
    receipt: str = strawberry.field(description="The signed receipt (JWS) over the file; see docs/receipts.md")
    receipt_id: strawberry.ID
    url: str = strawberry.field(description="GET it with the same `Authorization: Bearer` token")
    created_at: datetime
    expires_at: datetime


def export_of(result: ExportResult) -> Export:
    return Export(
        id=strawberry.ID(result.id),
        format=ExportFormat(result.format),
        fields=result.fields,
        columns=result.columns,
        row_count=result.row_count,
        byte_size=result.byte_size,
        sha256=result.sha256,
        receipt=result.receipt,
        receipt_id=strawberry.ID(result.receipt_id),
        url=result.url,
        created_at=result.created_at,
        expires_at=result.expires_at,
    )


@strawberry.type
class ExportMutations:
    @mutation(
        description=f"Export officials in the caller's scope (ordered by id) as CSV or JSON Lines, with a "
        f"signed receipt over the file. `fields` defaults to every field readable on some official of the "
        f"scope; on a row where one is not readable, its cells are empty and the last column, `withheld`, names "
        f"it. Exportable: {', '.join(EXPORTABLE)}. `limit` at most {MAX_EXPORT_ROWS}. The file is kept "
        f"24 hours, for the caller only."
    )
    async def export_officials(
        self,
        info: Ctx,
        filter: OfficialFilter | None = None,
        format: ExportFormat = ExportFormat.CSV,
        fields: list[str] | None = None,
        limit: int = DEFAULT_EXPORT_ROWS,
    ) -> Export:
        request = ExportRequest(format=format.value, fields=fields, limit=limit, filter=filter)
        return export_of(await resolve_export(info.context, request))
