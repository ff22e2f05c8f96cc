"""What every resolver gets: who is asking, their scope, the database, and this request's loaders."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db.scoping import Scope
from policies.principal import Principal
from policies.written import Scopes
from resolvers.loaders import Loaders
from resolvers.receipts import Exposure, Operation, ReceiptService


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
    exposed: Exposure = field(default_factory=Exposure)
    loaders: Loaders = field(init=False)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.engine, self.scope)

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as conn:
            yield conn
