"""Changes to records and their monthly signed approval (resolvers/changes.py says who may do what).

The input a change is written in is built from the one field catalog (db/catalog.py): every field a
change may set is an optional input field of the catalog's type, a child-record field a list of entries
that replaces the record's list. A field left out is unchanged; a field given as null is emptied.
"""

from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from types import GenericAlias
from typing import TYPE_CHECKING, Annotated, Any, cast

import strawberry
from strawberry.scalars import JSON

from db.catalog import EDITABLE, RECORD_FIELDS, RECORD_TYPES, Field, RecordKind
from resolvers.changes import (
    CHANGES_PAGE,
    MAX_CHANGES_PAGE,
    Batch,
    approval_payload,
    batch_document,
    page_of,
    resolve_approval_batch,
    resolve_approve_batch,
    resolve_pending_changes,
    resolve_propose_change,
    resolve_reject_change,
    resolve_withdraw_change,
)
from resolvers.officials import resolve_official_by_id
from resolvers.units import resolve_unit_by_id
from schema.common import Ctx, Parent, field, mutation

if TYPE_CHECKING:
    from schema.officials import Official
    from schema.units import Unit

OfficialRef = Annotated["Official", strawberry.lazy("schema.officials")]
UnitRef = Annotated["Unit", strawberry.lazy("schema.units")]


@strawberry.enum(description="Where a proposed change stands.")
class ChangeStatus(Enum):
    PENDING = "pending"
    WITHDRAWN = "withdrawn"
    REJECTED = "rejected"
    APPROVED = "approved"


@strawberry.type(description="One field of a record set to a new value, in the form `proposeChange` takes it.")
class FieldChange:
    field: str = strawberry.field(description="The Official field's name (fullName, familyMembers, …)")
    value: JSON | None = strawberry.field(description="The new value (a child-record field: its whole new list)")
    previous: JSON | None = strawberry.field(
        default=None, description="The value it replaced: in a record's history; null in a pending change"
    )


def _field_changes(changes: dict[str, Any]) -> list[FieldChange]:
    return [FieldChange(field=name, value=value) for name, value in changes.items()]


@strawberry.type(description="A change to an official's record, waiting for (or past) the month's approval.")
class PendingChange:
    id: strawberry.ID
    reason: str
    status: ChangeStatus
    base_version: int = strawberry.field(description="The record's version the proposer changed")
    proposed_by: str = strawberry.field(description="Username of the proposer")
    proposed_at: datetime
    decided_by: str | None = strawberry.field(description="Who withdrew, rejected or approved it")
    decided_at: datetime | None
    decision_note: str | None = strawberry.field(description="Why it was rejected")

    @field(description="The official whose record it changes (null when the caller may not read it)")
    async def official(self, info: Ctx, root: Parent) -> OfficialRef | None:
        return cast("Official | None", await resolve_official_by_id(info.context, root.official_id))

    @field(description="The official's id")
    def official_id(self, info: Ctx, root: Parent) -> strawberry.ID:
        info.context.reviewed.add(root.official_id)  # whose change it is: the audit's (found by review)
        return strawberry.ID(str(root.official_id))

    @field(description="The new values it sets")
    def changes(self, info: Ctx, root: Parent) -> list[FieldChange]:
        info.context.reviewed.add(root.official_id)  # a person's values, before approval: the audit's
        return _field_changes(root.changes)

    @field(description="SHA-256 of the change's canonical content: what a batch's digest lists for it")
    def content_hash(self, root: Parent) -> str:
        return cast(str, root.content_sha256)


@strawberry.type(description="The window a month's batches are approved in (Asia/Ho_Chi_Minh).")
class ApprovalWindow:
    first_day: date
    last_day: date
    open: bool = strawberry.field(description="Whether it is open now")


@strawberry.type(
    description="The pending changes of a unit's subtree proposed before the end of a month, and the digest "
    "its approver signs: SHA-256 of the RFC 8785 canonical JSON of `document`."
)
class ApprovalBatch:
    batch: strawberry.Private[Batch]
    window: ApprovalWindow

    @field(description="What `approveBatch` takes: UNIT@YYYY-MM")
    def id(self) -> strawberry.ID:
        return strawberry.ID(self.batch.id)

    @strawberry.field
    def period(self) -> str:
        return self.batch.period

    @strawberry.field
    async def unit(self, info: Ctx) -> UnitRef:
        return cast("Unit", await resolve_unit_by_id(info.context, self.batch.unit.id))

    @field(description="The batch's changes, oldest first, a page at a time (`after`: the last id of the page before)")
    def changes(self, first: int = CHANGES_PAGE, after: strawberry.ID | None = None) -> list[PendingChange]:
        return cast(list[PendingChange], page_of(self.batch.changes, first, after))

    @field(description="How many changes the batch holds")
    def change_count(self) -> int:
        return len(self.batch.changes)

    @field(description="Hex SHA-256 of `document` in RFC 8785 canonical form")
    def digest(self) -> str:
        return self.batch.digest

    @field(description="The unit, the month, and each change's id and content hash, as the digest covers them")
    def document(self) -> JSON:
        items = [(c.id, c.content_sha256) for c in self.batch.changes]
        return cast(JSON, batch_document(self.batch.unit.code, self.batch.period, items))

    @field(
        description='What the approver signs with their own key, as an ES256 JWS with typ "ccvc-approval+jws" '
        "(`ccvc sign --key FILE --digest DIGEST` makes it)"
    )
    def signing_payload(self) -> str:
        return approval_payload(self.batch.digest).decode()


@strawberry.type(description="A signed approval of a unit's batch for a month.")
class Approval:
    id: strawberry.ID
    period: str
    digest: str
    signature: str = strawberry.field(description="The approver's JWS, as sent: it verifies against `kid`")
    kid: str = strawberry.field(description="The approver's registered key that signed it")
    approved_by: str
    approved_at: datetime
    change_count: int

    @strawberry.field
    async def unit(self, info: Ctx, root: Parent) -> UnitRef:
        return cast("Unit", await resolve_unit_by_id(info.context, root.unit_id))


@strawberry.type(description="A version of a record, made by an approval.")
class RecordVersion:
    version: int
    period: str = strawberry.field(description="The month whose approval made it")
    approved_at: datetime
    approved_by: str
    changes: list[FieldChange] = strawberry.field(
        description="The fields it changed, from `previous` to `value` (only those the caller may read)"
    )


def record_versions(rows: list[dict[str, Any]]) -> list[RecordVersion]:
    return [
        RecordVersion(
            version=row["version"],
            period=row["period"],
            approved_at=row["approved_at"],
            approved_by=row["approved_by"],
            changes=[FieldChange(field=c["field"], value=c["to"], previous=c["from"]) for c in row["changes"]],
        )
        for row in rows
    ]


# -- the input, from the catalog -------------------------------------------------------------------

_SCALARS: dict[str, Any] = {"text": str, "int": int, "date": date, "decimal": Decimal, "texts": list[str]}


def _snake(name: str) -> str:
    return "".join(f"_{ch.lower()}" if ch.isupper() else ch for ch in name)


def _input(name: str, fields: dict[str, Any], description: str, default: Any) -> type:
    """A strawberry input type built from the catalog: every field optional, defaulting to `default`."""
    namespace: dict[str, Any] = {"__annotations__": {key: kind | None for key, kind in fields.items()}}
    namespace |= {key: default for key in fields}
    return strawberry.input(type(name, (), namespace), description=description)


def _entry_input(kind: RecordKind) -> type:
    fields = {_snake(c.name): str if c.codes else _SCALARS[c.value] for c in RECORD_FIELDS[kind]}
    return _input(
        f"{RECORD_TYPES[kind]}Input", fields, f"One entry of {RECORD_TYPES[kind]}; codes as codeList has them", None
    )


ENTRY_INPUTS: dict[RecordKind, type] = {kind: _entry_input(kind) for kind in RECORD_FIELDS}


def _input_type(entry: Field) -> Any:
    if entry.kind == "records":
        assert entry.records is not None
        return GenericAlias(list, (ENTRY_INPUTS[entry.records],))
    if entry.kind in ("unit", "position"):
        return strawberry.ID
    if entry.kind == "code":
        return str
    return _SCALARS[entry.value]


_CHANGES_INPUT = _input(
    "OfficialChangesInput",
    {_snake(f.name): _input_type(f) for f in EDITABLE},
    "New values for fields of an official's record: a field left out stays as it is, null empties it. Codes "
    "as `codeList` has them; `unit` a unit's code or id, `position` a position's id; a child-record field "
    "(training, familyMembers, …) replaces the whole list.",
    strawberry.UNSET,
)


if TYPE_CHECKING:
    OfficialChangesInput = Any  # built at import from the catalog: mypy cannot see its fields
else:
    OfficialChangesInput = _CHANGES_INPUT


def values_of(changes: Any) -> dict[str, object]:
    """The fields an OfficialChangesInput sets, by API name; child-record entries as plain objects."""
    values: dict[str, object] = {}
    for entry in EDITABLE:
        value = getattr(changes, _snake(entry.name))
        if value is strawberry.UNSET:
            continue
        if entry.kind == "records" and isinstance(value, list):
            assert entry.records is not None
            names = [c.name for c in RECORD_FIELDS[entry.records]]
            value = [{name: getattr(item, _snake(name)) for name in names} for item in value]
        values[entry.name] = value
    return values


# -- queries and mutations ---------------------------------------------------------------------------


@strawberry.type
class ChangeQueries:
    @field(
        description=f"Pending changes of the officials of a unit (by code or id) and the units below it that the "
        f"caller reviews (HR, the approver), oldest first, a page at a time: `first` at most {MAX_CHANGES_PAGE}, "
        "`after` the last id of the page before."
    )
    async def pending_changes(
        self, info: Ctx, unit_id: strawberry.ID, first: int = CHANGES_PAGE, after: strawberry.ID | None = None
    ) -> list[PendingChange]:
        return cast(list[PendingChange], await resolve_pending_changes(info.context, unit_id, first, after))

    @field(
        description="The batch of a unit (by code or id; its whole subtree) for a month (YYYY-MM): the changes "
        "proposed before the month ended and still pending, and the digest its approver signs."
    )
    async def approval_batch(self, info: Ctx, unit_id: strawberry.ID, period: str) -> ApprovalBatch:
        batch = await resolve_approval_batch(info.context, unit_id, period)
        calendar = info.context.calendar
        window = calendar.window(period)
        return ApprovalBatch(
            batch=batch,
            window=ApprovalWindow(
                first_day=window.first_day, last_day=window.last_day, open=window.holds(calendar.now())
            ),
        )


@strawberry.type
class ChangeMutations:
    @mutation(
        description="Propose new values for an official's record (by id or code): an official for their own "
        "record (who they are, addresses, family, training, languages, health), HR for officials of its "
        "ministry or province (every field). Every value is checked; each wrong one is named in "
        "`extensions.fields`, and nothing is written. Partners see the change once it is approved."
    )
    async def propose_change(
        self,
        info: Ctx,
        official_id: strawberry.ID,
        changes: OfficialChangesInput,
        reason: str,
    ) -> PendingChange:
        row = await resolve_propose_change(info.context, official_id, values_of(changes), reason)
        return cast(PendingChange, row)

    @mutation(description="Take back a pending change one proposed.")
    async def withdraw_change(self, info: Ctx, id: strawberry.ID) -> PendingChange:
        return cast(PendingChange, await resolve_withdraw_change(info.context, id))

    @mutation(
        description="Refuse a pending change, saying why (HR or the approver of the official's ministry or province)."
    )
    async def reject_change(self, info: Ctx, id: strawberry.ID, reason: str) -> PendingChange:
        return cast(PendingChange, await resolve_reject_change(info.context, id, reason))

    @mutation(
        description="Approve a batch (its id from `approvalBatch`) with the approver's ES256 JWS over its "
        "signing payload, in the last days of its month. The batch must be what was signed (else "
        "STALE_BATCH); its changes are applied in one transaction, each record's version counts up and the "
        "data version receipts cite moves to the month."
    )
    async def approve_batch(self, info: Ctx, batch_id: strawberry.ID, signature: str) -> Approval:
        return cast(Approval, await resolve_approve_batch(info.context, batch_id, signature))
