"""The load generator's check: the same calls driven by wrk (Debian's `wrk`, C, one Lua script for the
POST bodies and tokens), to show what bench/load.py's own CPU costs the gateway on a machine whose cores
it shares. wrk's throughput, latency and CPU per request, and the gateway's CPU per request under it,
go beside load.py's in the results.

Only status codes are checked here (a Lua response hook would make wrk parse every body); load.py's
rounds check every body for GraphQL errors.
"""

import json
import resource
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from load import cpu_delta, cpu_of

SCRIPT = """
local requests = {}
local i = 0
init = function(args)
  for _, r in ipairs(CALLS) do
    requests[#requests + 1] = wrk.format("POST", "/graphql",
      {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. r[1]}, r[2])
  end
  -- each thread starts at its own place in the list, as load.py's connections do
  i = math.random(#requests) - 1
end
request = function()
  i = i % #requests + 1
  return requests[i]
end
done = function(summary, latency, _)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "status_errors": %d, "socket_errors": %d, "p50_us": %d, "p99_us": %d}\\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


@dataclass(frozen=True, slots=True)
class WrkRun:
    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p99_ms: float
    cpu_wrk_s: float
    cpu_gateway_s: float

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds

    def per_request_ms(self, seconds: float) -> float:
        return seconds * 1000 / self.requests if self.requests else float("nan")


def available() -> bool:
    return shutil.which("wrk") is not None


def _lua_string(text: str) -> str:
    """A Lua long-bracket string holding `text` as it is (a level of `=` that `text` does not close)."""
    level = 0
    while f"]{'=' * level}]" in text:
        level += 1
    return f"[{'=' * level}[{text}]{'=' * level}]"


def script(requests: list[dict[str, Any]]) -> str:
    calls = ",\n".join(f"  {{{_lua_string(r['token'])}, {_lua_string(r['body'])}}}" for r in requests)
    return f"CALLS = {{\n{calls}\n}}\n{SCRIPT}"


def _wrk(url: str, path: Path, connections: int, seconds: float) -> dict[str, Any]:
    threads = min(2, connections)
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "-s", str(path), url]
    done = subprocess.run(command, capture_output=True, text=True, check=True, timeout=seconds + 60)
    line = next(line for line in done.stdout.splitlines() if line.startswith("{"))
    result: dict[str, Any] = json.loads(line)
    return result


def run(
    requests: list[dict[str, Any]],
    *,
    url: str,
    work: Path,
    connections: int,
    warmup: float,
    duration: float,
    watched: list[int],
) -> WrkRun:
    path = work / "wrk.lua"
    path.write_text(script(requests))
    if warmup:
        _wrk(url, path, connections, warmup)
    gateway_before = cpu_of(watched)
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    result = _wrk(url, path, connections, duration)
    elapsed = time.monotonic() - started
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    gateway_after = cpu_of(watched)
    spent = (children_after.ru_utime + children_after.ru_stime) - (children_before.ru_utime + children_before.ru_stime)
    return WrkRun(
        requests=result["requests"],
        seconds=result["duration_us"] / 1e6 or elapsed,
        errors=result["status_errors"] + result["socket_errors"],
        p50_ms=result["p50_us"] / 1000,
        p99_ms=result["p99_us"] / 1000,
        cpu_wrk_s=spent,
        cpu_gateway_s=cpu_delta(gateway_before, gateway_after),
    )
