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
from contextvars import ContextVar
from typing import Any, Final

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER: Final = "x-request-id"
REQUEST_ID: ContextVar[str | None] = ContextVar("ccvc_request_id", default=None)
_PLAIN: Final = re.compile(r"[A-Za-z0-9._:-]{1,64}")

log = logging.getLogger("ccvc.http")


class WithRequestId(logging.Filter):
    """Puts the current request's id on every record (`-` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get() or "-"
        return True


def log_config(form: str, level: str = "INFO") -> dict[str, Any]:
    """The logging configuration for `ccvc serve` (uvicorn applies it in every worker): the gateway's
    loggers and uvicorn's, one handler on stderr, JSON or text."""
    fields = "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s"
    formatter: dict[str, Any] = (
        {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": fields,
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            "timestamp": False,
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
    and in the response's `X-Request-Id`; each HTTP request ends with one log line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

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
        finally:
            if scope["type"] == "http":
                milliseconds = round((time.perf_counter() - started) * 1000, 1)
                log.info(
                    "%s %s %d %.1f ms",
                    scope["method"],
                    scope["path"],
                    status,
                    milliseconds,
                    extra={"method": scope["method"], "path": scope["path"], "status": status, "ms": milliseconds},
                )
            REQUEST_ID.reset(token)
