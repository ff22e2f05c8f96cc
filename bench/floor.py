"""The floor: each workload's bare SQL through asyncpg, on as many connections as the gateway is driven
with, in the same closed loop and window as the load generator (bench/load.py). With `encode`, each
result also becomes the body a server would send: one JSON document, or JSON Lines for an export.

Reads a JSON spec on stdin, writes a JSON result to the spec's `output` file; `bench/run` starts one per gateway worker.
"""

import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import orjson
from load import Totals, drive, run_loop


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)  # as the API returns decimals: exact strings
    raise TypeError(type(value).__name__)


def encode(rows: list[asyncpg.Record], lines: bool) -> bytes:
    if lines:
        return b"".join(orjson.dumps(dict(row), default=_default) + b"\n" for row in rows)
    return orjson.dumps({"data": [dict(row) for row in rows]}, default=_default)


def _json_text(value: Any) -> str:
    return orjson.dumps(value).decode()


class SqlSession:
    def __init__(self, conn: asyncpg.Connection, calls: list[dict[str, Any]], encode: bool) -> None:
        self.conn, self.calls, self.encode = conn, calls, encode

    async def call(self, index: int, totals: Totals) -> str | None:
        call = self.calls[index]
        rows = await self.conn.fetch(call["sql"], *call["args"])  # prepared once per connection by asyncpg
        if not rows:
            return "no rows"
        if self.encode:
            encode(rows, call["lines"])
        totals.statements += 1
        return None

    async def close(self) -> None:
        await self.conn.close()


async def _floor(spec: dict[str, Any]) -> dict[str, Any]:
    # json_agg columns come back as text; decoded here as a server would before re-encoding them.
    sessions = []
    for _ in range(spec["connections"]):
        conn = await asyncpg.connect(spec["dsn"])
        await conn.set_type_codec("json", encoder=_json_text, decoder=orjson.loads, schema="pg_catalog", format="text")
        sessions.append(SqlSession(conn, spec["calls"], spec["encode"]))
    return await drive(spec, sessions, [c["label"] for c in spec["calls"]])


def main() -> None:
    spec = orjson.loads(sys.stdin.buffer.read())
    Path(spec["output"]).write_bytes(orjson.dumps(run_loop(_floor(spec))))


if __name__ == "__main__":
    main()
