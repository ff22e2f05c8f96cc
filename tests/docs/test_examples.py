"""The README's and docs/partners.md's examples run as written, as the accounts they name, against a
gateway serving a database built exactly as `make demo` builds it. The examples are read from the
documents, never copied here: change one, and this runs the change."""

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
from starlette.applications import Starlette

from cli.serve import prepare_demo_database
from db.errors import CODES
from gateway.app import create_app
from gateway.auth import Authenticator
from gateway.config import Settings
from tests.live import serving

ROOT = Path(__file__).resolve().parents[2]
DEMO_ADDRESS = "127.0.0.1:8000"
# A fenced block, and the HTML comment just before it, if any (`<!-- not run: why -->`).
FENCE = re.compile(r"(?:<!--(?P<note>[^>]*)-->\n)?```(?P<lang>\w*)\n(?P<body>.*?)^```", re.S | re.M)
RUNNABLE = ("sh", "graphql", "python")


@dataclass(frozen=True)
class Block:
    document: str
    line: int
    lang: str
    body: str
    note: str

    @property
    def runs(self) -> bool:
        return self.lang in RUNNABLE and not self.note.strip().startswith("not run")

    def __str__(self) -> str:
        return f"{self.document}:{self.line} ({self.lang})"


def blocks(document: str) -> list[Block]:
    text = (ROOT / document).read_text()
    return [
        Block(document, text.count("\n", 0, m.start("body")) + 1, m["lang"], m["body"], m["note"] or "")
        for m in FENCE.finditer(text)
    ]


@dataclass
class Demo:
    workdir: Path
    url: str
    app: Starlette
    settings: Settings

    def token(self, username: str) -> str:
        state: Any = self.app.state
        return Authenticator(self.settings, state.keys, state.engine).issue(username)

    def environment(self) -> dict[str, str]:
        # What a newcomer's shell has: none of the test run's CCVC_* settings.
        return {k: v for k, v in os.environ.items() if not k.startswith("CCVC_")}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """A fresh checkout's directory after `make demo`: ./.venv, ./var/ccvc.db and ./var/keys."""
    workdir = tmp_path_factory.mktemp("newcomer")
    (workdir / ".venv").symlink_to(ROOT / ".venv")
    settings = Settings(
        env="development",
        database_url=f"sqlite+aiosqlite:///{workdir / 'var' / 'ccvc.db'}",
        keys_dir=workdir / "var" / "keys",
    )
    prepare_demo_database(settings)
    app = create_app(settings)
    with serving(app) as url:
        yield Demo(workdir, url, app, settings)


def run(demo: Demo, block: Block) -> str:
    """Run one example; its output, or a failure naming the example."""
    body = block.body.replace(DEMO_ADDRESS, demo.url.removeprefix("http://"))
    if block.lang == "graphql":
        return _graphql(demo, block, body)
    command = ["bash", "-euo", "pipefail", "-c", body] if block.lang == "sh" else [sys.executable, "-c", body]
    env = demo.environment() | {"CCVC_GATEWAY": demo.url}
    done = subprocess.run(command, cwd=demo.workdir, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, f"{block} failed:\n{done.stdout}\n{done.stderr}"
    assert "Traceback" not in done.stderr and '"errors"' not in done.stdout, f"{block}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _graphql(demo: Demo, block: Block, body: str) -> str:
    first = body.splitlines()[0]
    assert first.startswith("# as "), f"{block} must say on its first line which account runs it (# as USER)"
    account = first.removeprefix("# as ").split()[0]
    answer = httpx2.post(
        f"{demo.url}/graphql",
        json={"query": body},
        headers={"Authorization": f"Bearer {demo.token(account)}"},
        timeout=60,
    ).json()
    assert "errors" not in answer and answer["data"], f"{block}: {answer}"
    return json.dumps(answer)


def run_document(demo: Demo, document: str) -> dict[int, str]:
    """Every runnable example of the document, in order (a later one may use an earlier one's files)."""
    return {block.line: run(demo, block) for block in blocks(document) if block.runs}


def test_the_readme_examples_run_as_written(demo: Demo) -> None:
    outputs = run_document(demo, "README.md")
    assert len(outputs) >= 8
    everything = "\n".join(outputs.values())
    assert '"code":"BNV"' in everything.replace(" ", "")  # the first curl really reached the units
    assert "VALID" in everything and "NOT VALID" not in everything  # the receipt verified offline
    assert '"access_token"' in everything  # both the password grant and the partner's assertion


def test_the_partners_guide_runs_as_written(demo: Demo) -> None:
    outputs = run_document(demo, "docs/partners.md")
    last = list(outputs.values())[-1]
    assert "page 3: 50 of 201 officials" in last and "every receipt verified" in last


@pytest.mark.parametrize("document", ["README.md", "docs/partners.md"])
def test_every_example_runs_or_says_why_not(document: str) -> None:
    for block in blocks(document):
        if block.lang in RUNNABLE and not block.runs:
            assert block.note.strip() != "not run", f"{block}: say why it is not run (<!-- not run: why -->)"


def test_the_readme_lists_exactly_the_error_codes_the_gateway_answers_with() -> None:
    rows = re.findall(r"^\| `([A-Z_]+)` \| (\d{3}) \|", (ROOT / "README.md").read_text(), re.M)
    assert {code: int(status) for code, status in rows} == {code: e.status for code, e in CODES.items()}
