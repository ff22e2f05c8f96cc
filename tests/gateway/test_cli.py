"""`ccvc` as an operator runs it: a real process, real database files."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.config import Settings


def ccvc(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "CCVC_DATABASE_URL": settings.database_url,
        "CCVC_KEYS_DIR": str(settings.keys_dir),
        "CCVC_ENV": "test",
    }
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args], env=env, capture_output=True, text=True, check=False, timeout=120
    )


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


def test_token_prints_a_jwt_on_its_last_line(settings: Settings) -> None:
    result = ccvc(settings, "token", "--account", "admin")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].count(".") == 2


def test_token_for_an_unknown_account_fails_cleanly(settings: Settings) -> None:
    result = ccvc(settings, "token", "--account", "nobody")
    assert result.returncode == 2
    assert "nobody" in result.stderr and "Traceback" not in result.stderr


def test_db_upgrade_is_idempotent(settings: Settings) -> None:
    assert ccvc(settings, "db", "upgrade").returncode == 0


def test_seed_is_refused_in_production(settings: Settings) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "seed", "--officials", "5"],
        env={**os.environ, "CCVC_ENV": "production", "CCVC_DATABASE_URL": settings.database_url},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2 and "production" in result.stderr


@pytest.mark.parametrize("args", [["--help"], ["seed", "--help"]])
def test_help_explains_itself(args: list[str], tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "gateway.cli", *args], capture_output=True, text=True, check=False)
    assert result.returncode == 0 and "ccvc" in result.stdout
