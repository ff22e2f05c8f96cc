"""Logs: one line per event, JSON in production (python-json-logger), each with the request id of the
request it belongs to; the same id is returned as `X-Request-Id`, so a caller quoting it to an
operator finds every line of their request.

A caller may send its own `X-Request-Id` (a partner tracing a call through its systems): kept when it is
short and plain, replaced otherwise. Every HTTP request ends with one line (`ccvc.http`): method, path,
status, milliseconds; never the query string, headers or body, which may hold personal data.
"""

import logging
import re
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, Final

from starlette.datastructures import MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER: Final = "x-request-id"
REQUEST_ID: ContextVar[str | None] = ContextVar("ccvc_request_id", default=None)
_PLAIN: Final = re.compile(r"[A-Za-z0-9._:-]{1,64}")

log = logging.getLogger("ccvc.http")


class WithRequestId(logging.Filter):
    """Puts the current request's id on every record (`-` outside a request), and drops uvicorn's copy
    of its message with terminal colours in it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get() or "-"
        record.__dict__.pop("color_message", None)
        return True


def log_config(form: str, level: str = "INFO") -> dict[str, Any]:
    """The logging configuration for `ccvc serve` (uvicorn applies it in every worker): the gateway's
    loggers and uvicorn's, one handler on stderr, JSON or text."""
    fields = "%(levelname)s %(name)s %(request_id)s %(message)s"
    formatter: dict[str, Any] = (
        {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": fields,
            "rename_fields": {"levelname": "level", "name": "logger"},
            "timestamp": "time",  # ISO 8601, UTC
        }
        if form == "json"
        else {"format": "%(asctime)s %(levelname)-7s %(name)s [%(request_id)s] %(message)s"}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": WithRequestId}},
        "formatters": {"line": formatter},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "line",
                "filters": ["request_id"],
            }
        },
        "loggers": {
            "ccvc": {"level": level},
            "uvicorn": {"level": level},
            "uvicorn.error": {"level": level},
            "uvicorn.access": {"level": "WARNING"},
        },
        "root": {"level": "WARNING", "handlers": ["stderr"]},
    }


def request_id(given: str | None) -> str:
    """The caller's id when plain and short, else a new one."""
    return given if given is not None and _PLAIN.fullmatch(given) else uuid.uuid4().hex


class RequestIds:
    """ASGI middleware: each HTTP request and WebSocket gets an id, in the context of everything it runs
    and in the response's `X-Request-Id`; each HTTP request ends with one log line. An exception no
    handler answered is answered here, by `on_error`, within the request's id."""

    def __init__(self, app: ASGIApp, on_error: Callable[[Exception], Response] | None = None) -> None:
        self.app = app
        self.on_error = on_error

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        given = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == HEADER.encode()), None)
        rid = request_id(given)
        token = REQUEST_ID.set(rid)
        started, status = time.perf_counter(), 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                MutableHeaders(scope=message)[HEADER] = rid
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as error:
            if scope["type"] != "http" or status or self.on_error is None:
                raise  # a WebSocket, or a response already begun: nothing to answer with
            await self.on_error(error)(scope, receive, send_with_id)
        finally:
            if scope["type"] == "http":
                milliseconds = round((time.perf_counter() - started) * 1000, 1)
                path = printable(scope["path"])
                log.info(
                    "%s %s %d %.1f ms",
                    scope["method"],
                    path,
                    status,
                    milliseconds,
                    extra={"method": scope["method"], "path": path, "status": status, "ms": milliseconds},
                )
            REQUEST_ID.reset(token)


# Control and bidirectional-format characters: a path holding them would forge or reorder a text log line.
_UNPRINTABLE: Final = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def printable(path: str) -> str:
    """The path as logged: every control or format character escaped (the path is percent-decoded)."""
    return _UNPRINTABLE.sub(lambda match: f"\\u{ord(match.group()):04x}", path)
