"""PostgreSQL's LISTEN/NOTIFY for live events across gateway processes (resolvers/events.py).

NOTIFY is sent in the writing transaction (PostgreSQL delivers it at commit, and never on rollback).
Each gateway process keeps one connection of its own, outside the pool, LISTENing; if it drops, it
reconnects with a growing delay, and events sent meanwhile are lost to that process (they are live
updates, not a log)."""

import asyncio
import logging
from collections.abc import Callable
from typing import Final

import asyncpg
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection

log = logging.getLogger("ccvc.events")

CHANNEL: Final = "ccvc_events"
# NOTIFY's payload is at most 8000 bytes (resolvers/events.py folds a larger event; this refuses the rest).
MAX_PAYLOAD: Final = 7_900
CONNECT_SECONDS: Final = 5


async def notify(conn: AsyncConnection, payload: str) -> None:
    if len(payload.encode()) > MAX_PAYLOAD:
        log.warning("An event of %d bytes was not sent (NOTIFY takes at most 8000)", len(payload.encode()))
        return
    await conn.execute(select(func.pg_notify(CHANNEL, payload)))


class Listener:
    """One LISTEN connection per process, handing each payload to `deliver`."""

    def __init__(self, database_url: str, deliver: Callable[[str], None]) -> None:
        self.dsn = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
        self.deliver = deliver
        self.connected = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="ccvc-listen")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        delay = 0.5
        while True:
            try:
                conn = await asyncpg.connect(self.dsn, timeout=CONNECT_SECONDS)
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                log.warning("Cannot LISTEN for events (%s); retrying in %.0f s", type(error).__name__, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30)
                continue
            delay = 0.5
            closed = asyncio.Event()
            conn.add_termination_listener(lambda _, ended=closed: ended.set())
            await conn.add_listener(CHANNEL, lambda _c, _pid, _channel, payload: self.deliver(payload))
            self.connected.set()
            try:
                await closed.wait()
            finally:
                self.connected.clear()
                if not conn.is_closed():
                    await conn.close()
