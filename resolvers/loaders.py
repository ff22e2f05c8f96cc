"""Per-request dataloaders, each bound to the request's scope when it is created.

Named <Thing>By<Key>Loader as in Saleor. A loader batches the keys asked for in one tick of the event
loop into one SQL statement, so a page of officials costs the same number of statements at any size.
"""

import asyncio
from collections import defaultdict
from collections.abc import Callable, Coroutine, Hashable, Sequence
from contextlib import AbstractAsyncContextManager
from functools import cached_property
from typing import Any, Generic, TypeVar

from aiodataloader import DataLoader
from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from db.catalog import RecordKind
from db.queries import changes, officials, positions, records, units
from db.scoping import Scope

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
Fetch = Callable[[AsyncConnection, Scope, list[Any]], Coroutine[Any, Any, list[Row[Any]]]]
# The request's way to a connection (RequestContext.connect): pooled, or its transaction once it wrote.
Connect = Callable[[], AbstractAsyncContextManager[AsyncConnection]]


class _ScopedLoader(DataLoader[K, V], Generic[K, V]):
    _fetch: Fetch

    def __init__(self, connect: Connect, scope: Scope, pending: set["asyncio.Future[Any]"]) -> None:
        super().__init__()
        self.connect = connect
        self.scope = scope
        self.pending = pending

    def load(self, key: K) -> "asyncio.Future[V]":
        """A load, kept among the request's pending ones until its batch answers (Loaders.settle)."""
        future = super().load(key)
        if not future.done():
            self.pending.add(future)
            future.add_done_callback(self.pending.discard)
        return future

    async def rows(self, keys: Sequence[K]) -> list[Row[Any]]:
        async with self.connect() as conn:
            return await type(self)._fetch(conn, self.scope, list(keys))


class _ByIdLoader(_ScopedLoader[int, Row[Any] | None]):
    """One row per key, or None where the key is missing or outside the scope."""

    async def batch_load_fn(self, keys: Sequence[int]) -> list[Row[Any] | None]:
        by_id = {row.id: row for row in await self.rows(keys)}
        return [by_id.get(key) for key in keys]


class _GroupLoader(_ScopedLoader[Any, list[Row[Any]]]):
    """A list of rows per key, grouped by `_key` (rows arrive ordered as the query orders them)."""

    _key: str

    async def batch_load_fn(self, keys: Sequence[Any]) -> list[list[Row[Any]]]:
        groups: dict[Any, list[Row[Any]]] = defaultdict(list)
        for row in await self.rows(keys):
            groups[getattr(row, self._key)].append(row)
        return [groups.get(key, []) for key in keys]


class OfficialByIdLoader(_ByIdLoader):
    @staticmethod
    async def _fetch(conn: AsyncConnection, scope: Scope, keys: list[int]) -> list[Row[Any]]:
        return await officials.get_many(conn, scope=scope, official_ids=keys)


class UnitByIdLoader(_ByIdLoader):
    @staticmethod
    async def _fetch(conn: AsyncConnection, scope: Scope, keys: list[int]) -> list[Row[Any]]:
        return await units.get_many(conn, scope=scope, unit_ids=keys)


class PositionByIdLoader(_ByIdLoader):
    @staticmethod
    async def _fetch(conn: AsyncConnection, scope: Scope, keys: list[int]) -> list[Row[Any]]:
        return await positions.get_many(conn, scope=scope, position_ids=keys)


class UnitsByParentLoader(_GroupLoader):
    """Children of a unit; the key None stands for the top-level units."""

    _key = "parent_id"

    @staticmethod
    async def _fetch(conn: AsyncConnection, scope: Scope, keys: list[int | None]) -> list[Row[Any]]:
        return await units.list_children(conn, scope=scope, parent_ids=keys)


class PositionsByUnitLoader(_GroupLoader):
    _key = "unit_id"

    @staticmethod
    async def _fetch(conn: AsyncConnection, scope: Scope, keys: list[int]) -> list[Row[Any]]:
        return await positions.list_by_units(conn, scope=scope, unit_ids=keys)


class RecordsByOfficialLoader(_GroupLoader):
    """One child-record kind (training, family, …) for many officials at once."""

    _key = "official_id"

    def __init__(self, connect: Connect, scope: Scope, pending: set["asyncio.Future[Any]"], kind: RecordKind) -> None:
        super().__init__(connect, scope, pending)
        self.kind = kind

    async def rows(self, keys: Sequence[int]) -> list[Row[Any]]:
        async with self.connect() as conn:
            return await records.list_by_officials(conn, scope=self.scope, kind=self.kind, official_ids=keys)


class VersionsByOfficialLoader(_GroupLoader):
    """The versions approvals made of officials' records, newest first."""

    _key = "official_id"

    @staticmethod
    async def _fetch(conn: AsyncConnection, scope: Scope, keys: list[int]) -> list[Row[Any]]:
        return await changes.versions_of(conn, scope=scope, official_ids=keys)


class ChangesByOfficialLoader(_GroupLoader):
    """Pending changes of officials, oldest first, through the scope of those who review them."""

    _key = "official_id"

    @staticmethod
    async def _fetch(conn: AsyncConnection, scope: Scope, keys: list[int]) -> list[Row[Any]]:
        return await changes.of_officials(conn, scope=scope, official_ids=keys)


class Loaders:
    """Created once per request; each loader only when first used."""

    def __init__(self, connect: Connect, scope: Scope) -> None:
        self._connect = connect
        self._scope = scope
        self._records: dict[str, RecordsByOfficialLoader] = {}
        self._changes: ChangesByOfficialLoader | None = None
        self._pending: set[asyncio.Future[Any]] = set()

    async def settle(self) -> None:
        """Run the batches already asked for. When a field's error ends an operation early, graphql-core
        returns while a sibling's batch may still be queued: it runs now, before the answer
        (RequestContext.settle then refuses any later read)."""
        while self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)

    @cached_property
    def official_by_id(self) -> OfficialByIdLoader:
        return OfficialByIdLoader(self._connect, self._scope, self._pending)

    @cached_property
    def unit_by_id(self) -> UnitByIdLoader:
        return UnitByIdLoader(self._connect, self._scope, self._pending)

    @cached_property
    def units_by_parent(self) -> UnitsByParentLoader:
        return UnitsByParentLoader(self._connect, self._scope, self._pending)

    @cached_property
    def position_by_id(self) -> PositionByIdLoader:
        return PositionByIdLoader(self._connect, self._scope, self._pending)

    @cached_property
    def positions_by_unit(self) -> PositionsByUnitLoader:
        return PositionsByUnitLoader(self._connect, self._scope, self._pending)

    @cached_property
    def versions_by_official(self) -> VersionsByOfficialLoader:
        return VersionsByOfficialLoader(self._connect, self._scope, self._pending)

    def changes_by_official(self, review: Scope) -> ChangesByOfficialLoader:
        """Bound to `review`, the principal's scope for reviewing changes (not its reading scope)."""
        loader = self._changes
        if loader is None or loader.scope is not review:
            loader = self._changes = ChangesByOfficialLoader(self._connect, review, self._pending)
        return loader

    def records_by_official(self, kind: RecordKind) -> RecordsByOfficialLoader:
        loader = self._records.get(kind)
        if loader is None:
            loader = self._records[kind] = RecordsByOfficialLoader(self._connect, self._scope, self._pending, kind)
        return loader
