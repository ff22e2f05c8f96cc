"""deploy/compose.yaml against the Compose Specification's own JSON Schema (the copy check-jsonschema
ships as `vendor.compose-spec`; this machine's `docker` has no compose plugin to ask), and what the file
must hold to be the deployment docs/operations.md describes."""

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]  # no stubs locked (types-PyYAML)

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "deploy" / "compose.yaml"
CHECK = Path(sys.executable).parent / "check-jsonschema"


def _checked(path: Path) -> subprocess.CompletedProcess[str]:
    command = [str(CHECK), "--builtin-schema", "vendor.compose-spec", str(path)]
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=60)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def test_the_compose_file_is_valid_by_the_compose_specification() -> None:
    checked = _checked(COMPOSE)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_schema_refuses_what_compose_would(compose: dict[str, Any], tmp_path: Path) -> None:
    broken = {**compose, "services": {**compose["services"], "lb": {**compose["services"]["lb"], "replica": 2}}}
    (tmp_path / "compose.yaml").write_text(yaml.safe_dump(broken))
    checked = _checked(tmp_path / "compose.yaml")
    assert checked.returncode != 0 and "replica" in checked.stdout + checked.stderr


def test_two_gateways_start_after_the_migration_behind_a_load_balancer(compose: dict[str, Any]) -> None:
    services = compose["services"]
    gateways = [name for name in services if name.startswith("gateway-")]
    assert len(gateways) == 2 and {"postgres", "redis", "migrate", "lb"} <= set(services)
    for name in gateways:
        waits = services[name]["depends_on"]
        assert waits["migrate"]["condition"] == "service_completed_successfully"
        assert services[name]["read_only"] is True
    assert "ccvc db upgrade" in " ".join(services["migrate"]["command"])
    upstreams = (ROOT / "deploy" / "nginx.conf").read_text()
    assert all(f"server {name}:8000" in upstreams for name in gateways)
    assert "location = /metrics" in upstreams  # never through the public door


def test_secrets_come_from_files_not_from_the_compose_file(compose: dict[str, Any]) -> None:
    text = COMPOSE.read_text()
    assert "PASSWORD:" not in text and "CCVC_DATABASE_URL" not in text and "CCVC_METRICS_TOKEN" not in text
    assert all(secret["file"].startswith("./secrets/") for secret in compose["secrets"].values())
    assert "deploy/secrets/" in (ROOT / ".gitignore").read_text()
