"""Where `ccvc serve`'s worker processes keep their metrics (prometheus-client's multiprocess mode).

Kept apart from gateway/metrics.py because it must run before prometheus_client is imported: the
library chooses, once, at import, whether values live in this process's memory or in files that every
worker writes and `/metrics` sums, by whether PROMETHEUS_MULTIPROC_DIR is set.
"""

import os
import shutil
import tempfile
from pathlib import Path
from typing import Final

VARIABLE: Final = "PROMETHEUS_MULTIPROC_DIR"


def prepare() -> tuple[Path, bool]:
    """Set PROMETHEUS_MULTIPROC_DIR for this process and the workers it starts, emptied of an earlier
        run's files (their counts would be added to this run's, and their live gauges to its pool): the
        operator's directory when given, else a new temporary one. Returns it, and whether it is ours to
        remove at exit. (Were prometheus_client imported already, a worker serving in this very process
    would keep its values in memory: gateway/metrics.py reads whichever mode the library chose.)"""
    given = os.environ.get(VARIABLE)
    if given:
        directory = Path(given)
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("*.db"):  # only the library's files: the operator's directory stays
            stale.unlink(missing_ok=True)
        return directory, False
    directory = Path(tempfile.mkdtemp(prefix="ccvc-metrics-"))
    os.environ[VARIABLE] = str(directory)
    return directory, True


def remove(directory: Path) -> None:
    shutil.rmtree(directory, ignore_errors=True)
