"""What authorization costs a request: the partner list with the real policy, against the same
request with authorization switched off (one all-seeing grant, no per-field checks), in one process,
on the same database, interleaved so machine noise hits both alike.

    CCVC_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1/DB .venv/bin/python bench/authorization.py

Prints the mean and median time per request of each variant and the overhead as a share. The whole
request is measured in-process (parse/validate cached, resolvers, SQL, field checks), without HTTP.
"""

import argparse
import asyncio
import os
import statistics
import time
from typing import Any

from breakdown import NoFieldChecks, SeeAll  # bench/ is on the path when a script here runs
from workloads import PARTNER_LIST

from db.engine import create_engine
from db.queries import accounts
from gateway.auth import principal_from_account
from policies.authorizer import Authorizer
from policies.written import Scopes
from resolvers.context import RequestContext
from schema import build_schema

QUERY = PARTNER_LIST


async def _run(url: str, users: list[str], rounds: int) -> None:
    engine = create_engine(url, pool_size=4)
    authorizer = Authorizer()
    variants = {
        "policy": (
            build_schema(authorizer=authorizer, max_depth=12, max_aliases=30, max_tokens=5000),
            Scopes(authorizer, engine, ttl_seconds=60),
        ),
        "off": (
            build_schema(authorizer=NoFieldChecks(), max_depth=12, max_aliases=30, max_tokens=5000),
            SeeAll(authorizer, engine, ttl_seconds=60),
        ),
    }
    async with engine.connect() as conn:
        unit = (await conn.exec_driver_sql("SELECT id FROM unit WHERE code = 'BNV.VP'")).scalar_one()
        principals = {}
        for user in users:
            row = await accounts.get_by_username(conn, user)
            assert row is not None, user
            principals[user] = principal_from_account(row)
    for user in users:
        times: dict[str, list[float]] = {name: [] for name in variants}
        errors: dict[str, int] = {}
        for i in range(rounds + 20):
            for name, (schema, scopes) in variants.items():
                started = time.perf_counter()
                scope = await scopes.for_principal(principals[user])
                context = RequestContext(principal=principals[user], engine=engine, scope=scope, scopes=scopes)
                result: Any = await schema.execute(QUERY, variable_values={"unit": str(unit)}, context_value=context)
                elapsed = time.perf_counter() - started
                errors[name] = len(result.errors or ())
                if i >= 20:  # warm-up: caches, connections, JIT-free but import-heavy first calls
                    times[name].append(elapsed)
        on, off = (statistics.mean(times[n]) * 1000 for n in ("policy", "off"))
        med_on, med_off = (statistics.median(times[n]) * 1000 for n in ("policy", "off"))
        print(
            f"{user:14} policy {on:6.2f} ms (median {med_on:6.2f})  off {off:6.2f} ms (median {med_off:6.2f})"
            f"  overhead {on - off:+5.2f} ms = {(on - off) / on:6.1%}  field errors {errors['policy']}"
        )
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--users", default="agency.bhxh,hr.BNV,manager.BNV.VP,admin")
    args = parser.parse_args()
    url = os.environ["CCVC_DATABASE_URL"]
    asyncio.run(_run(url, args.users.split(","), args.rounds))


if __name__ == "__main__":
    main()
