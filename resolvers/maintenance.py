"""Announced maintenance (Decision 832): the national administrator announces a window (policy:
`maintain`), anyone with a token sees the windows ahead, and during one the gateway answers reads only
(gateway/maintenance.py refuses the writes).

The instants are the wall clock's, as the audit's and the receipt log's are (never a test's approval
calendar): a window is a promise made to people, in real time.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sqlalchemy import Row

from db.errors import BadInput, NotFound
from db.queries import maintenance
from db.scoping import Everyone
from policies.rules import MAINTAIN
from resolvers.context import RequestContext
from resolvers.errors import Forbidden
from resolvers.ids import check_text, parse_id

# A read-only window of at most a day: Decision 832 promises a service running around the clock, with
# maintenance the announced exception. Longer work is announced as several windows, each its own
# promise, so no one is told "read-only until next week" by a single entry; it also bounds the
# Retry-After a client is given.
MAX_LENGTH: Final = timedelta(hours=24)
# Announced at most a year ahead: a date further off is a typo (2062 for 2026), not a plan.
MAX_AHEAD: Final = timedelta(days=366)
# A start a little before the gateway's clock is "now" on the administrator's (clocks differ by seconds).
CLOCK_SKEW: Final = timedelta(minutes=1)
# Windows ahead (in effect or to come) at once: what `maintenanceWindows` lists, and every process keeps.
MAX_AHEAD_WINDOWS: Final = 20
# Enough to say what is done and what it affects ("upgrade of the database server; exports unavailable").
MIN_REASON: Final = 5
MAX_REASON: Final = 300


@dataclass(frozen=True, slots=True)
class Window:
    id: int
    start: datetime
    end: datetime
    reason: str

    @classmethod
    def of(cls, row: Row[Any]) -> "Window":
        return cls(id=int(row.id), start=utc(row.starts_at), end=utc(row.ends_at), reason=str(row.reason))


@dataclass(frozen=True, slots=True)
class ReadOnly:
    """The gateway is read-only now, for `window`, until `until` (the end of the windows that follow
    it without a gap: a client told to come back then finds it writable)."""

    window: Window
    until: datetime


def wall_clock() -> datetime:
    return datetime.now(UTC)


def utc(moment: datetime) -> datetime:
    """A stored instant with its offset: SQLite gives back the UTC it stored, without one."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def read_only(windows: Sequence[Window], now: datetime) -> ReadOnly | None:
    """The window in effect at `now`, if any, and when the read-only time it begins ends."""
    ordered = sorted(windows, key=lambda w: (w.start, w.id))
    current = next((w for w in ordered if w.start <= now < w.end), None)
    if current is None:
        return None
    until = current.end
    for window in ordered:
        if window.start <= until < window.end:
            until = window.end
    return ReadOnly(current, until)


async def windows_ahead(conn: Any, now: datetime) -> list[Window]:
    return [Window.of(row) for row in await maintenance.list_ahead(conn, now=now, limit=MAX_AHEAD_WINDOWS)]


async def resolve_maintenance_windows(ctx: RequestContext) -> list[Window]:
    """The windows in effect or to come, soonest first: anyone with a token may see them."""
    async with ctx.connect() as conn:
        return await windows_ahead(conn, wall_clock())


def _may_maintain(ctx: RequestContext) -> None:
    if not any(isinstance(g.predicate, Everyone) for g in ctx.scope_to(MAINTAIN).grants):
        raise Forbidden("Only the national administrator announces or cancels maintenance")


def _checked(start: datetime, end: datetime, reason: str, now: datetime) -> tuple[datetime, datetime, str]:
    if start.tzinfo is None or end.tzinfo is None:
        raise BadInput("`start` and `end` must carry their offset (2026-12-06T22:00:00+07:00)")
    try:
        start, end = start.astimezone(UTC), end.astimezone(UTC)
    except OverflowError:  # year 1 or 9999 with an offset: no instant in UTC (found by review)
        raise BadInput("`start` and `end` must be instants between the years 2 and 9998") from None
    reason = check_text(reason, "reason").strip()
    if end <= start:
        raise BadInput("`end` must be after `start`")
    if start < now - CLOCK_SKEW:
        raise BadInput("`start` is in the past: a maintenance window is announced before it begins")
    if start > now + MAX_AHEAD:
        raise BadInput(f"`start` is more than {MAX_AHEAD.days} days ahead")
    if end - start > MAX_LENGTH:
        raise BadInput("A window lasts at most 24 hours: announce longer work as several windows")
    if not MIN_REASON <= len(reason) <= MAX_REASON:
        raise BadInput(f"`reason` must be {MIN_REASON} to {MAX_REASON} characters: what is done, and what it affects")
    return start, end, reason


async def resolve_announce_maintenance(ctx: RequestContext, start: datetime, end: datetime, reason: str) -> Window:
    """Announce a read-only window (national administrator). Every gateway process turns read-only when
    it begins (within a few seconds of the announcement, for one that begins at once)."""
    _may_maintain(ctx)
    now = wall_clock()
    start, end, reason = _checked(start, end, reason, now)
    async with ctx.write() as conn:
        if await maintenance.count_ahead(conn, now=now) >= MAX_AHEAD_WINDOWS:
            raise BadInput(f"{MAX_AHEAD_WINDOWS} windows are announced already: cancel one, or wait for one to end")
        row = await maintenance.create(
            conn, starts_at=start, ends_at=end, reason=reason, announced_by=ctx.principal.username, now=now
        )
    return Window.of(row)


async def resolve_cancel_maintenance(ctx: RequestContext, window_id: str) -> Window:
    """Cancel a window not ended yet (national administrator): one in effect ends at once, so the
    administrator can end maintenance early."""
    _may_maintain(ctx)
    wanted = parse_id(window_id, "maintenance window")
    async with ctx.write() as conn:
        row = await maintenance.cancel(conn, window_id=wanted, cancelled_by=ctx.principal.username, now=wall_clock())
    if row is None:
        raise NotFound(f"No maintenance window {wanted} in effect or to come")
    return Window.of(row)
