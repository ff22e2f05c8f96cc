"""The audit, read: who read an official's record (`accessLog`: the official, HR of their ministry or
province, the national administrator), and every request (`auditEvents`: the national administrator).
And what a request's audit record says it exposed: each official its answer (or a file it made) carried,
with the receipt that lists them and the bases of the grants that let them out."""

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import orjson
from sqlalchemy import Row

from db.errors import BadInput
from db.predicates import holds
from db.queries import audit
from db.queries.audit import EventFilter
from db.scoping import Everyone, Subtree
from policies.rules import AUDIT, REVIEW
from resolvers.context import RequestContext
from resolvers.errors import Forbidden, ForbiddenField
from resolvers.pagination import check_first

_CURSOR: Final = "audit"
# EventFilter is the schema's to build (schema/audit.py), which never imports db/ itself: named here.
__all__ = ["AuditPage", "EventFilter", "Exposed", "exposed_by", "resolve_access_log", "resolve_audit_events", "utc"]


@dataclass(frozen=True, slots=True)
class AuditPage:
    rows: Sequence[Row[Any]]
    cursors: list[str]
    has_next_page: bool
    # auditEvents: the officials each event exposed, by event id.
    officials: dict[int, list[int]]


@dataclass(frozen=True, slots=True)
class Exposed:
    """Whose data left with a request, as its audit record keeps it."""

    # Every basis cited, the event's: sorted, as JSON, None when no one's data left.
    basis: str | None
    # One per official: official_id; receipt_id, the receipt listing them when it is not the answer's (a
    # file's); legal_basis, as JSON, when it is not the event's. Mostly both are None: a page of a hundred
    # officials let out by the same grants writes a hundred pairs of ids, not a hundred copies of them.
    rows: list[dict[str, Any]]


def exposed_by(ctx: RequestContext, receipt_id: str | None) -> Exposed:
    """The officials whose data left with this request: in its answer (listed by its receipt
    `receipt_id`, when it has one) or in a file it made (listed by that file's receipt), each with the
    bases of exactly the grants that matched them."""
    # What let whom out, and the receipt listing them: the answer's rows, each file's, and the pending
    # changes shown through the review scope (its lines are their basis; no receipt lists them).
    sources = [(ctx.exposed.bases_by_official(ctx.scope), receipt_id)]
    sources += [(exposure.bases_by_official(ctx.scope), rid) for exposure, rid in ctx.files]
    if ctx.reviewed:
        review = frozenset().union(*(grant.bases for grant in ctx.scope_to(REVIEW).grants))
        sources.append((dict.fromkeys(ctx.reviewed, review), None))
    found: dict[int, tuple[str | None, frozenset[str]]] = {}
    for bases_of, rid in sources:
        for official_id, bases in bases_of.items():
            known = found.get(official_id)
            found[official_id] = (rid, bases) if known is None else (known[0] or rid, known[1] | bases)
    if not found:
        return Exposed(None, [])
    cited = frozenset().union(*(bases for _, bases in found.values()))
    rows = [
        {
            "official_id": official_id,
            "receipt_id": None if rid == receipt_id else rid,
            "legal_basis": None if bases == cited else _json(sorted(bases)),
        }
        for official_id, (rid, bases) in found.items()
    ]
    return Exposed(_json(sorted(cited)), rows)


def _json(value: object) -> str:
    return orjson.dumps(value).decode()


async def resolve_access_log(ctx: RequestContext, official: Row[Any], first: int, after: str | None) -> AuditPage:
    """Who read this official's data, newest first: for the official, HR of their ministry or province
    and the national administrator; anyone else gets FORBIDDEN_FIELD."""
    await _may_audit(ctx, official)
    limit, before = check_first(first), _decode(after)
    async with ctx.connect() as conn:
        rows = await audit.accesses(conn, official_id=official.id, before=before, limit=limit + 1)
    return _page(rows, limit, {})


async def _may_audit(ctx: RequestContext, official: Row[Any]) -> None:
    grants = ctx.scope_to(AUDIT).grants
    path: str | None = None
    if any(isinstance(g.predicate, Subtree) for g in grants):
        unit = await ctx.loaders.unit_by_id.load(official.unit_id)
        path = unit.path if unit is not None else None
    if not any(holds(g.predicate, official.id, path, official.top_unit_id) for g in grants):
        raise ForbiddenField(
            "Who read a record is for the official, HR of their ministry or province and the national administrator"
        )


async def resolve_audit_events(ctx: RequestContext, where: EventFilter, first: int, after: str | None) -> AuditPage:
    """Every request the gateway answered for someone it knew, newest first: the national administrator's."""
    if not any(isinstance(g.predicate, Everyone) for g in ctx.scope_to(AUDIT).grants):
        raise Forbidden("The audit of every request is the national administrator's")
    if where.since is not None and where.until is not None and where.since >= where.until:
        raise BadInput("`from` must be before `to`")
    limit, before = check_first(first), _decode(after)
    async with ctx.connect() as conn:
        rows = await audit.events(conn, where, before=before, limit=limit + 1)
        officials = await audit.officials_of(conn, [int(row.id) for row in rows[:limit]])
    return _page(rows, limit, officials)


def _page(rows: Sequence[Row[Any]], limit: int, officials: dict[int, list[int]]) -> AuditPage:
    shown = rows[:limit]
    return AuditPage(shown, [_encode(int(row.id)) for row in shown], len(rows) > limit, officials)


def _encode(event_id: int) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([_CURSOR, event_id])).decode().rstrip("=")


def _decode(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    try:
        name, event_id = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError):
        raise BadInput("`after` is not a cursor this API issued") from None
    if name != _CURSOR or not isinstance(event_id, int) or isinstance(event_id, bool) or not 0 < event_id < 2**63:
        raise BadInput("`after` is not a cursor this API issued")
    return event_id


def instant(value: datetime | None, name: str) -> datetime | None:
    """A filter's instant, which must say its offset (an audit is read across time zones)."""
    if value is not None and value.tzinfo is None:
        raise BadInput(f"`{name}` must carry its offset (2026-11-29T00:00:00+07:00)")
    return value


def utc(moment: datetime) -> datetime:
    """A stored instant, in UTC with its offset: SQLite gives back the UTC it stored, without one."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
