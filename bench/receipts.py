"""What a receipt costs a request: the partner list executed in-process with its receipt (canonical JSON
of the data, signing, a durable append to the receipt log) against the same request without one,
interleaved so machine noise hits both alike; then the same under concurrency, where appends share
commits (group commit).

    CCVC_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1/DB .venv/bin/python bench/receipts.py

The database must be migrated (`ccvc db upgrade`) and seeded. This appends real receipts to its log.
"""

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from workloads import PARTNER_LIST  # bench/ is on the path when a script here runs

from db.engine import create_engine
from db.queries import accounts
from evidence.canonical import canonical_sha256
from evidence.crypto import KeyRing
from evidence.log import ReceiptLog
from evidence.receipts import Receipts
from evidence.records import Operation, draft_for
from gateway.auth import principal_from_account
from policies.authorizer import Authorizer
from policies.written import Scopes
from resolvers.context import RequestContext
from schema import build_schema

QUERY = PARTNER_LIST


class _Bench:
    def __init__(self, url: str, keys_dir: Path) -> None:
        self.engine = create_engine(url, pool_size=8)
        self.authorizer = Authorizer()
        self.schema = build_schema(authorizer=self.authorizer, max_depth=12, max_aliases=30, max_tokens=5000)
        self.scopes = Scopes(self.authorizer, self.engine, ttl_seconds=600)
        keys = KeyRing.load(keys_dir, create=True)
        log = ReceiptLog(self.engine, keys, log_id="bench")
        self.receipts = Receipts(log, keys, self.engine, issuer="bench", policy_version=self.authorizer.version)
        self.parts: dict[str, list[float]] = {"canonical": [], "sign+append": []}

    async def setup(self, user: str) -> None:
        async with self.engine.connect() as conn:
            self.unit = str((await conn.exec_driver_sql("SELECT id FROM unit WHERE code = 'BNV.VP'")).scalar_one())
            row = await accounts.get_by_username(conn, user)
        assert row is not None, user
        self.principal = principal_from_account(row)

    async def request(self, with_receipt: bool) -> float:
        started = time.perf_counter()
        scope = await self.scopes.for_principal(self.principal)
        context = RequestContext(principal=self.principal, engine=self.engine, scope=scope, scopes=self.scopes)
        result: Any = await self.schema.execute(QUERY, variable_values={"unit": self.unit}, context_value=context)
        assert not result.errors, result.errors
        if with_receipt:
            hashed = time.perf_counter()
            digest = canonical_sha256(result.data)
            signed = time.perf_counter()
            operation = Operation(QUERY, {"unit": self.unit}, "PartnerList", "query")
            draft = draft_for(self.principal, scope, context.exposed, operation, kind="response", data_sha256=digest)
            await self.receipts.issue(draft)
            self.parts["canonical"].append(signed - hashed)
            self.parts["sign+append"].append(time.perf_counter() - signed)
        return time.perf_counter() - started


async def _sequential(bench: _Bench, rounds: int) -> None:
    times: dict[bool, list[float]] = {True: [], False: []}
    for i in range(rounds + 20):
        for variant in (False, True):
            elapsed = await bench.request(variant)
            if i >= 20:
                times[variant].append(elapsed)
    on, off = (statistics.mean(times[v]) * 1000 for v in (True, False))
    print(
        f"sequential, {rounds} rounds: with receipt {on:6.2f} ms, without {off:6.2f} ms,"
        f" receipt {on - off:+5.2f} ms = {(on - off) / on:5.1%} of the request"
    )
    for name, values in bench.parts.items():
        print(
            f"  {name:12} mean {statistics.mean(values) * 1000:6.3f} ms  median {statistics.median(values) * 1000:6.3f} ms"
        )


async def _concurrent(bench: _Bench, total: int, concurrency: int) -> None:
    for variant in (False, True, False, True):

        async def worker(queue: Any, with_receipt: bool = variant) -> None:
            for _ in queue:
                await bench.request(with_receipt)

        started = time.perf_counter()
        shared = iter(range(total))  # the workers draw from one queue of requests
        await asyncio.gather(*(worker(shared) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
        label = "with receipt" if variant else "without     "
        print(f"concurrent ({concurrency} at a time, {total} requests) {label}: {total / elapsed:7.1f} requests/s")


async def _run(url: str, user: str, rounds: int, total: int, concurrency: int) -> None:
    with tempfile.TemporaryDirectory() as keys_dir:
        bench = _Bench(url, Path(keys_dir) / "keys")
        await bench.setup(user)
        await _sequential(bench, rounds)
        await _concurrent(bench, total, concurrency)
        await bench.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--user", default="agency.bhxh")
    parser.add_argument("--total", type=int, default=600, help="requests per concurrent run")
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    asyncio.run(_run(os.environ["CCVC_DATABASE_URL"], args.user, args.rounds, args.total, args.concurrency))


if __name__ == "__main__":
    main()
