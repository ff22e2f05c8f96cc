"""The documents the limits are measured on: the standard workload's (bench/workloads.py, read from there)
and the issue's attacks."""

import importlib.util
from pathlib import Path
from typing import Any, Final

from graphql import DocumentNode, Visitor, visit

ROOT = Path(__file__).resolve().parents[2]


def _workloads() -> Any:
    spec = importlib.util.spec_from_file_location("_bench_workloads", ROOT / "bench" / "workloads.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_BENCH = _workloads()
# A partner agency's page: 100 officials of a ministry, 12 fields with unit and position (takes $unit).
PARTNER_PAGE: Final[str] = _BENCH.PARTNER_LIST
# An official's own record with its seven lists of child records (the Mẫu 2C CV).
SELF: Final[str] = _BENCH.SELF
# A dashboard's staffing view: ministries and provinces, their departments, and their positions.
DASHBOARD: Final = "{ units { code name children { code name positions { title quota } } } }"
# Headcount of every ministry and province: a count per unit.
HEADCOUNT: Final = "{ units { code officials(first: 0) { totalCount } } }"

_UNIT = "code officials(first:100){ totalCount nodes{ id fullName training{school} familyMembers{fullName} } }"


def _tree(levels: int) -> str:
    return _UNIT if levels == 0 else f"{_UNIT} children{{ {_tree(levels - 1)} }}"


# The cost attack: five aliases of the units tree, four levels of children, a page of officials
# with two child lists at every unit (2,488 characters as the attack run wrote it, within every limit
# that existed then).
COST_ATTACK: Final = "{ " + " ".join(f"a{i}: units {{ {_tree(4)} }}" for i in range(5)) + " }"


def fan_out(levels: int) -> str:
    """The issue's fan-out attack: each fragment spreads the next one twice (2^levels `id`s written out)."""
    fragments = " ".join(f"fragment F{i} on Official {{ id ...F{i + 1} ...F{i + 1} }}" for i in range(levels))
    return "{ me { ...F0 } } " + fragments + f" fragment F{levels} on Official {{ id }}"


def nodes(document: DocumentNode) -> int:
    """How many AST nodes a document has: the measure of work that does not depend on the machine."""

    class Count(Visitor):
        seen = 0

        def enter(self, *_: object) -> None:
            Count.seen += 1

    visit(document, Count())
    return Count.seen
