"""What every resolver gets: who is asking, their scope, the database, and this request's loaders."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db.scoping import Scope
from policies.principal import Principal
from policies.written import Scopes
from resolvers.loaders import Loaders


@dataclass
class RequestContext:
    principal: Principal
    engine: AsyncEngine
    # One scope per request, fixed before any resolver runs: every loader is bound to it.
    scope: Scope
    # Where the scope came from: the authorizer (for decisions off the read path, such as managing
    # grants) and the cache to clear when a grant changes.
    scopes: Scopes
    loaders: Loaders = field(init=False)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.engine, self.scope)

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as conn:
            yield conn
