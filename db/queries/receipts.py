"""The receipt log's storage: dense leaf indices handed out under the `log_head` row lock, the leaves,
and the write-once perfect-subtree hashes (`merkle_node`)."""

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Row, and_, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from db.models import LogHead, MerkleNode, ReceiptEntry, table_of

ENTRY = table_of(ReceiptEntry)
HEAD = table_of(LogHead)
NODE = table_of(MerkleNode)

Node = tuple[int, int]


async def reserve(conn: AsyncConnection, *, count: int) -> tuple[int, str | None, int]:
    """Take the next `count` leaf indices: (the first, and the data version the receipts cite: period
    and version). The UPDATE locks the head row until the caller's transaction ends, so appends from
    every process queue here and indices stay dense; being the transaction's first statement, it also
    makes SQLite take its write lock at once (no lock upgrade to fail). The version is read from the
    row the UPDATE locked, so an approval committed while it waited is seen (PostgreSQL re-reads a
    locked row's newest version; a subquery would read the statement's older snapshot)."""
    stmt = (
        update(HEAD)
        .where(HEAD.c.id == 1)
        .values(size=HEAD.c.size + count)
        .returning(HEAD.c.size, HEAD.c.period, HEAD.c.version)
    )
    size, period, version = (await conn.execute(stmt)).one()
    return int(size) - count, period, int(version)


async def insert_entries(conn: AsyncConnection, entries: Sequence[Mapping[str, Any]]) -> None:
    """Leaves with keys leaf_index, rid, receipt, leaf_hash, account_id, created_at."""
    await conn.execute(insert(ENTRY), list(entries))


async def head(conn: AsyncConnection) -> Row[Any]:
    return (await conn.execute(select(HEAD.c.size, HEAD.c.hashed_size).where(HEAD.c.id == 1))).one()


async def get_by_rid(conn: AsyncConnection, rid: str) -> Row[Any] | None:
    stmt = select(ENTRY.c.leaf_index, ENTRY.c.rid, ENTRY.c.receipt, ENTRY.c.account_id).where(ENTRY.c.rid == rid)
    return (await conn.execute(stmt)).one_or_none()


async def leaf_hashes(conn: AsyncConnection, *, start: int, end: int) -> list[bytes]:
    stmt = (
        select(ENTRY.c.leaf_hash)
        .where(ENTRY.c.leaf_index >= start, ENTRY.c.leaf_index < end)
        .order_by(ENTRY.c.leaf_index)
    )
    return [bytes(h) for h in (await conn.execute(stmt)).scalars()]


async def nodes(conn: AsyncConnection, keys: Iterable[Node]) -> dict[Node, bytes]:
    """The hashes of these perfect subtrees, in at most two statements (leaves, and the rest)."""
    wanted = set(keys)
    leaves = sorted(index for level, index in wanted if level == 0)
    inner = sorted(key for key in wanted if key[0] > 0)
    found: dict[Node, bytes] = {}
    if leaves:
        stmt = select(ENTRY.c.leaf_index, ENTRY.c.leaf_hash).where(ENTRY.c.leaf_index.in_(leaves))
        found.update(((0, int(i)), bytes(h)) for i, h in (await conn.execute(stmt)).all())
    if inner:
        # An OR of (level, index) pairs: portable, and a proof needs at most a few hundred of them.
        match = or_(*(and_(NODE.c.level == level, NODE.c.index == index) for level, index in inner))
        stmt = select(NODE.c.level, NODE.c.index, NODE.c.hash).where(match)
        found.update(((int(lv), int(i)), bytes(h)) for lv, i, h in (await conn.execute(stmt)).all())
    return found


async def store_nodes(conn: AsyncConnection, hashes: Mapping[Node, bytes], *, hashed_size: int) -> None:
    """Write perfect-subtree hashes and move `hashed_size` forward. Two processes may compute the same
    nodes at once; the values are equal, so a key already written is simply skipped."""
    rows = [{"level": level, "index": index, "hash": value} for (level, index), value in hashes.items()]
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    for chunk in range(0, len(rows), 2000):
        stmt = dialect.insert(NODE).values(rows[chunk : chunk + 2000]).on_conflict_do_nothing()
        await conn.execute(stmt)
    await conn.execute(
        update(HEAD).where(HEAD.c.id == 1, HEAD.c.hashed_size < hashed_size).values(hashed_size=hashed_size)
    )
