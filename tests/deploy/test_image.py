"""The image, without building it (no container engine here): the Dockerfile is linted, read, and what
it runs — its CMD with its ENV, then its HEALTHCHECK — runs outside a container, against a temporary
SQLite database, as `ccvc serve` with two workers (the image's one, as an operator scales it up). So what the image runs is what CI ran.
The same run shows /metrics summing both workers' values (prometheus-client's multiprocess mode)."""

import json
import os
import shlex
import signal
import socket
import subprocess
import time
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx2
import pytest
from prometheus_client.parser import text_string_to_metric_families

from db.migrate import upgrade
from gateway.config import Settings
from tests.cli.runner import ccvc

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
BIN = ROOT / ".venv" / "bin"


@dataclass(frozen=True)
class Stage:
    base: str
    instructions: list[tuple[str, str]]

    def all(self, name: str) -> list[str]:
        return [argument for instruction, argument in self.instructions if instruction == name]

    def last(self, name: str) -> str:
        found = self.all(name)
        assert found, f"the final stage has no {name}"
        return found[-1]

    def env(self) -> dict[str, str]:
        pairs = (item.split("=", 1) for argument in self.all("ENV") for item in shlex.split(argument))
        return {key: value.replace("$PATH", os.environ["PATH"]) for key, value in pairs}


def stages(text: str) -> list[Stage]:
    """The Dockerfile's stages, each a list of (INSTRUCTION, argument), continuation lines joined."""
    logical = text.replace("\\\n", " ").splitlines()
    found: list[Stage] = []
    for line in (line.strip() for line in logical):
        if not line or line.startswith("#"):
            continue
        instruction, _, argument = line.partition(" ")
        if instruction.upper() == "FROM":
            found.append(Stage(argument.split()[0], []))
        else:
            found[-1].instructions.append((instruction.upper(), argument.strip()))
    return found


FINAL = stages(DOCKERFILE.read_text())[-1]


def exec_form(argument: str) -> list[str]:
    command = json.loads(argument)
    assert isinstance(command, list) and all(isinstance(word, str) for word in command), argument
    return command


def healthcheck_command() -> list[str]:
    argument = FINAL.last("HEALTHCHECK")
    options, _, command = argument.partition("CMD ")
    assert "--interval" in options and "--timeout" in options
    return exec_form(command)


def test_hadolint_finds_nothing() -> None:
    linted = subprocess.run([str(BIN / "hadolint"), str(DOCKERFILE)], capture_output=True, text=True, check=False)
    assert linted.returncode == 0, linted.stdout + linted.stderr


def test_the_image_is_multi_stage_slim_and_runs_as_a_user_of_its_own() -> None:
    all_stages = stages(DOCKERFILE.read_text())
    assert len(all_stages) >= 2 and FINAL.base.startswith("python:3.11-slim")
    user = FINAL.last("USER")
    assert user not in ("root", "0") and not user.startswith("0:")
    assert FINAL.all("HEALTHCHECK") and FINAL.all("CMD")


def test_the_image_holds_every_package_the_project_installs() -> None:
    """A package missing from the image's COPY lines makes an image whose `ccvc` fails to import it."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = {name.rstrip("*") for name in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]}
    build = stages(DOCKERFILE.read_text())[0]
    copied = {argument.split()[0] for argument in build.all("COPY")}
    assert packages <= copied, f"not copied into the image: {sorted(packages - copied)}"


def test_no_secret_is_baked_into_the_image() -> None:
    env = FINAL.env()
    secret = [key for key in env if any(word in key for word in ("PASSWORD", "TOKEN", "SECRET", "DATABASE_URL"))]
    assert secret == [], f"set at run time, not in the image: {secret}"
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", "var", "tests", ".env"} <= set(ignored)


# -- the image's command, run -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Served:
    base: str
    env: dict[str, str]
    metrics_dir: Path
    process: subprocess.Popen[bytes]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The image's CMD with the image's ENV; what differs is what an orchestrator gives at run time: a
    free port on 127.0.0.1, the database, the public URL, and the directories (here temporary)."""
    work = tmp_path_factory.mktemp("image")
    url = f"sqlite+aiosqlite:///{work / 'ccvc.db'}"
    upgrade(url)
    run_time = {
        "CCVC_HOST": "127.0.0.1",
        "CCVC_PORT": str(free_port()),
        "CCVC_DATABASE_URL": url,
        "CCVC_ALLOW_SQLITE_IN_PRODUCTION": "true",
        "CCVC_PUBLIC_URL": "https://ccvc.example.gov.vn",
        "CCVC_KEYS_DIR": str(work / "keys"),
        "CCVC_BACKUP_DIR": str(work / "backups"),
        "PROMETHEUS_MULTIPROC_DIR": str(work / "metrics"),
        # The image serves one worker; an operator running it on a bigger machine sets more, and /metrics
        # must then sum them: run with two, to show it does.
        "CCVC_WORKERS": "2",
    }
    env = {**os.environ, **FINAL.env(), **run_time}
    env["PATH"] = f"{BIN}{os.pathsep}{env['PATH']}"
    env.pop("CCVC_METRICS_TOKEN", None)
    settings = Settings(
        env="production",
        database_url=url,
        allow_sqlite_in_production=True,
        keys_dir=work / "keys",
        public_url=run_time["CCVC_PUBLIC_URL"],
    )
    assert ccvc(settings, "keys", "generate").returncode == 0  # an operator's key ring, as production needs
    process = subprocess.Popen(
        exec_form(FINAL.last("CMD")), env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    base = f"http://127.0.0.1:{run_time['CCVC_PORT']}"
    try:
        wait_until(lambda: answers(f"{base}/readyz"), process)
        yield Served(base, env, work / "metrics", process)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
        if process.stderr is not None:
            process.stderr.close()


def answers(url: str) -> bool:
    try:
        return httpx2.get(url, timeout=2).status_code == 200
    except httpx2.TransportError:
        return False


def wait_until(condition: Callable[[], bool], process: subprocess.Popen[bytes], attempts: int = 300) -> None:
    for _ in range(attempts):
        if condition():
            return
        assert process.poll() is None, process.stderr.read().decode() if process.stderr else "the gateway exited"
        time.sleep(0.2)
    raise AssertionError("the gateway did not get there")


def scrape(served: Served) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    answered = httpx2.get(f"{served.base}/metrics", timeout=5)
    assert answered.status_code == 200, answered.text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answered.text)
        for sample in family.samples
    }


def sample(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def worker_pids(served: Served) -> set[int]:
    return {int(path.stem.rsplit("_", 1)[1]) for path in served.metrics_dir.glob("gauge_livesum_*.db")}


def test_the_images_health_check_passes_against_its_command(served: Served) -> None:
    checked = subprocess.run(healthcheck_command(), env=served.env, capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr


def test_the_health_check_fails_when_nothing_answers(served: Served) -> None:
    elsewhere = {**served.env, "CCVC_PORT": str(free_port())}
    assert subprocess.run(healthcheck_command(), env=elsewhere, capture_output=True, check=False).returncode != 0


def test_metrics_sum_the_requests_of_both_workers(served: Served) -> None:
    wait_until(lambda: len(worker_pids(served)) == 2, served.process)
    labels = {"endpoint": "graphql", "operation": "unknown", "outcome": "UNAUTHENTICATED"}
    before = sample(scrape(served), "ccvc_http_request_duration_seconds_count", **labels)
    for _ in range(20):  # a connection each: the kernel hands them to either worker
        assert httpx2.post(f"{served.base}/graphql", json={"query": "{ __typename }"}).status_code == 401
    after = scrape(served)
    assert sample(after, "ccvc_http_request_duration_seconds_count", **labels) == before + 20
    assert sample(after, "ccvc_db_pool_size") == 2 * Settings().db_pool_size  # each worker's pool, summed


def test_a_dead_workers_live_gauges_leave_with_it(served: Served) -> None:
    wait_until(lambda: len(worker_pids(served)) == 2, served.process)
    victim = min(worker_pids(served))
    os.kill(victim, signal.SIGKILL)  # uvicorn's supervisor starts another in its place
    pools = 2 * Settings().db_pool_size
    # The dead worker's pool leaves the sum, and its replacement's joins it once it has started.
    wait_until(
        lambda: sample(scrape(served), "ccvc_db_pool_size") == pools and victim not in worker_pids(served),
        served.process,
    )
    assert len(worker_pids(served)) == 2
