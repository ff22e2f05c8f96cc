"""Registered public keys (P-256, as JWKs), whoever holds the private half: a partner agency (its
client assertions, `agency_key`) or a signer (an approver's approvals, `signer_key`). The tables differ
only in whose key it is (`owner`: the agency_id or account_id column); registering, revoking and
listing the active keys are the same, here once.

Read before any scope matters: a key is not data about officials.
"""

import json
from datetime import datetime

from sqlalchemy import Table, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from db.errors import BadInput


async def add(
    conn: AsyncConnection,
    table: Table,
    *,
    owner: str,
    owner_id: int,
    kid: str,
    public_jwk: dict[str, str],
    now: datetime,
) -> None:
    """Register a public key. `kid` is unique in its table: one key pair, one holder."""
    values = {owner: owner_id, "kid": kid, "public_jwk": json.dumps(public_jwk, sort_keys=True), "created_at": now}
    try:
        # A savepoint, so the unique violation leaves the caller's transaction usable (PostgreSQL).
        async with conn.begin_nested():
            await conn.execute(insert(table).values(**values))
    except IntegrityError:
        raise BadInput(f"Key {kid} is already registered") from None


async def revoke(conn: AsyncConnection, table: Table, *, kid: str, now: datetime) -> bool:
    """Revoke an active key; False when no active key has this kid."""
    stmt = update(table).where(table.c.kid == kid, table.c.revoked_at.is_(None)).values(revoked_at=now)
    return bool((await conn.execute(stmt)).rowcount)


async def active(conn: AsyncConnection, table: Table, *, owner: str, owner_id: int) -> dict[str, dict[str, str]]:
    """kid -> public JWK of every key of the holder that is not revoked."""
    stmt = select(table.c.kid, table.c.public_jwk).where(table.c[owner] == owner_id, table.c.revoked_at.is_(None))
    return {row.kid: json.loads(row.public_jwk) for row in await conn.execute(stmt)}
