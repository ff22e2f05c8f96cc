"""What every resolver gets: who is asking, their scope, the database, and this request's loaders."""

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db.engine import reading
from db.scoping import Scope
from evidence.records import Exposure, Operation
from policies.principal import Principal
from policies.written import Scopes
from resolvers.events import EventBus
from resolvers.loaders import Loaders
from resolvers.months import Calendar
from resolvers.receipts import ReceiptService
from resolvers.transaction import Transaction

# Pooled connections one request holds at once. graphql-core runs sibling resolvers concurrently: a list
# of 60 units each asking its page of officials would otherwise take 60 connections at once, exhaust the
# pool (10 + 10 overflow per process) and answer 503 after the pool's wait, its own request and others'.
MAX_CONNECTIONS_PER_REQUEST: Final = 4


class RequestAnswered(RuntimeError):
    """A read asked for after its request was answered (by a resolver whose operation ended early)."""


@dataclass
class RequestContext:
    principal: Principal
    engine: AsyncEngine
    # One scope per request, fixed before any resolver runs: every loader is bound to it.
    scope: Scope
    # Where the scope came from: the authorizer (for decisions off the read path, such as managing
    # grants) and the cache to clear when a grant changes.
    scopes: Scopes
    # Signs and logs receipts (exports, and responses when asked); None where no gateway runs (CLI).
    receipts: ReceiptService | None = None
    # Filled while the request runs, for its receipt: the operation as received, and the officials
    # whose data the response carries.
    operation: Operation | None = None
    # Whether the request named its operation (`operationName`): a document of several needs it.
    operation_named: bool = False
    # Whether the caller may introspect the schema (a partner in production only by agreement; the
    # gateway decides per request, gateway/documents.py; schema/introspection.py refuses).
    introspection: bool = True
    # Which path answered: "compiled" (planner/) or "resolvers" (the fallback); None before execution.
    read_path: str | None = None
    # The operation's static cost (fields of the answer, rows of an export: schema/cost.py), once worked
    # out before execution, refused or not: what an agency's budget is charged (gateway/budgets.py) and
    # `extensions.cost.requested` says. None when the request never got that far.
    cost: int | None = None
    exposed: Exposure = field(default_factory=Exposure)
    # The files this request made (exports, CVs): the officials each holds, and the receipt that lists
    # them; the audit records them beside what the answer itself carried (resolvers/audit.py).
    files: list[tuple[Exposure, str]] = field(default_factory=list)
    # The officials whose pending changes (their proposed values, or whose they are) the answer showed, read
    # through the review scope: the audit records them beside `exposed` (resolvers/audit.py).
    reviewed: set[int] = field(default_factory=set)
    # The operation's variables as the audit keeps them: free text replaced (schema/audit.py redact).
    audit_variables: dict[str, Any] | None = None
    # The gateway gives each request one write transaction, which it commits after the whole answer
    # (resolvers.transaction); without one (the CLI), each write commits on its own.
    transaction: Transaction | None = None
    # Where clients reach the gateway (CCVC_PUBLIC_URL, else the request's own): addresses the answer
    # gives, such as a CV's link to its receipt's verification.
    base_url: str = ""
    # Aggregates' protected answers suppress counts below this (resolvers/aggregates.py).
    small_cell: int = 5
    # The clock and the approval window (resolvers/months.py); tests give a clock of their own.
    calendar: Calendar = field(default_factory=Calendar)
    # Live events (subscriptions): where approvals publish; None where no gateway runs (CLI).
    events: EventBus | None = None
    # What a WebSocket's connection_init carried (strawberry sets it): the subscriber's token, and when
    # that token expires (seconds since the epoch): its subscriptions end then.
    connection_params: dict[str, Any] | None = None
    expires_at: float | None = None
    loaders: Loaders = field(init=False)
    # Once the operation has its answer, nothing more is read for it (settle).
    answered: bool = False
    _reading: set["asyncio.Task[Any]"] = field(default_factory=set)
    _scopes_to: dict[str, Scope] = field(default_factory=dict)
    _pooled: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(MAX_CONNECTIONS_PER_REQUEST))

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.connect, self.scope)

    def scope_to(self, action: str) -> Scope:
        """The principal's scope for an action other than reading (proposing, reviewing, approving)."""
        scope = self._scopes_to.get(action)
        if scope is None:
            scope = self._scopes_to[action] = self.scopes.authorizer.scope_to(self.principal, action)
        return scope

    async def settle(self) -> None:
        """End the operation's reading. A field's error can end an operation while a sibling's resolver
        still runs in a task of graphql-core's: its queued batches and the reads under way are awaited,
        later reads refused (RequestAnswered), so that a request's statements all run before its answer
        and within its cost."""
        await self.loaders.settle()
        self.answered = True
        this = asyncio.current_task()
        while busy := [task for task in self._reading if task is not this]:
            await asyncio.gather(*busy, return_exceptions=True)

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[AsyncConnection]:
        """A connection to read through: a pooled one, or the request's transaction once it has written
        (its reads then see its writes, and never wait for a second connection while it holds a lock)."""
        if self.answered:
            raise RequestAnswered("The request has been answered; nothing more is read for it")
        task = asyncio.current_task()
        reading = {task} if task is not None else set()
        self._reading |= reading
        try:
            async with self._connection() as conn:
                yield conn
        finally:
            self._reading -= reading

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[AsyncConnection]:
        if self.transaction is not None and self.transaction.open:
            async with self.transaction.using() as conn:
                yield conn
            return
        async with self._pooled, reading(self.engine) as conn:
            yield conn

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A connection to write through: the request's transaction, or a transaction of its own."""
        if self.transaction is not None:
            async with self.transaction.using() as conn:
                yield conn
            return
        async with self.engine.begin() as conn:
            yield conn

    def after_commit(self, action: Callable[[], None]) -> None:
        """Run `action` once this request's writes are committed (at once when they already are)."""
        if self.transaction is not None and self.transaction.open:
            self.transaction.after_commit(action)
        else:
            action()
