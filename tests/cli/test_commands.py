"""`ccvc` as an operator runs it: real database files, one line for every mistake, and nothing created
by accident. Most run in-process (`main`); one real process per kind of failure that only a process shows."""

import json
import socket
import sqlite3
from pathlib import Path
from typing import Protocol

import pytest

from cli import join_opaque_values
from db.migrate import upgrade
from gateway.config import Settings
from tests.cli.runner import ccvc, ccvc_process, environment

ROOT = Path(__file__).resolve().parents[2]


def test_accounts_list_json_names_kind_roles_and_unit(settings: Settings) -> None:
    result = ccvc(settings, "accounts", "list", "--json", "--kind", "staff", "--kind", "agency")
    assert result.returncode == 0, result.stderr
    accounts = {a["username"]: a for a in json.loads(result.stdout)}
    assert accounts["hr.BNV"] == {
        "username": "hr.BNV",
        "kind": "staff",
        "roles": ["hr"],
        "unit": "BNV.TCCB",
        "agency": None,
    }
    assert accounts["agency.bhxh"]["kind"] == "agency" and accounts["agency.bhxh"]["agency"] == "bhxh"


def test_token_prints_a_jwt_on_its_last_line_as_a_real_process(settings: Settings) -> None:
    result = ccvc_process("token", "--account", "admin", env=environment(settings))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].count(".") == 2


def test_token_for_an_unknown_account_fails_cleanly(settings: Settings) -> None:
    result = ccvc(settings, "token", "--account", "nobody")
    assert result.returncode == 2
    assert "nobody" in result.stderr and "Traceback" not in result.stderr


def test_db_upgrade_is_idempotent(settings: Settings) -> None:
    assert ccvc(settings, "db", "upgrade").returncode == 0


def test_seed_is_refused_in_production(settings: Settings) -> None:
    production = settings.model_copy(update={"env": "production", "public_url": "https://ccvc.example.gov.vn"})
    result = ccvc(production, "seed", "--officials", "5")
    assert result.returncode == 2 and "production" in result.stderr


@pytest.mark.parametrize("args", [["--help"], ["seed", "--help"]])
def test_help_explains_itself(args: list[str]) -> None:
    result = ccvc_process(*args)
    assert result.returncode == 0 and "ccvc" in result.stdout


class Finished(Protocol):
    """A command that ran: in-process (tests.cli.runner.Ran) or in its own process (CompletedProcess)."""

    @property
    def returncode(self) -> int: ...
    @property
    def stderr(self) -> str: ...


def one_line(result: Finished) -> str:
    """The failure of a command: a non-zero status and exactly one line on stderr, no traceback."""
    assert result.returncode != 0, result
    lines = result.stderr.strip().splitlines()
    line: str = lines[0] if len(lines) == 1 else ""
    assert line.startswith("ccvc: ") and "Traceback" not in line, lines
    return line


@pytest.mark.parametrize(
    "command", [["token", "--account", "admin"], ["accounts", "list"], ["agencies", "list"], ["serve"]]
)
def test_a_command_without_a_database_says_so_and_creates_nothing(tmp_path: Path, command: list[str]) -> None:
    """The default database is the one `make demo` builds; before it exists, nothing is created by asking."""
    env = {k: v for k, v in environment(Settings(env="test")).items() if k != "CCVC_DATABASE_URL"}
    env["CCVC_KEYS_DIR"] = str(tmp_path / "keys")
    line = one_line(ccvc_process(*command, env=env, cwd=str(tmp_path)))
    assert f"No database at {tmp_path / 'var' / 'ccvc.db'}" in line and "make demo" in line
    assert not (tmp_path / "var").exists()


def test_a_database_without_the_schema_is_named_with_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    sqlite3.connect(path).close()
    settings = Settings(env="test", database_url=f"sqlite+aiosqlite:///{path}", keys_dir=tmp_path / "keys")
    line = one_line(ccvc(settings, "accounts", "list"))
    assert "has no schema yet" in line and "db upgrade" in line


def test_a_database_at_an_older_revision_is_named_with_the_fix(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0002")
    line = one_line(ccvc(Settings(env="test", database_url=url, keys_dir=tmp_path / "keys"), "accounts", "list"))
    assert "at schema revision 0002" in line and "db upgrade" in line


def test_an_unreachable_database_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # bound, never listening: connections are refused
        url = f"postgresql+asyncpg://postgres@127.0.0.1:{port}/nothing"
        line = one_line(ccvc(Settings(env="test", database_url=url, keys_dir=tmp_path), "accounts", "list"))
    assert "Cannot use the database" in line and str(port) in line


def test_a_bad_setting_names_the_variable_and_the_rule(tmp_path: Path) -> None:
    env = {**environment(Settings(env="test")), "CCVC_TOKEN_TTL_SECONDS": "1"}
    line = one_line(ccvc_process("token", "--account", "admin", env=env, cwd=str(tmp_path)))
    assert "CCVC_TOKEN_TTL_SECONDS='1'" in line and "greater than or equal to 60" in line


def test_production_without_a_key_ring_is_one_line_with_the_fix(settings: Settings, tmp_path: Path) -> None:
    env = environment(
        settings,
        CCVC_ENV="production",
        CCVC_PUBLIC_URL="https://ccvc.example.gov.vn",
        CCVC_ALLOW_SQLITE_IN_PRODUCTION="true",
        CCVC_KEYS_DIR=str(tmp_path / "empty"),
    )
    line = one_line(ccvc_process("token", "--account", "admin", env=env))
    assert "No signing keys" in line and "keys generate" in line


def test_debug_shows_the_traceback(settings: Settings, tmp_path: Path) -> None:
    env = environment(
        settings,
        CCVC_ENV="production",
        CCVC_PUBLIC_URL="https://ccvc.example.gov.vn",
        CCVC_ALLOW_SQLITE_IN_PRODUCTION="true",
        CCVC_KEYS_DIR=str(tmp_path / "empty"),
    )
    result = ccvc_process("--debug", "keys", "list", env=env)
    assert result.returncode != 0 and "Traceback" in result.stderr and "KeyConfigurationError" in result.stderr


def test_demo_on_a_busy_port_says_which_port_and_how_to_choose_another(settings: Settings) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = ccvc(settings, "demo", "--port", str(port))
    line = one_line(result)
    assert f"127.0.0.1:{port}" in line and "PORT=" in line
    assert result.stdout == ""  # no token, no banner before the failure


def test_the_committed_schema_is_what_the_code_builds(settings: Settings) -> None:
    """docs/schema.graphql changes in the same commit as the schema, so a change shows in review
    (`.venv/bin/ccvc schema print > docs/schema.graphql`)."""
    out = ccvc(settings, "schema", "print")
    assert out.returncode == 0, out.stderr
    assert (ROOT / "docs" / "schema.graphql").read_text() == out.stdout


def test_a_key_id_beginning_with_a_dash_is_still_the_value_of_kid(settings: Settings) -> None:
    """RFC 7638 thumbprints are base64url: one in 32 begins with "-", which argparse took for an option
    (`--kid -gg71…`: "expected one argument"), so revoking that key failed (found as a flaky test)."""
    refused = ccvc(settings, "agencies", "revoke-key", "--kid", "-no-such-key")
    assert refused.returncode == 2 and "-no-such-key" in refused.stderr and "usage" not in refused.stderr
    assert join_opaque_values(["agencies", "revoke-key", "--kid", "-gg71R6"]) == [
        "agencies",
        "revoke-key",
        "--kid=-gg71R6",
    ]
    assert join_opaque_values(["agencies", "revoke-key", "--kid=-x"]) == ["agencies", "revoke-key", "--kid=-x"]
    assert join_opaque_values(["agencies", "revoke-key", "--kid"]) == [
        "agencies",
        "revoke-key",
        "--kid",
    ]  # argparse says what is missing
