"""Read-only during announced maintenance (Decision 832; the windows: resolvers/maintenance.py).

During a window every write is refused before anything of it runs: a mutation (but announcing and
cancelling maintenance, or the administrator could not end a window early) and a ministry's bundle
(POST /sync/batches) get 503 MAINTENANCE with Retry-After, the seconds until the read-only time ends,
and a message naming the window's reason and end. Reads continue; /readyz stays ready and says so.

The windows live in the database, so every process sees the same ones. Each process keeps them for
CACHE_SECONDS, read on a connection of their own: a request's pool and its statements (which tests
count) never pay for the check, and only mutations and bundles look at it at all.
"""

import asyncio
import logging
import math
import time
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime
from typing import Any, Final

from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationType,
    SelectionSetNode,
    get_operation_ast,
)
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.responses import Response
from strawberry.extensions import SchemaExtension

from db.engine import unavailable
from db.errors import DomainError
from gateway.errors import json_error
from resolvers.context import RequestContext
from resolvers.maintenance import ReadOnly, Window, read_only, wall_clock, windows_ahead

log = logging.getLogger("ccvc.maintenance")

# How long a process keeps the windows it read. The check compares the clock with the windows kept, so a
# window announced ahead begins and ends on time in every process; only an announcement or a cancellation
# takes this long to reach the other processes (this one forgets at once). A few seconds: one statement per
# process every few seconds at most, and an operator waits that long after announcing a window that begins
# at once before starting work (docs/operations.md).
CACHE_SECONDS: Final = 5.0
# After a failed read, the windows kept so far serve this long before the next try: a database that is
# down is not asked again by every mutation (each of which then meets the failure itself).
RETRY_SECONDS: Final = 1.0
# The root fields a mutation may hold and still run during maintenance.
ALLOWED: Final = frozenset({"announceMaintenance", "cancelMaintenance", "__typename"})


class UnderMaintenance(DomainError):
    """A write during an announced maintenance window: nothing of it ran."""

    code = "MAINTENANCE"

    def __init__(self, closed: ReadOnly, now: datetime) -> None:
        until = closed.until.isoformat().replace("+00:00", "Z")
        super().__init__(
            f"The gateway is read-only for announced maintenance ({closed.window.reason}) until {until}; "
            "reads continue, nothing of this request was done: send it again after then (Retry-After)"
        )
        self.until = until
        self.retry_after = max(1, math.ceil((closed.until - now).total_seconds()))

    @property
    def extensions(self) -> dict[str, Any]:
        return {"retryAfter": self.retry_after, "until": self.until}

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


def maintenance_response(error: UnderMaintenance) -> Response:
    """A write outside GraphQL (a ministry's bundle) refused: the API's error shape, its Retry-After."""
    return json_error(error.message, error.code, headers=error.headers)


def under_maintenance(result: Any) -> UnderMaintenance | None:
    """The refusal of a mutation for maintenance, if the result is one."""
    for error in getattr(result, "errors", None) or ():
        if isinstance(error.original_error, UnderMaintenance):
            return error.original_error
    return None


class Maintenance:
    """The windows ahead, as this process keeps them."""

    def __init__(
        self, engine: AsyncEngine, *, cache_seconds: float = CACHE_SECONDS, clock: Callable[[], datetime] = wall_clock
    ) -> None:
        self.engine = engine  # its own (pool of one): see the module's docstring
        self.cache_seconds = cache_seconds
        self.clock = clock
        self._windows: tuple[Window, ...] = ()
        self._fresh_until = -math.inf  # time.monotonic(): nothing read yet
        self._reading = asyncio.Lock()

    async def windows(self) -> Sequence[Window]:
        if time.monotonic() >= self._fresh_until:
            async with self._reading:  # one read at a time; those waiting get its result
                if time.monotonic() >= self._fresh_until:
                    await self._read()
        return self._windows

    async def _read(self) -> None:
        try:
            async with self.engine.connect() as conn:
                self._windows = tuple(await windows_ahead(conn, self.clock()))
        except Exception as error:
            if not unavailable(error):
                raise
            log.warning("Could not read the maintenance windows (%s); keeping those known", type(error).__name__)
            self._fresh_until = time.monotonic() + RETRY_SECONDS
            return
        self._fresh_until = time.monotonic() + self.cache_seconds

    def forget(self) -> None:
        """Read the windows again at the next check (this process announced or cancelled one)."""
        self._fresh_until = -math.inf

    async def refusal(self) -> UnderMaintenance | None:
        """What a write is answered now, if the gateway is read-only."""
        now = self.clock()
        closed = read_only(await self.windows(), now)
        return None if closed is None else UnderMaintenance(closed, now)

    async def readiness(self) -> dict[str, Any] | None:
        """What /readyz says while a window is in effect (the gateway is ready: reads continue)."""
        now = self.clock()
        closed = read_only(await self.windows(), now)
        if closed is None:
            return None
        refusal, window = UnderMaintenance(closed, now), closed.window
        return {
            "id": str(window.id),
            "reason": window.reason,
            "start": window.start.isoformat().replace("+00:00", "Z"),
            "until": refusal.until,
            "retryAfter": refusal.retry_after,
        }

    async def close(self) -> None:
        await self.engine.dispose()

    def extension(self) -> type[SchemaExtension]:
        """The schema extension that refuses mutations during maintenance (strawberry makes one per request)."""
        maintenance = self

        class RefusingWritesHere(ReadOnlyDuringMaintenance):
            def __init__(self) -> None:
                super().__init__(maintenance)

        return RefusingWritesHere


class ReadOnlyDuringMaintenance(SchemaExtension):
    """Refuses a mutation during maintenance before it runs (strawberry runs nothing once a result is
    set, as schema/limits.py refuses a request over its cost); the view answers it 503 with Retry-After."""

    def __init__(self, maintenance: Maintenance) -> None:
        self.maintenance = maintenance

    async def on_execute(self) -> AsyncIterator[None]:
        execution = self.execution_context
        context = execution.context
        fields = _mutation_fields(execution.graphql_document, execution.operation_name)
        if isinstance(context, RequestContext) and execution.result is None and fields is not None:
            if not fields <= ALLOWED:
                refusal = await self.maintenance.refusal()
                if refusal is not None:
                    execution.result = ExecutionResult(
                        data=None, errors=[GraphQLError(refusal.message, original_error=refusal)]
                    )
            elif fields != {"__typename"}:
                # Once its writes are committed, this process reads the windows again at once.
                yield
                context.after_commit(self.maintenance.forget)
                return
        yield


def _mutation_fields(document: DocumentNode | None, operation_name: str | None) -> frozenset[str] | None:
    """The root fields of the operation when it is a mutation (through fragments, whether @skip'ped or not:
    a field that might run counts); None for a query or a subscription."""
    operation = get_operation_ast(document, operation_name) if document is not None else None
    if operation is None or operation.operation != OperationType.MUTATION:
        return None
    assert document is not None
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    names: set[str] = set()
    seen: set[str] = set()

    def walk(selections: SelectionSetNode) -> None:
        for selection in selections.selections:
            if isinstance(selection, FieldNode):
                names.add(selection.name.value)
            elif isinstance(selection, InlineFragmentNode):
                walk(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
                seen.add(selection.name.value)
                fragment = fragments.get(selection.name.value)
                if fragment is not None:
                    walk(fragment.selection_set)

    walk(operation.selection_set)
    return frozenset(names)
