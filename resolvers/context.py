"""What every resolver gets: who is asking, their scope, the database, and this request's loaders."""

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db.scoping import Scope
from policies.principal import Principal
from policies.written import Scopes
from resolvers.loaders import Loaders
from resolvers.receipts import Exposure, Operation, ReceiptService
from resolvers.transaction import Transaction


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
    # Which path answered: "compiled" (planner/) or "resolvers" (the fallback); None before execution.
    read_path: str | None = None
    exposed: Exposure = field(default_factory=Exposure)
    # The gateway gives each request one write transaction, which it commits after the whole answer
    # (resolvers.transaction); without one (the CLI), each write commits on its own.
    transaction: Transaction | None = None
    loaders: Loaders = field(init=False)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.connect, self.scope)

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[AsyncConnection]:
        """A connection to read through: a pooled one, or the request's transaction once it has written
        (its reads then see its writes, and never wait for a second connection while it holds a lock)."""
        if self.transaction is not None and self.transaction.open:
            async with self.transaction.using() as conn:
                yield conn
            return
        async with self.engine.connect() as conn:
            # Reads need no transaction: each is one statement, and PostgreSQL's READ COMMITTED gives
            # each statement its own snapshot anyway. Without one, a read is one round trip, not three
            # (BEGIN, the statement, and the ROLLBACK that returning the connection to the pool sends).
            await conn.execution_options(isolation_level="AUTOCOMMIT")
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
