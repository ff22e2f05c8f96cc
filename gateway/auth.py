"""Authentication: a bearer token (or a username and password at /auth/token) becomes a Principal."""

import time
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.concurrency import run_in_threadpool

from db.errors import Unauthenticated
from db.queries import accounts
from gateway.config import Settings
from gateway.crypto import KeyRing
from gateway.passwords import verify_password
from policies.principal import Principal


def principal_from_account(row: Row[Any]) -> Principal:
    return Principal(
        account_id=row.id,
        username=row.username,
        kind=row.kind,
        roles=frozenset(row.roles.split()),
        unit_id=row.unit_id,
        unit_code=row.unit_code,
        official_id=row.official_id,
        agency_code=row.agency_code,
    )


class Authenticator:
    def __init__(self, settings: Settings, keys: KeyRing, engine: AsyncEngine) -> None:
        self.settings = settings
        self.keys = keys
        self.engine = engine
        # username -> (expires at, principal or None): a busy partner sends many requests a second,
        # and each would otherwise read its account again.
        self._cache: dict[str, tuple[float, Principal | None]] = {}

    async def from_authorization(self, header: str | None) -> Principal:
        if not header:
            raise Unauthenticated("Missing `Authorization: Bearer <token>` header")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("Authorization must use the Bearer scheme")
        claims = self.keys.verify_token(token.strip(), issuer=self.settings.issuer, audience=self.settings.audience)
        principal = await self._principal(str(claims["sub"]))
        if principal is None:
            raise Unauthenticated("The token's account does not exist or is disabled")
        return principal

    async def _principal(self, username: str) -> Principal | None:
        now = time.monotonic()
        cached = self._cache.get(username)
        if cached is not None and cached[0] > now:
            return cached[1]
        async with self.engine.connect() as conn:
            row = await accounts.get_by_username(conn, username)
        principal = principal_from_account(row) if row is not None and not row.disabled else None
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[username] = (now + self.settings.account_cache_seconds, principal)
        return principal

    async def password_login(self, username: str, password: str) -> str:
        async with self.engine.connect() as conn:
            row = await accounts.get_by_username(conn, username)
        usable = row is not None and not row.disabled and row.kind != "agency"
        # Verified even for an unknown account, so timing does not reveal which usernames exist.
        # argon2 takes tens of milliseconds of CPU: off the event loop, or every request waits for it.
        verified = await run_in_threadpool(verify_password, row.password_hash if row and usable else None, password)
        if not verified or row is None:
            raise Unauthenticated("Unknown username or wrong password")
        return self.issue(username)

    def issue(self, username: str) -> str:
        return self.keys.issue_token(
            subject=username,
            issuer=self.settings.issuer,
            audience=self.settings.audience,
            ttl_seconds=self.settings.token_ttl_seconds,
        )
