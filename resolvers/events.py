"""Live events (subscriptions): what an approval tells subscribers, and how it reaches them.

An approval publishes one `ApprovalEvent` once its transaction commits. Within a process, a bus fans
it out to every subscription's queue; across processes (PostgreSQL), the event is a NOTIFY sent in the
approval's own transaction, so PostgreSQL delivers it only if the approval committed, to every gateway
process LISTENing (db/events.py), which fans it out locally. On SQLite (one process) it is handed to the
bus after the commit.

Delivery is live, not a log: a subscriber that is slow loses the oldest events it has not read (its
queue is bounded) rather than holding the gateway's memory, and one connected after an event does not
get it; a client re-reads (workforceStats, approvalBatch) when it reconnects.
"""

import asyncio
import logging
from collections.abc import AsyncGenerator
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any, Final

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

from db import events as pg_events
from resolvers.transaction import Transaction

log = logging.getLogger("ccvc.events")

# Events one subscription holds unread before the oldest are dropped.
QUEUE: Final = 100


@dataclass(frozen=True, slots=True)
class ApprovalEvent:
    """A unit's batch approved: who, when, how many changes, and the units whose officials' counted
    fields (unit, status, the dimensions of aggregates) it changed, before and after: each unit's path
    with the fields (by policy name) changed there, so that a subscriber hears only of fields it reads."""

    approval_id: int
    unit_id: int
    unit_path: str
    period: str
    change_count: int
    approved_by: str
    approved_at: datetime
    # (unit path, fields changed there): each official's unit before and after, with what changed.
    counted: tuple[tuple[str, tuple[str, ...]], ...]
    # Folded into the batch's unit (coarse): every unit below it may be one of those changed.
    folded: bool = False

    def to_json(self) -> bytes:
        return orjson.dumps(asdict(self))

    @classmethod
    def from_json(cls, data: bytes | str) -> "ApprovalEvent":
        raw: dict[str, Any] = orjson.loads(data)
        raw["approved_at"] = datetime.fromisoformat(raw["approved_at"])
        raw["counted"] = tuple((str(path), tuple(map(str, fields))) for path, fields in raw["counted"])
        return cls(**raw)

    def coarse(self) -> "ApprovalEvent":
        """The same, its units folded into the batch's own (a NOTIFY payload holds 8000 bytes): its
        subscribers below hear of it even where nothing of theirs changed, never of a field they do not read."""
        fields = tuple(sorted({field for _, changed in self.counted for field in changed}))
        return replace(self, counted=((self.unit_path, fields),) if fields else (), folded=True)

    def changed(self, unit_path: str, readable: frozenset[str]) -> bool:
        """Whether the approval changed a field of `readable` of an official of the unit (or below it)."""
        return any(
            readable.intersection(fields) and (within(path, unit_path) or (self.folded and within(unit_path, path)))
            for path, fields in self.counted
        )


class EventBus:
    """Fans events out to this process's subscriptions; `publish` sends one as the back end can."""

    def __init__(self) -> None:
        self._queues: set[asyncio.Queue[ApprovalEvent]] = set()

    async def publish(self, conn: AsyncConnection, transaction: Transaction | None, event: ApprovalEvent) -> None:
        """Send `event` once the writes on `conn` are committed."""
        if conn.dialect.name == "postgresql":
            payload = event.to_json()
            if len(payload) > pg_events.MAX_PAYLOAD:
                payload = event.coarse().to_json()
            await pg_events.notify(conn, payload.decode())  # delivered at commit, to every process
        elif transaction is not None:
            transaction.after_commit(lambda: self.deliver(event))
        else:
            self.deliver(event)

    def deliver(self, event: ApprovalEvent) -> None:
        for queue in self._queues:
            if queue.full():
                queue.get_nowait()  # the oldest unread goes: a slow subscriber does not hold memory
            queue.put_nowait(event)

    def deliver_json(self, payload: str) -> None:
        try:
            event = ApprovalEvent.from_json(payload)
        except (ValueError, TypeError, KeyError):
            log.warning("Ignored a malformed event on the channel")
            return
        self.deliver(event)

    async def events(self) -> AsyncGenerator[ApprovalEvent, None]:
        queue: asyncio.Queue[ApprovalEvent] = asyncio.Queue(maxsize=QUEUE)
        self._queues.add(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self._queues.discard(queue)


# -- subscriptions -------------------------------------------------------------------------------------------


def within(path: str, root: str) -> bool:
    """Whether the unit at `path` is the unit at `root` or below it (paths are "/BNV/VP/")."""
    return path.startswith(root)
