"""`ccvc serve` and `ccvc demo`: check what would make the server fail (port, keys, schema) before
starting it, so the operator reads one line instead of a worker's traceback."""

import argparse
import signal
import socket

from cli._common import CommandError, Commands, database, program, run
from cli.accounts import issue_token
from cli.database import DEMO_PASSWORD, seed, upgrade
from gateway import _metrics_dir
from gateway.auth import load_keys
from gateway.config import Settings
from gateway.logs import log_config
from seed import is_empty

DEMO_OFFICIALS = 5000


def check_port(host: str, port: int) -> None:
    try:
        family, kind, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as error:
        raise CommandError(
            f"cannot listen on {host}:{port} ({error.strerror or error}); is another gateway running? "
            f"Choose another port: `make demo PORT=8001` or `{program()} serve --port 8001`"
        ) from None


async def _check_database(settings: Settings) -> None:
    async with database(settings):
        pass


def serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    # Before any worker imports prometheus_client: they write their metrics there, /metrics sums them.
    metrics_dir, ours = _metrics_dir.prepare()
    # uvicorn shuts down gracefully on SIGTERM, then raises the signal again for the handler it found
    # installed: with the default one the process would die there, skipping the clean-up below and
    # exiting -15. This handler does nothing, so `uvicorn.run` returns and the process exits 0. (It used
    # to raise SystemExit: raised into the loop while a request cancelled at the shutdown timeout was
    # still unwinding, found by review.)
    signal.signal(signal.SIGTERM, _stopped)
    try:
        uvicorn.run(
            "gateway.app:serving_app",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            log_level="info",
            access_log=False,
            # A subscription's message is a document and its variables: no larger than a request's body.
            ws_max_size=settings.max_body_bytes,
            log_config=log_config(settings.log_form, settings.log_level),
            # SIGTERM: stop accepting, finish what is in flight (subscriptions are closed with 1012, service
            # restart, so their clients reconnect elsewhere), then the app's shutdown closes its pools. With
            # --workers, the supervisor passes SIGTERM on to every worker and waits for each.
            timeout_graceful_shutdown=settings.shutdown_timeout_seconds,
        )
    finally:
        if ours:
            _metrics_dir.remove(metrics_dir)
    return 0


def _stopped(_signal: int, _frame: object) -> None:
    """SIGTERM once uvicorn has shut down (it raises the signal again): nothing more to do."""


def listen_defaults(settings: Settings, args: argparse.Namespace) -> None:
    """--host, --port and --workers when given, else CCVC_HOST, CCVC_PORT and CCVC_WORKERS."""
    args.host = settings.host if args.host is None else args.host
    args.port = settings.port if args.port is None else args.port
    args.workers = settings.workers if args.workers is None else args.workers


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    listen_defaults(settings, args)
    check_port(args.host, args.port)
    load_keys(settings)
    run(_check_database(settings))
    return serve(settings, args)


async def _empty(settings: Settings) -> bool:
    async with database(settings) as engine:
        return await is_empty(engine)


def prepare_demo_database(settings: Settings) -> None:
    """Schema current and, the first time, 5,000 synthetic officials (about five seconds)."""
    upgrade(settings)
    if run(_empty(settings)):
        print(f"Filling it with {DEMO_OFFICIALS:,} synthetic officials (once) ...")
        run(seed(settings, officials=DEMO_OFFICIALS, seed=1, password=DEMO_PASSWORD))


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    if settings.env == "production":
        raise CommandError("`ccvc demo` serves synthetic data for development; use `ccvc serve` in production")
    listen_defaults(settings, args)
    check_port(args.host, args.port)
    prepare_demo_database(settings)
    token = run(issue_token(settings, "admin", create_keys=True))
    base = f"http://{args.host}:{args.port}"
    print(
        f"""
CCVC Gateway demo on {base}/  (GraphiQL at {base}/graphql in a browser)
Every account's password is '{DEMO_PASSWORD}': admin, analyst, hr.BNV, SH00000001, ... (`{program()} accounts list`).
A token for any account: `{program()} token --account hr.BNV` (in another terminal, in this directory).
The token below is valid {settings.token_ttl_seconds // 60} minutes.

Try it:
curl -s {base}/graphql \\
  -H 'Authorization: Bearer {token}' \\
  -H 'Content-Type: application/json' \\
  -d '{{"query": "{{ officials(first: 5, filter: {{name: \\"nguyen van\\"}}) {{ totalCount nodes {{ code fullName birthDate rank {{ label }} unit {{ name }} }} }} }}"}}'
"""
    )
    return serve(settings, args)


def register(commands: Commands) -> None:
    for name, helptext, handler in (
        ("serve", "serve the gateway", cmd_serve),
        ("demo", "create the demo database if missing (CCVC_DATABASE_URL), then serve", cmd_demo),
    ):
        server = commands.add_parser(name, help=helptext)
        server.add_argument("--host", help="default CCVC_HOST, 127.0.0.1")
        server.add_argument("--port", type=int, help="default CCVC_PORT, 8000")
        server.add_argument("--workers", type=int, help="worker processes; default CCVC_WORKERS, 1")
        server.set_defaults(run=handler)
