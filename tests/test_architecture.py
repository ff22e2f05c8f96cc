"""The shape the architecture promises, checked: import layers, single importers, scoped reads."""

import inspect
import shutil
import subprocess
import sys
from pathlib import Path

from db.queries import officials, positions, records, units

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold() -> None:
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint, "import-linter is a dev dependency"
    result = subprocess.run([lint], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_read_of_officials_and_structure_takes_a_required_keyword_scope() -> None:
    # accounts is the one exception: authentication must read the account before any scope exists.
    for module in (officials, positions, records, units):
        for name, function in inspect.getmembers(module, inspect.iscoroutinefunction):
            if function.__module__ != module.__name__:
                continue
            parameter = inspect.signature(function).parameters.get("scope")
            assert parameter is not None, f"{module.__name__}.{name} has no scope"
            assert parameter.kind is inspect.Parameter.KEYWORD_ONLY, f"{module.__name__}.{name}"
            assert parameter.default is inspect.Parameter.empty, f"{module.__name__}.{name} defaults its scope"


def test_no_module_but_gateway_crypto_mentions_jose() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for package in ("gateway", "schema", "resolvers", "policies", "db", "tests")
        for path in (ROOT / package).rglob("*.py")
        if path != ROOT / "gateway" / "crypto.py"
        and any(line.startswith(("import jose", "from jose")) for line in path.read_text().splitlines())
    ]
    assert offenders == []
