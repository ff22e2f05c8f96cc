"""`syncApprovedBatch`: a ministry's signed bundle of approved records, imported here (resolvers/sync.py)."""

from datetime import datetime

import strawberry

from resolvers.sync import resolve_sync_approved_batch
from schema.common import Ctx, mutation


@strawberry.type(description="A ministry's signed bundle of approved records, as received and applied.")
class SyncBatch:
    id: strawberry.ID
    ministry: str = strawberry.field(description="The ministry or province whose key signed it")
    unit: str = strawberry.field(description="The unit whose batches it carries (and the units below it)")
    period: str
    officials: int = strawberry.field(description="Records it carried")
    created: int = strawberry.field(description="Of which new here")
    payload_sha256: str = strawberry.field(description="SHA-256 of its signed payload: what names it")
    kid: str = strawberry.field(description="The ministry's key that signed it")
    received_at: datetime
    already_applied: bool = strawberry.field(description="True when this very bundle had been applied before")


@strawberry.type
class SyncMutations:
    @mutation(
        description="Apply a ministry's signed bundle of approved records (from `ccvc sync export`): it must "
        "verify against a key registered for the ministry it names, touches that ministry's officials only, "
        "and is applied once (the same bundle again changes nothing). National administrator; a ministry's "
        "system POSTs its bundles to /sync/batches."
    )
    async def sync_approved_batch(self, info: Ctx, bundle: str) -> SyncBatch:
        result = await resolve_sync_approved_batch(info.context, bundle)
        row = result.batch
        return SyncBatch(
            id=strawberry.ID(str(row.id)),
            ministry=row.ministry,
            unit=row.unit_code,
            period=row.period,
            officials=row.official_count,
            created=row.created_count,
            payload_sha256=row.payload_sha256,
            kid=row.kid,
            received_at=row.received_at,
            already_applied=result.already_applied,
        )
