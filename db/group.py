"""Group commit: requests that each need a few rows durably written before they are answered (a receipt,
an audit record) hand them to one writer, which writes whatever is waiting in one transaction per batch.
The requests waiting while a batch commits form the next batch, so under load many share one commit
(and one round trip per statement); alone, a request waits for nobody."""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db import work as db_work
from db.work import DatabaseWork

log = logging.getLogger("ccvc.db")

MAX_BATCH: Final = 256

Item = TypeVar("Item")
Result = TypeVar("Result")


@dataclass(slots=True)
class _Pending(Generic[Item, Result]):
    item: Item
    done: asyncio.Future[Result]
    # The requester's database work, which gets its share of the batch's statements.
    work: DatabaseWork | None


class GroupCommit(Generic[Item, Result]):
    """`write(conn, items)` stores a batch inside the transaction it is given and returns one result per
    item, in order; `failure(error)` is the exception every request of a failed batch gets (its cause:
    `error`, which is logged here once per batch)."""

    def __init__(
        self,
        engine: AsyncEngine,
        write: Callable[[AsyncConnection, list[Item]], Awaitable[list[Result]]],
        failure: Callable[[], Exception],
        *,
        what: str,
        atomic: bool = False,
    ) -> None:
        self.engine = engine
        # `write` is one statement, atomic by itself: it runs in autocommit, without the BEGIN and COMMIT
        # round trips around it (a batch is then one round trip).
        self.atomic = atomic
        self._write = write
        self._failure = failure
        self._what = what
        self._pending: list[_Pending[Item, Result]] = []
        self._writer: asyncio.Task[None] | None = None

    async def submit(self, item: Item) -> Result:
        """Store `item` durably (committed) and return what `write` gave for it."""
        done: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._pending.append(_Pending(item, done, db_work.current()))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_batches())
        # Shielded: a caller that goes away does not cancel the batch its item is in.
        return await asyncio.shield(done)

    async def drain(self) -> None:
        """Wait for the writer to finish (its last batch, and giving its connection back): before the
        engine is disposed, so no connection is left to the garbage collector."""
        writer = self._writer
        if writer is not None and not writer.done():
            await asyncio.wait([writer])

    async def _write_batches(self) -> None:
        """Write batches while items wait. Back-to-back batches share one connection, checked (and
        pinged) once when the run starts: under load that saves a round trip per batch, and a batch's
        round trips are what its requests wait for. A batch that fails gives its connection up (a lost
        connection is then invalidated), and the next batch starts on a fresh one."""
        while self._pending:
            try:
                conn = await self.engine.connect()
                if self.atomic:
                    conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            except Exception as error:  # no connection to be had: the next batch fails, not waits
                self._fail(self._take(), error)
                continue
            try:
                while self._pending and await self._write_next(conn):
                    pass
            finally:
                await self._close(conn)

    async def _close(self, conn: AsyncConnection) -> None:
        try:
            await conn.close()
        except Exception:  # a connection that broke: the pool has invalidated it, and every batch has its answer
            log.warning("Closing the %s's connection failed", self._what, exc_info=True)

    def _take(self) -> list[_Pending[Item, Result]]:
        batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
        return batch

    def _fail(self, batch: list[_Pending[Item, Result]], error: Exception) -> None:
        log.error("Could not write %d items to the %s", len(batch), self._what, exc_info=error)
        for pending in batch:
            if not pending.done.done():
                failure = self._failure()
                failure.__cause__ = error
                pending.done.set_exception(failure)

    async def _write_next(self, conn: AsyncConnection) -> bool:
        """One batch, in a transaction of its own on `conn`; False when it failed."""
        batch = self._take()
        try:
            with db_work.measure() as work:
                async with conn.begin():
                    results = await self._write(conn, [pending.item for pending in batch])
        except Exception as error:
            self._fail(batch, error)
            return False
        for pending, result in zip(batch, results, strict=True):
            if pending.work is not None:
                pending.work.add_share(work, len(batch))
            if not pending.done.done():
                pending.done.set_result(result)
        return True
