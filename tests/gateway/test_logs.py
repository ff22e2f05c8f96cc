"""Request ids and log lines: every response says its request's id (`X-Request-Id`), and every log line
of that request carries it, as one JSON object a line with `ccvc serve`'s production configuration."""

import json
import subprocess
import sys
import textwrap

import pytest

from tests.conftest import Api


def test_every_response_says_its_request_id_and_keeps_a_plain_one_given(api: Api) -> None:
    made = api.client.get("/healthz").headers["x-request-id"]
    assert len(made) == 32 and int(made, 16) >= 0
    assert api.client.get("/healthz").headers["x-request-id"] != made
    assert api.client.get("/healthz", headers={"X-Request-Id": "partner-42.a:b"}).headers["x-request-id"] == (
        "partner-42.a:b"
    )
    response = api.client.post("/graphql", json={"query": "{ me { id } }"})  # refused, still identified
    assert response.status_code == 401 and len(response.headers["x-request-id"]) == 32


@pytest.mark.parametrize("given", ["two words", "x" * 65, "<script>", "a/b", ""])
def test_an_id_that_is_not_short_and_plain_is_replaced(api: Api, given: str) -> None:
    answered = api.client.get("/healthz", headers={"X-Request-Id": given})
    assert answered.headers["x-request-id"] != given and len(answered.headers["x-request-id"]) == 32


SCRIPT = textwrap.dedent(
    """
    import logging, logging.config
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route
    from starlette.testclient import TestClient
    from gateway.logs import RequestIds, log_config

    logging.config.dictConfig(log_config("json"))

    async def work(request):
        logging.getLogger("ccvc.graphql").warning("inside the request", extra={"color_message": "\x1b[31m"})
        return PlainTextResponse("ok")

    async def boom(request):
        raise RuntimeError("boom")

    def answer(error):
        logging.getLogger("ccvc.app").error("Unhandled error")
        return PlainTextResponse("Internal error", status_code=500)

    routes = [Route("/", work), Route("/boom\\nforged", boom)]
    app = Starlette(routes=routes, middleware=[Middleware(RequestIds, on_error=answer)])
    with TestClient(app, raise_server_exceptions=False) as client:
        print(client.get("/?token=secret").headers["x-request-id"])
        failed = client.get("/boom%0Aforged")
        print(failed.status_code, failed.headers["x-request-id"])
    logging.getLogger("ccvc.cli").warning("outside any request")
    """
)


def test_each_log_line_is_one_json_object_with_the_request_id() -> None:
    ran = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60, check=True)
    rid, (status, failed) = ran.stdout.splitlines()[0], ran.stdout.splitlines()[1].split()
    lines = [json.loads(line) for line in ran.stderr.splitlines()]  # every line one JSON object
    inside, error, outside = (
        next(entry for entry in lines if entry["logger"] == name) for name in ("ccvc.graphql", "ccvc.app", "ccvc.cli")
    )
    http, boom = (entry for entry in lines if entry["logger"] == "ccvc.http")
    assert inside["request_id"] == http["request_id"] == rid and inside["message"] == "inside the request"
    assert "color_message" not in inside and inside["time"].endswith("+00:00")  # ISO 8601, UTC
    assert http["status"] == 200 and http["path"] == "/" and "secret" not in json.dumps(http)
    assert outside["request_id"] == "-" and {"time", "level"} <= outside.keys()
    # An exception no handler answered: a 500 with its id, its log line too, and a path that forges nothing.
    assert status == "500" and error["request_id"] == boom["request_id"] == failed
    assert boom["status"] == 500 and boom["path"] == "/boom\\u000aforged"
