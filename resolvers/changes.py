"""Changes to records and their monthly signed approval: `proposeChange`, `withdrawChange`,
`rejectChange`, `pendingChanges`, `approvalBatch`, `approveBatch`, and an official's `history`.

Who may do what is policy (policies/policy.csv: propose, review, decide, approve), turned into scopes
like reading is (RequestContext.scope_to), so every change is found through the principal's scope for
the action: outside it, a change or an official is not found. The approved record (the `official`
tables) changes only in `approve_batch`, in the request's one transaction, with the approval recorded,
each record's previous version kept, and the data version that receipts cite bumped.
"""

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import orjson
from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from db.catalog import EDITABLE, OFFICIAL, RECORD_FIELDS
from db.edits import normalized
from db.errors import BadInput, DomainError, InvalidFields, NotFound
from db.predicates import Subtree, UnitBound, holds
from db.queries import changes, officials, signers, versions
from db.queries import units as units_
from db.queries.changes import Approved, ChangeConflict, ConcurrentDecision
from db.scoping import Scope
from evidence.canonical import canonical_sha256
from evidence.crypto import APPROVAL_TYP, verify_registered
from evidence.errors import SignatureRefused
from policies.rules import APPROVE, DECIDE, PROPOSE, REVIEW
from resolvers.aggregates import COUNTED_FIELDS
from resolvers.context import RequestContext
from resolvers.errors import Forbidden, ForbiddenField
from resolvers.events import ApprovalEvent
from resolvers.ids import check_text, is_id, parse_id
from resolvers.months import month_end, parse_period
from resolvers.officials import officials_by_code
from resolvers.units import unit_by_ref

MAX_REASON: Final = 500
# An approval's JWS as kept (approval.signature): a digest signed with ES256 is some 300 characters.
MAX_SIGNATURE: Final = 4096
# Pending changes one official's record may have at once: a month's corrections, not a queue without end.
MAX_PENDING_PER_OFFICIAL: Final = 20
# Changes one batch may hold: one approval signs them all in one transaction; a larger unit is approved
# one subunit at a time.
MAX_BATCH: Final = 2000
# Statements approveBatch runs, whatever the batch's size: the write lock; the approver's keys; an earlier
# approval; the unit; the batch; the approval (in a savepoint), its changes marked; the officials, the
# personal ids and positions they are given, the officials updated; for each kind
# of child record the batch replaces: read, deleted, inserted; the versions; the data version; reading
# the approval back; its event's unit paths before and after, and its NOTIFY (resolvers/events.py).
APPROVE_STATEMENTS: Final = 20 + 3 * len(RECORD_FIELDS)
# Fields one change sets at most: a correction touches a few; a record rewritten whole is many changes.
MAX_FIELD_CHANGES: Final = 20
# Fields one version lists at most: it merges the changes of a month, so any field a change may set.
MAX_VERSION_CHANGES: Final = len(EDITABLE)
# Changes one page of `pendingChanges` (or of a batch's `changes`) lists at most, and by default.
MAX_CHANGES_PAGE: Final = 500
CHANGES_PAGE: Final = 100
# Versions `history` lists at most: a record approved every month for eight years.
MAX_HISTORY: Final = 100


class StaleBatch(DomainError):
    code = "STALE_BATCH"


class OutsideWindow(DomainError):
    code = "OUTSIDE_APPROVAL_WINDOW"


class ConflictingChange(DomainError):
    code = "CONFLICTING_CHANGE"


# -- proposing ---------------------------------------------------------------------------------------


async def resolve_propose_change(
    ctx: RequestContext, official_ref: str, values: Mapping[str, object], reason: str
) -> Row[Any]:
    scope = ctx.scope_to(PROPOSE)
    official = await _official_to_change(ctx, scope, official_ref)
    refused = sorted(
        name for name in values if OFFICIAL.get(name) and OFFICIAL[name].policy not in scope.readable(official.grants)
    )
    if refused:
        raise Forbidden(
            f"You may not propose changes to {', '.join(refused)} of this record: an official declares who they "
            "are, where they live, family, training and health; post, rank, salary and assessment are set by HR"
        )
    if len(values) > MAX_FIELD_CHANGES:
        raise BadInput(f"One change sets at most {MAX_FIELD_CHANGES} fields: propose the rest as another change")
    resolved = {**values, **await _places(ctx, official, values)}
    content = normalized(resolved, today=ctx.calendar.today())
    why = _reason(reason)
    async with ctx.write() as conn:
        if len(await changes.of_officials(conn, scope=scope, official_ids=[official.id])) >= MAX_PENDING_PER_OFFICIAL:
            raise BadInput(
                f"This record already has {MAX_PENDING_PER_OFFICIAL} pending changes: withdraw some, or wait "
                "for this month's approval"
            )
        change_id = await changes.create(
            conn,
            official_id=official.id,
            changes=content,
            reason=why,
            content_sha256=_content_hash(official.id, content, why),
            base_version=official.version,
            proposed_by_id=ctx.principal.account_id,
            now=ctx.calendar.now(),
        )
        row = await changes.get(conn, scope=scope, change_id=change_id)
    assert row is not None
    return row


async def _official_to_change(ctx: RequestContext, scope: Scope, ref: str) -> Row[Any]:
    """The official a change is about, through the principal's scope for proposing. One the principal
    may read but not change is forbidden; one it may not even read is not found (existence stays hidden)."""
    if is_id(ref):
        official_id = parse_id(ref, "official")
    else:
        found = await officials_by_code(ctx, [ref])
        if not found:
            raise NotFound(f"No official with code '{ref}'")
        official_id = found[0].id
    async with ctx.connect() as conn:
        row = await officials.get(conn, scope=scope, official_id=official_id)
        readable = row is not None or await officials.get(conn, scope=ctx.scope, official_id=official_id) is not None
    if row is None:
        if readable:
            raise Forbidden("You may not propose changes to this official's record")
        raise NotFound(f"Official '{ref}' does not exist")
    return row


async def _places(ctx: RequestContext, official: Row[Any], values: Mapping[str, object]) -> dict[str, object]:
    """A new unit or position, named by code or id, as its id: a unit of the official's own ministry or
    province (a move to another is a transfer between ministries, not a correction), a position of the
    official's unit (the new one, when it changes too)."""
    resolved: dict[str, object] = {}
    problems: list[tuple[str, str]] = []
    unit_id = official.unit_id
    if isinstance(values.get("unit"), str):
        unit = await unit_by_ref(ctx, str(values["unit"]))
        if unit is None:
            problems.append(("unit", f"no unit with code or id '{values['unit']}'"))
        elif unit.top_unit_id != official.top_unit_id:
            problems.append(("unit", "must be a unit of the official's own ministry or province"))
        else:
            resolved["unit"] = unit_id = unit.id
    if "unit" in resolved and "position" not in values and official.position_id is not None:
        problems.append(("position", "must be given with a new unit: a position of that unit, or null"))
    if isinstance(values.get("position"), str):
        ref = str(values["position"])
        position = await ctx.loaders.position_by_id.load(parse_id(ref, "position")) if is_id(ref) else None
        if position is None:
            problems.append(("position", f"no position with id '{ref}'"))
        elif position.unit_id != unit_id:
            problems.append(("position", "must be a position of the official's unit"))
        else:
            resolved["position"] = position.id
    if problems:
        raise InvalidFields(problems)
    return resolved


def _reason(reason: str) -> str:
    text = check_text(reason, "reason").strip()
    if not text or len(text) > MAX_REASON:
        raise InvalidFields([("reason", f"must say why, in 1 to {MAX_REASON} characters")])
    return text


def _content_hash(official_id: int, content: Mapping[str, Any], reason: str) -> str:
    """What a batch's digest lists for a change: the SHA-256 of its canonical content."""
    return canonical_sha256({"official": official_id, "changes": dict(content), "reason": reason})


# -- reviewing, withdrawing, rejecting ------------------------------------------------------------


async def resolve_withdraw_change(ctx: RequestContext, change_ref: str) -> Row[Any]:
    """The proposer takes a pending change back."""
    return await _decide(ctx, change_ref, "withdrawn", None, lambda row: row.proposed_by_id == ctx.principal.account_id)


async def resolve_reject_change(ctx: RequestContext, change_ref: str, note: str) -> Row[Any]:
    """HR or the approver refuses a pending change, saying why."""
    why = _reason(note)
    allowed = ctx.scope_to(DECIDE)
    return await _decide(ctx, change_ref, "rejected", why, lambda row: _covers(allowed, row))


async def _decide(ctx: RequestContext, change_ref: str, status: str, note: str | None, may: Any) -> Row[Any]:
    change_id = parse_id(change_ref, "change")
    async with ctx.write() as conn:
        scope = ctx.scope_to(REVIEW)
        row = await changes.get(conn, scope=scope, change_id=change_id)
        if row is None and status == "withdrawn":
            # A proposer who does not review the record (none does today) still withdraws its own.
            scope = ctx.scope_to(PROPOSE)
            row = await changes.get(conn, scope=scope, change_id=change_id)
        if row is None:
            raise NotFound(f"Change '{change_ref}' does not exist")
        if not may(row):
            verb = "withdraw it" if status == "withdrawn" else "reject changes to this record"
            raise Forbidden(f"Only {'its proposer' if status == 'withdrawn' else 'HR or the approver'} may {verb}")
        if not await changes.decide(
            conn, change_id=change_id, status=status, by_id=ctx.principal.account_id, now=ctx.calendar.now(), note=note
        ):
            raise BadInput(f"Change '{change_ref}' is no longer pending (it is {row.status})")
        decided = await changes.get(conn, scope=scope, change_id=change_id)
    assert decided is not None
    return decided


def _covers(scope: Scope, row: Row[Any]) -> bool:
    """Whether a scope reaches every official of the unit of the change's official (HR's and approvers'
    reach is whole ministries or provinces)."""
    return scope.covers(UnitBound(row.unit_path, row.top_unit_id))


async def resolve_pending_changes(ctx: RequestContext, unit_ref: str, first: int, after: str | None) -> list[Row[Any]]:
    """Pending changes of the officials of a unit's subtree that the principal reviews, oldest first, a
    page at a time (`after`: the last change id of the page before)."""
    limit = page_size(first)
    unit = await _unit(ctx, unit_ref)
    async with ctx.connect() as conn:
        return await changes.in_subtree(
            conn,
            scope=ctx.scope_to(REVIEW),
            unit_path=unit.path,
            top_unit_id=unit.top_unit_id,
            after=None if after is None else parse_id(after, "change"),
            limit=limit,
        )


def page_size(first: int) -> int:
    if not 1 <= first <= MAX_CHANGES_PAGE:
        raise BadInput(f"`first` must be from 1 to {MAX_CHANGES_PAGE}")
    return first


def page_of(rows: list[Row[Any]], first: int, after: str | None) -> list[Row[Any]]:
    """A page of a batch's changes (read whole, for its digest)."""
    limit = page_size(first)
    start = 0 if after is None else parse_id(after, "change")
    return [row for row in rows if row.id > start][:limit]


async def resolve_official_changes(ctx: RequestContext, official: Row[Any]) -> list[Row[Any]]:
    """Pending changes of one official, for those who review them (the official, HR, the approver)."""
    await _reviewed_fields(ctx, official)
    return await ctx.loaders.changes_by_official(ctx.scope_to(REVIEW)).load(official.id)


async def _reviewed_fields(ctx: RequestContext, official: Row[Any]) -> frozenset[str]:
    """The fields the principal's review reaches on this official; none is FORBIDDEN_FIELD: changes and
    versions of a record are for those who review it, not for everyone who may read some of it."""
    review = ctx.scope_to(REVIEW)
    path: str | None = None
    if any(isinstance(g.predicate, Subtree) for g in review.grants):
        unit = await ctx.loaders.unit_by_id.load(official.unit_id)
        path = unit.path if unit is not None else None
    fields = frozenset().union(
        *(g.fields for g in review.grants if holds(g.predicate, official.id, path, official.top_unit_id))
    )
    if not fields:
        raise ForbiddenField(
            "Changes to a record and its versions are for the official, HR and the approver of their ministry "
            "or province"
        )
    return fields


async def _unit(ctx: RequestContext, ref: str) -> Row[Any]:
    unit = await unit_by_ref(ctx, ref)
    if unit is None:
        raise NotFound(f"No unit with code or id '{ref}'")
    return unit


# -- batches and approvals ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Batch:
    """The pending changes of a unit's subtree proposed before the end of a month, and their digest."""

    unit: Row[Any]
    period: str
    changes: list[Row[Any]]
    digest: str

    @property
    def id(self) -> str:
        return f"{self.unit.code}@{self.period}"


def batch_document(unit_code: str, period: str, items: list[tuple[int, str]]) -> dict[str, Any]:
    """What the digest is the SHA-256 of (as RFC 8785 canonical JSON): the unit, the month, and each
    change's id with its content hash. An approver can rebuild it from `approvalBatch` and check it."""
    return {"unit": unit_code, "period": period, "changes": [{"id": i, "sha256": h} for i, h in items]}


def approval_payload(digest: str) -> bytes:
    """What an approver signs (`ccvc sign`): the batch's digest, as `ApprovalBatch.signingPayload` shows it."""
    return orjson.dumps({"digest": digest})


async def _batch(ctx: RequestContext, conn: AsyncConnection, unit: Row[Any], period: str) -> Batch:
    rows = await changes.in_subtree(
        conn,
        scope=ctx.scope_to(REVIEW),
        unit_path=unit.path,
        top_unit_id=unit.top_unit_id,
        proposed_before=month_end(period),
        limit=MAX_BATCH + 1,
    )
    if len(rows) > MAX_BATCH:
        raise BadInput(
            f"The batch of {unit.code} for {period} holds more than {MAX_BATCH} changes: approve its subunits one by one"
        )
    document = batch_document(unit.code, period, [(row.id, row.content_sha256) for row in rows])
    return Batch(unit, period, rows, canonical_sha256(document))


async def _batch_unit(ctx: RequestContext, unit_ref: str, action: str) -> Row[Any]:
    """The unit of a batch, when the principal's scope for `action` reaches its whole subtree."""
    unit = await _unit(ctx, unit_ref)
    if not ctx.scope_to(action).covers(UnitBound(unit.path, unit.top_unit_id)):
        raise Forbidden(
            f"Only the approver (or HR) of the ministry or province of {unit.code} sees its batches"
            if action == REVIEW
            else f"Only the approver of the ministry or province of {unit.code} approves its batches"
        )
    return unit


async def resolve_approval_batch(ctx: RequestContext, unit_ref: str, period: str) -> Batch:
    parse_period(period)
    unit = await _batch_unit(ctx, unit_ref, REVIEW)
    async with ctx.connect() as conn:
        return await _batch(ctx, conn, unit, period)


def _batch_id(batch_id: str) -> tuple[str, str]:
    unit, at, period = check_text(batch_id, "batchId").rpartition("@")
    if not at or not unit:
        raise BadInput(f"'{batch_id}' is not a batch id: approvalBatch gives it, as UNIT@YYYY-MM")
    parse_period(period)
    return unit, period


async def resolve_approve_batch(ctx: RequestContext, batch_id: str, signature: str) -> Row[Any]:
    unit_ref, period = _batch_id(batch_id)
    unit = await _batch_unit(ctx, unit_ref, APPROVE)
    now = ctx.calendar.now()
    window = ctx.calendar.window(period)
    if not window.holds(now):
        raise OutsideWindow(f"The batches of {period} are approved from {window.describe()}")
    async with ctx.write() as conn:
        kid, signed = await _signed_digest(conn, ctx, signature)
        kept = await changes.find_approval(conn, unit_id=unit.id, period=period, digest=signed)
        if kept is not None:
            # This very batch is approved already: the same approval sent again (a retry after a lost
            # answer), or an empty batch signed twice. Nothing more to do: one approval per batch.
            return kept
        batch = await _batch(ctx, conn, unit, period)
        if batch.digest != signed:
            raise StaleBatch(
                f"The batch changed since its digest was computed (it is now {batch.digest}): read approvalBatch "
                "again, check it, and sign its new digest"
            )
        counted: dict[int, set[str]] = {}
        for row in batch.changes:
            if fields := COUNTED_FIELDS & row.changes.keys():
                counted.setdefault(row.official_id, set()).update(OFFICIAL[name].policy for name in fields)
        before = await units_.paths_of_officials(conn, scope=ctx.scope_to(APPROVE), official_ids=sorted(counted))
        approval_id = await _apply(ctx, conn, batch, signature=signature, kid=kid, now=now)
        await versions.approve(conn, period=period, now=now)
        approval = await changes.find_approval(conn, unit_id=unit.id, period=period, digest=signed)
        assert approval is not None and approval.id == approval_id
        if ctx.events is not None:
            after = await units_.paths_of_officials(conn, scope=ctx.scope_to(APPROVE), official_ids=sorted(counted))
            changed: dict[str, set[str]] = {}
            for official_id, fields in counted.items():
                for path in {before.get(official_id), after.get(official_id)} - {None}:
                    changed.setdefault(str(path), set()).update(fields)
            event = ApprovalEvent(
                approval_id=approval_id,
                unit_id=unit.id,
                unit_path=unit.path,
                period=period,
                change_count=len(batch.changes),
                approved_by=ctx.principal.username,
                approved_at=now,
                counted=tuple((path, tuple(sorted(fields))) for path, fields in sorted(changed.items())),
            )
            await ctx.events.publish(conn, ctx.transaction, event)
    return approval


async def _signed_digest(conn: AsyncConnection, ctx: RequestContext, signature: str) -> tuple[str, str]:
    """The key (kid) and the digest the approver signed, once the signature verifies against a key
    registered to them."""
    keys = await signers.active_keys(conn, account_id=ctx.principal.account_id)
    if not keys:
        raise SignatureRefused(
            f"No signing key is registered for {ctx.principal.username}: an operator registers its public key "
            f"with `ccvc keys register --account {ctx.principal.username} --public-key FILE`"
        )
    kid, payload = verify_registered(
        check_text(signature, "signature"), keys=keys, typ=APPROVAL_TYP, what="The signature", max_bytes=MAX_SIGNATURE
    )
    try:
        claims = orjson.loads(payload)
    except orjson.JSONDecodeError:
        raise SignatureRefused("The signed payload is not JSON") from None
    digest = claims.get("digest") if isinstance(claims, dict) else None
    if not isinstance(digest, str) or len(digest) != 64 or any(ch not in "0123456789abcdef" for ch in digest):
        raise SignatureRefused('The signed payload must be {"digest": "<64 lowercase hex digits>"}')
    return kid, digest


async def _apply(
    ctx: RequestContext, conn: AsyncConnection, batch: Batch, *, signature: str, kid: str, now: datetime
) -> int:
    """Record the approval, then write each official's changes (in the order they were proposed)."""
    try:
        approval_id = await changes.record_approval(
            conn,
            unit_id=batch.unit.id,
            period=batch.period,
            digest=batch.digest,
            signature=signature,
            kid=kid,
            approved_by_id=ctx.principal.account_id,
            now=now,
            change_ids=[row.id for row in batch.changes],
        )
        by_official: dict[int, list[Row[Any]]] = defaultdict(list)
        for row in batch.changes:
            by_official[row.official_id].append(row)
        approved = [
            Approved(official_id, tuple(row.id for row in rows), tuple(row.changes for row in rows))
            for official_id, rows in by_official.items()
        ]
        await changes.apply(
            conn,
            scope=ctx.scope_to(APPROVE),
            approved=approved,
            approval_id=approval_id,
            approved_by_id=ctx.principal.account_id,
            now=now,
        )
    except ConcurrentDecision:
        raise StaleBatch(
            "The batch was decided by someone else meanwhile (a change withdrawn or rejected, or the batch "
            "approved): read approvalBatch again"
        ) from None
    except ChangeConflict as conflict:
        raise ConflictingChange(
            f"Change {conflict.change_id} {conflict.reason}: reject it (rejectChange), then read the batch "
            "again and sign it"
        ) from None
    return approval_id


# -- history --------------------------------------------------------------------------------------


async def resolve_history(ctx: RequestContext, official: Row[Any], first: int) -> list[dict[str, Any]]:
    """The versions approvals made of the record, newest first, for those who review it; each lists the
    changes to the fields the caller both reviews and may read on the record."""
    if not 1 <= first <= MAX_HISTORY:
        raise BadInput(f"`first` must be from 1 to {MAX_HISTORY}")
    # What the record itself shows the caller: a version's values are the record's, past or present (an
    # approver reviews sensitive values while pending, but reads no sensitive field of the record).
    fields = await _reviewed_fields(ctx, official) & ctx.scope.readable(official.grants)
    rows = (await ctx.loaders.versions_by_official.load(official.id))[:first]
    return [
        {
            "version": row.version,
            "period": row.period,
            "approved_at": row.approved_at,
            "approved_by": row.approved_by,
            "changes": [c for c in row.changes if OFFICIAL[c["field"]].policy in fields],
        }
        for row in rows
    ]
