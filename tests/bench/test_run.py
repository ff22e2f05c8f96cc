"""`bench/run` end to end on a small database: the command a developer types, against the real
PostgreSQL, with every workload, its floor and the in-process breakdown. Runs with the PostgreSQL suite."""

import importlib
import os
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
POSTGRES = os.environ.get("CCVC_TEST_POSTGRES_URL")

BENCH_MODULES = ("report", "measured", "database", "workloads")


@pytest.fixture
def report(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """bench/report.py, imported the way bench/ scripts import each other, and forgotten afterwards so
    that generic names such as `database` do not leak into the rest of the suite."""
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    yield importlib.import_module("report")
    for name in BENCH_MODULES:
        sys.modules.pop(name, None)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.skipif(not POSTGRES, reason="needs CCVC_TEST_POSTGRES_URL")
def test_bench_run_measures_every_workload_against_its_floor(tmp_path: Path) -> None:
    server = (POSTGRES or "").rsplit("/", 1)[0]  # the server; bench/run makes its own database there
    results = tmp_path / "RESULTS.md"
    results.write_text("# Benchmark results\n\n## 2026-01-01 run\n\nan earlier section that must stay\n")
    done = subprocess.run(
        [
            ROOT / "bench" / "run",
            "--officials",
            "3000",
            "--rounds",
            "2",
            "--duration",
            "0.5",
            "--warmup",
            "0.3",
            "--connections",
            "4",
            "--profile-rounds",
            "3",
            "--server",
            server,
            "--port",
            str(_free_port()),
            "--results",
            str(results),
            "--work-dir",
            str(tmp_path / "work"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    text = results.read_text()
    assert "an earlier section that must stay" in text
    assert "## 3,000 officials, 2 workers, 4 connections" in text
    lines = text.splitlines()
    table = lines.index(next(line for line in lines if line.startswith("| workload | gateway req/s")))
    rows = {}
    for line in lines[table + 2 :]:
        if not line.startswith("| "):
            break
        rows[line.split("|")[1].strip()] = line
    for workload in ("partner", "self", "export", "mixed"):
        cells = [c.strip() for c in rows[workload].split("|")[2:-1]]
        throughput, floor, floor_json, ratio = cells[:4]
        assert float(throughput) > 0 and float(floor) > 0 and float(floor_json) > 0, rows[workload]
        assert re.fullmatch(r"[\d.]+% \([\d.]+%–[\d.]+%\)", ratio), rows[workload]  # median (range) of 2 rounds
        assert float(cells[9]) >= 1, f"{workload}: fewer than one SQL statement per request: {rows[workload]}"
    phases = lines.index(next(line for line in lines if line.startswith("| workload | compiled |")))
    compiled = {line.split("|")[1].strip(): line.split("|")[2].strip() for line in lines[phases + 2 : phases + 6]}
    assert compiled["partner"] == compiled["self"] == "100%", compiled  # the reads, all on the compiled path
    for phase in ("SQL: waiting on statements", "authorization: field checks", "field resolution", "receipt: signing"):
        assert f"| {phase}" in text, phase
    generator = lines.index(next(line for line in lines if line.startswith("| workload | load.py req/s")))
    for line in lines[generator + 2 : generator + 6]:
        cells = [c.strip() for c in line.split("|")[2:-1]]
        assert float(cells[1]) > 0, line  # the load generator's own CPU, beside the gateway's
        if shutil.which("wrk") is not None:  # .ci/run installs it
            assert float(cells[3]) > 0 and float(cells[6]) > 0, line  # wrk's throughput and its CPU


def test_a_new_section_goes_first_and_earlier_ones_stay(tmp_path: Path, report: ModuleType) -> None:
    results = tmp_path / "RESULTS.md"
    report.write_results("## first\n", results)
    report.write_results("## second\n", results)
    text = results.read_text()
    assert text.startswith("# Benchmark results")
    assert text.index("## second") < text.index("## first")
