"""Running `ccvc` in tests: in-process by default (the same `main` the console script calls, without
a new interpreter's second of imports), or as a real process where the process itself is what is tested."""

import contextlib
import io
import os
import subprocess
import sys
from dataclasses import dataclass

from cli import main
from gateway.config import Settings


@dataclass(frozen=True)
class Ran:
    returncode: int
    stdout: str
    stderr: str


def ccvc(settings: Settings, *args: str) -> Ran:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main(list(args), settings=settings)
        except SystemExit as exit:  # argparse: usage errors and --help
            status = exit.code if isinstance(exit.code, int) else 2
    return Ran(status, out.getvalue(), err.getvalue())


def environment(settings: Settings, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "CCVC_DATABASE_URL": settings.database_url,
        "CCVC_KEYS_DIR": str(settings.keys_dir),
        "CCVC_ENV": settings.env,
        **extra,
    }


def ccvc_process(*args: str, env: dict[str, str] | None = None, cwd: str | None = None) -> Ran:
    done = subprocess.run(
        [sys.executable, "-m", "cli", *args], env=env, cwd=cwd, capture_output=True, text=True, check=False, timeout=120
    )
    return Ran(done.returncode, done.stdout, done.stderr)
