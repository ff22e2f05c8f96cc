"""A request's one write transaction. Whatever a request writes (grants, exports, their receipts, the
answer kept for an Idempotency-Key) goes through one transaction, opened at the first write and
committed by the gateway only once the whole answer is ready: an answer that is an error has changed
nothing, and a mutation's receipt is logged exactly when its effects are."""

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncTransaction


class Transaction:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._conn: AsyncConnection | None = None
        self._transaction: AsyncTransaction | None = None
        self._after_commit: list[Callable[[], None]] = []
        # One statement at a time on the shared connection; the task using it may use it again (a read
        # inside a write) without waiting for itself.
        self._lock = asyncio.Lock()
        self._holder: asyncio.Task[object] | None = None

    @property
    def open(self) -> bool:
        return self._transaction is not None

    @asynccontextmanager
    async def using(self) -> AsyncIterator[AsyncConnection]:
        """The transaction's connection, for this task alone until the block ends. Once a request has
        written, its reads go through here too: a request holding the database's write lock must never
        wait for a second pooled connection, which the requests queued behind that lock hold."""
        task = asyncio.current_task()
        if self._holder is not None and self._holder is task:
            yield await self.connection()
            return
        async with self._lock:
            self._holder = task
            try:
                yield await self.connection()
            finally:
                self._holder = None

    async def connection(self) -> AsyncConnection:
        if self._conn is None:
            conn = await self._engine.connect()
            self._transaction = await conn.begin()
            self._conn = conn
            if conn.dialect.name == "sqlite":
                # Take SQLite's write lock before the first read: a transaction that reads, and later
                # writes after another writer committed, fails with "database is locked" at once.
                await conn.execute(text("UPDATE log_head SET size = size WHERE id = 1"))
        return self._conn

    def after_commit(self, action: Callable[[], None]) -> None:
        """Run `action` once the writes are committed (clearing a cache that must see them)."""
        self._after_commit.append(action)

    async def commit(self) -> None:
        if self._transaction is not None:
            await self._transaction.commit()
            self._transaction = None
            for action in self._after_commit:
                action()
        await self.close()

    async def close(self) -> None:
        """Roll back whatever was not committed, and give the connection back."""
        if self._transaction is not None:
            await self._transaction.rollback()
            self._transaction = None
        self._after_commit.clear()
        if self._conn is not None:
            await self._conn.close()
            self._conn = None
