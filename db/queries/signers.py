"""Public keys of the people who sign what the gateway accepts (approvers' monthly approvals).

Read by account, before any scope matters: a key is not data about officials, and whether its holder
may approve a unit is decided by the policy, apart from whether the signature verifies.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncConnection

from db.models import Account, SignerKey, table_of
from db.queries import keys

SIGNER_KEY = table_of(SignerKey)
ACCOUNT = table_of(Account)


async def add_key(
    conn: AsyncConnection, *, account_id: int, kid: str, public_jwk: dict[str, str], now: datetime
) -> None:
    """Register a public key. `kid` is unique: one key pair, one signer."""
    await keys.add(conn, SIGNER_KEY, owner="account_id", owner_id=account_id, kid=kid, public_jwk=public_jwk, now=now)


async def revoke_key(conn: AsyncConnection, *, kid: str, now: datetime) -> bool:
    """Revoke an active key; False when no active key has this kid."""
    return await keys.revoke(conn, SIGNER_KEY, kid=kid, now=now)


async def active_keys(conn: AsyncConnection, *, account_id: int) -> dict[str, dict[str, str]]:
    """kid -> public JWK of every key of the account that is not revoked."""
    return await keys.active(conn, SIGNER_KEY, owner="account_id", owner_id=account_id)


async def list_(conn: AsyncConnection) -> list[Row[Any]]:
    """Every registered key with its account's username, for the operator."""
    stmt = (
        select(SIGNER_KEY.c.kid, SIGNER_KEY.c.created_at, SIGNER_KEY.c.revoked_at, ACCOUNT.c.username)
        .join(ACCOUNT, ACCOUNT.c.id == SIGNER_KEY.c.account_id)
        .order_by(ACCOUNT.c.username, SIGNER_KEY.c.created_at)
    )
    return list((await conn.execute(stmt)).all())
