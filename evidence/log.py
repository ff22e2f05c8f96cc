"""The receipt log: an append-only RFC 9162 Merkle tree of every receipt the gateway signs.

Appending is one short transaction per batch (group commit): the requests waiting while a batch commits
form the next batch, so under load many receipts share one commit and the `log_head` row lock is taken
once for all of them; alone, a receipt waits for nobody. Each receipt is numbered, signed (its payload
carries its own `log_index`) and stored before its request gets an answer: a receipt handed out is a
receipt logged. The tree's inner hashes are computed later, once, by whoever first needs a tree head or
a proof past the hashed size (`_hash_through`), so an append never does O(n) work, and a proof reads
O(log² n) stored hashes.
"""

import asyncio
import logging
import time
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db.errors import BadInput, NotFound
from db.group import GroupCommit
from db.queries import receipts
from evidence import merkle
from evidence.canonical import canonical_json
from evidence.crypto import KeyRing
from evidence.errors import ReceiptUnavailable
from evidence.records import IssuedReceipt

log = logging.getLogger("ccvc.receipts")

RECEIPT_TYP: Final = "ccvc-receipt+jws"
CHECKPOINT_TYP: Final = "ccvc-checkpoint+jws"
# Leaves hashed per transaction when catching the tree up: bounded memory and lock time.
HASH_CHUNK: Final = 50_000


class ReceiptLog:
    def __init__(self, engine: AsyncEngine, keys: KeyRing, *, log_id: str) -> None:
        self.engine = engine
        self.keys = keys
        self.log_id = log_id
        # Receipts of reads are appended in batches (group commit): (payload, account id) each.
        self._batches = GroupCommit(engine, self._write_in, _unavailable, what="receipt log")
        # One catch-up at a time per process: the log endpoints are open to anyone, and concurrent
        # callers would otherwise each hash the same unhashed tail.
        self._hashing: asyncio.Lock | None = None

    async def drain(self) -> None:
        """Wait for the batch writer to give its connection back (before the engine is disposed)."""
        await self._batches.drain()

    async def append(self, payload: dict[str, Any], *, account_id: int) -> IssuedReceipt:
        """Number, sign and durably store one receipt; `payload` gets `log_index` and `data_version`."""
        return await self._batches.submit((payload, account_id))

    async def append_in(self, conn: AsyncConnection, payload: dict[str, Any], *, account_id: int) -> IssuedReceipt:
        """Number, sign and store one receipt inside the caller's transaction: it is in the log exactly
        when the caller's writes are (a mutation's effects and the receipt of its answer). The head
        row stays locked until that transaction ends, so other appends wait for it."""
        try:
            [issued] = await self._write_in(conn, [(payload, account_id)])
        except Exception as error:
            log.exception("Could not append a receipt to the log inside its request's transaction")
            raise ReceiptUnavailable("The receipt log is unavailable; nothing was done, try again") from error
        return issued

    async def _write_in(self, conn: AsyncConnection, batch: list[tuple[dict[str, Any], int]]) -> list[IssuedReceipt]:
        now = datetime.now(UTC)
        first, period, version = await receipts.reserve(conn, count=len(batch))
        issued, rows = [], []
        for offset, (payload, account_id) in enumerate(batch):
            payload = payload | {
                "log_index": first + offset,
                "data_version": {"period": period, "version": version},
            }
            token = self.keys.sign_compact(canonical_json(payload), typ=RECEIPT_TYP)
            issued.append(IssuedReceipt(rid=payload["rid"], receipt=token, log_index=first + offset))
            rows.append(
                {
                    "leaf_index": first + offset,
                    "rid": payload["rid"],
                    "receipt": token,
                    "leaf_hash": merkle.leaf_hash(token.encode()),
                    "account_id": account_id,
                    "created_at": now,
                }
            )
        await receipts.insert_entries(conn, rows)
        return issued

    async def size(self) -> int:
        async with self.engine.connect() as conn:
            return int((await receipts.head(conn)).size)

    async def checkpoint(self, tree_size: int | None = None) -> dict[str, Any]:
        """A signed tree head for the current size (or an earlier `tree_size`)."""
        size = await self._checked_size(tree_size)
        return self._signed_head(size, await self._root(size))

    async def inclusion(self, rid: str, tree_size: int | None = None) -> dict[str, Any]:
        async with self.engine.connect() as conn:
            entry = await receipts.get_by_rid(conn, rid)
        if entry is None:
            raise NotFound(f"No receipt '{rid}' in the log")
        size = await self._checked_size(tree_size)
        index = int(entry.leaf_index)
        if size <= index:
            raise BadInput(f"Receipt '{rid}' is leaf {index}: `tree_size` must be at least {index + 1}")
        nodes = await self._nodes(size, merkle.inclusion_nodes(index, size) + merkle.root_nodes(size))
        root = merkle.root_hash(size, nodes)
        return {
            "leaf_index": index,
            "tree_size": size,
            "audit_path": [h.hex() for h in merkle.inclusion_path(index, size, nodes)],
            "root_hash": root.hex(),
            "checkpoint": self._signed_head(size, root),
        }

    async def consistency(self, old_size: int, new_size: int) -> dict[str, Any]:
        if not 0 <= old_size <= new_size:
            raise BadInput("`from` must be between 0 and `to`")
        await self._checked_size(new_size)
        wanted = merkle.consistency_nodes(old_size, new_size) + merkle.root_nodes(old_size)
        nodes = await self._nodes(new_size, wanted + merkle.root_nodes(new_size))
        old_root, new_root = merkle.root_hash(old_size, nodes), merkle.root_hash(new_size, nodes)
        return {
            "from": old_size,
            "to": new_size,
            "proof": [h.hex() for h in merkle.consistency_path(old_size, new_size, nodes)],
            "from_checkpoint": self._signed_head(old_size, old_root),
            "to_checkpoint": self._signed_head(new_size, new_root),
        }

    async def _checked_size(self, tree_size: int | None) -> int:
        size = await self.size()
        if tree_size is None:
            return size
        if not 0 <= tree_size <= size:
            raise BadInput(f"`tree_size` must be between 0 and the log's size, {size}")
        return tree_size

    async def _root(self, size: int) -> bytes:
        return merkle.root_hash(size, await self._nodes(size, merkle.root_nodes(size)))

    async def _nodes(self, size: int, keys: list[merkle.Node]) -> dict[merkle.Node, bytes]:
        await self._hash_through(size)
        async with self.engine.connect() as conn:
            return await receipts.nodes(conn, keys)

    async def _hash_through(self, size: int) -> None:
        """Store every perfect subtree of the first `size` leaves not stored yet; each is hashed once
        over the log's life (another process doing the same at the same time only repeats work)."""
        if self._hashing is None:
            self._hashing = asyncio.Lock()
        async with self._hashing:
            await self._hash_through_locked(size)

    async def _hash_through_locked(self, size: int) -> None:
        async with self.engine.connect() as conn:
            hashed = int((await receipts.head(conn)).hashed_size)  # read inside the lock: maybe done already
        while hashed < size:
            end = min(size, hashed + HASH_CHUNK)
            async with self.engine.begin() as conn:
                leaves = await receipts.leaf_hashes(conn, start=hashed, end=end)
                frontier = await receipts.nodes(conn, merkle.frontier_nodes(hashed))
                await receipts.store_nodes(conn, merkle.new_nodes(hashed, leaves, frontier), hashed_size=end)
            hashed = end

    def _signed_head(self, size: int, root: bytes) -> dict[str, Any]:
        head = {
            "log_id": self.log_id,
            "tree_size": size,
            "root_hash": root.hex(),
            "timestamp": int(time.time() * 1000),
        }
        return head | {"signature": self.keys.sign_compact(canonical_json(head), typ=CHECKPOINT_TYP)}


def _unavailable() -> ReceiptUnavailable:
    return ReceiptUnavailable("The receipt log is unavailable; nothing was served, try again")


def checkpoint_body(checkpoint: dict[str, Any]) -> dict[str, Any]:
    """The signed part of a checkpoint: everything but its signature."""
    return {k: v for k, v in checkpoint.items() if k != "signature"}
