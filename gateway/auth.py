"""Authentication: a bearer token (or a username and password at /auth/token) becomes a Principal."""

import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.concurrency import run_in_threadpool

from db.engine import reading
from db.queries import accounts, agencies
from evidence.crypto import (
    UNKNOWN_CLIENT_KEY,
    KeyRing,
    assertion_replay_deadline,
    unverified_subject,
    verify_client_assertion,
)
from gateway.config import Settings
from gateway.errors import PasswordGrantRefused
from gateway.passwords import verify_password
from policies.principal import Principal
from resolvers.errors import Unauthenticated

# RFC 7523 §2.2: how a client says its credential is a JWT it signed (`private_key_jwt`).
JWT_BEARER_ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def principal_from_account(row: Row[Any]) -> Principal:
    return Principal(
        account_id=row.id,
        username=row.username,
        kind=row.kind,
        roles=frozenset(row.roles.split()),
        unit_id=row.unit_id,
        unit_code=row.unit_code,
        unit_path=row.unit_path,
        top_unit_id=row.top_unit_id,
        official_id=row.official_id,
        agency_id=row.agency_id,
        agency_code=row.agency_code,
    )


def load_keys(settings: Settings, *, create: bool = True) -> KeyRing:
    """The signing keys. A gateway serving outside production makes a development key when there is
    none (`create`); production refuses any key that was made so."""
    keys = KeyRing.load(
        settings.keys_dir, create=create and settings.env != "production", max_token_bytes=settings.max_token_bytes
    )
    if settings.env == "production":
        keys.refuse_development_keys()
    return keys


class Authenticator:
    def __init__(self, settings: Settings, keys: KeyRing, engine: AsyncEngine) -> None:
        self.settings = settings
        self.keys = keys
        self.engine = engine
        # username -> (expires at, principal or None): a busy partner sends many requests a second,
        # and each would otherwise read its account again.
        self._cache: dict[str, tuple[float, Principal | None]] = {}

    async def from_authorization(self, header: str | None) -> Principal:
        principal, _ = await self.with_expiry(header)
        return principal

    async def with_expiry(self, header: str | None) -> tuple[Principal, float]:
        """The principal, and when its token expires (seconds since the epoch): what a WebSocket, which
        authenticates once, holds its subscriptions to."""
        if not header:
            raise Unauthenticated("Missing `Authorization: Bearer <token>` header")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer":
            raise Unauthenticated("Authorization must use the Bearer scheme")
        if not token.strip():
            raise Unauthenticated("The bearer token is empty (did the command that made it fail?)")
        self.keys.refresh()  # a rotation made by `ccvc keys rotate` bites within a second
        claims = self.keys.verify_token(
            token.strip(),
            issuer=self.settings.issuer,
            audience=self.settings.audience,
            ttl_seconds=self.settings.token_ttl_seconds,
        )
        principal = await self._principal(str(claims["sub"]))
        if principal is None:
            raise Unauthenticated("The token's account does not exist or is disabled")
        return principal, float(claims["exp"])

    async def _principal(self, username: str) -> Principal | None:
        now = time.monotonic()
        cached = self._cache.get(username)
        if cached is not None and cached[0] > now:
            return cached[1]
        async with reading(self.engine) as conn:
            row = await accounts.get_by_username(conn, username)
        principal = principal_from_account(row) if row is not None and not row.disabled else None
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[username] = (now + self.settings.account_cache_seconds, principal)
        return principal

    async def password_login(self, username: str, password: str) -> str:
        async with self.engine.connect() as conn:
            row = await accounts.get_by_username(conn, username)
        if row is not None and row.kind == "agency" and not row.disabled:
            # Agencies are institutions whose account names are public; telling one the right way in
            # reveals nothing, and a partner's developer would otherwise hunt for a "wrong password".
            raise PasswordGrantRefused(
                f"'{username}' is a partner agency: it signs in with grant_type=client_credentials and a client "
                "assertion signed with its registered key (README, Partner agencies; `ccvc agencies assertion`)"
            )
        usable = row is not None and not row.disabled
        # Verified even for an unknown account, so timing does not reveal which usernames exist.
        # argon2 takes tens of milliseconds of CPU: off the event loop, or every request waits for it.
        verified = await run_in_threadpool(verify_password, row.password_hash if row and usable else None, password)
        if not verified or row is None:
            raise Unauthenticated("Unknown username or wrong password")
        return self.issue(username)

    async def client_credentials(self, assertion: str, client_id: str | None) -> str:
        """RFC 7523 client authentication: a partner agency proves it holds a registered key by
        signing a short-lived assertion, and gets the same access token `issue` makes for its account.

        `client_id` is the agency's account username (`agency.bhxh`); when absent, the assertion's
        unverified `sub` names it, which is safe because verification then requires iss == sub ==
        client_id under that client's own keys. The assertion's `aud` must be the gateway's issuer.
        """
        client = client_id or unverified_subject(assertion, max_token_bytes=self.settings.max_token_bytes)
        agency_id, keys = await self._client_keys(client)
        claims = verify_client_assertion(
            assertion,
            keys=keys,
            audience=self.settings.issuer,
            client_id=client,
            max_token_bytes=self.settings.max_token_bytes,
        )
        if agency_id is None:  # unreachable: no keys, so verification has already failed
            raise Unauthenticated(UNKNOWN_CLIENT_KEY)
        # Only after the signature: an unauthenticated caller must not be able to fill the table.
        forget_at = datetime.fromtimestamp(assertion_replay_deadline(claims), UTC)
        async with self.engine.begin() as conn:
            fresh = await agencies.record_assertion(
                conn, agency_id=agency_id, jti=claims["jti"], expires_at=forget_at, now=datetime.now(UTC)
            )
        if not fresh:
            raise Unauthenticated("Client assertion has already been used")
        return self.issue(client)

    async def _client_keys(self, client: str) -> tuple[int | None, dict[str, dict[str, str]]]:
        """The agency id and active keys behind a client id. An unknown, disabled or non-agency account
        gets no keys, so verification fails with the same message as an unregistered key."""
        async with self.engine.connect() as conn:
            row = await accounts.get_by_username(conn, client)
            if row is None or row.disabled or row.kind != "agency" or row.agency_id is None:
                return None, {}
            return row.agency_id, await agencies.active_keys(conn, agency_id=row.agency_id)

    def issue(self, username: str) -> str:
        return self.keys.issue_token(
            subject=username,
            issuer=self.settings.issuer,
            audience=self.settings.audience,
            ttl_seconds=self.settings.token_ttl_seconds,
        )
