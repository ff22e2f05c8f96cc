"""The HTTP surface: authentication, the token endpoint, size limits, and error shapes."""

import os
import subprocess
import sys
from collections.abc import Iterator
from typing import cast

import httpx2
import orjson
import pytest
from starlette.requests import Request

from db.events import Listener
from gateway.config import Settings
from gateway.health import Readiness
from tests.conftest import PASSWORD_HASH_OF, Api


def graphql(api: Api, body: object, token: str | None = None, **headers: str) -> httpx2.Response:
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return api.client.post("/graphql", json=body, headers=headers)


def test_healthz_needs_no_token(api: Api) -> None:
    assert api.client.get("/healthz").json() == {"status": "ok"}
    ready = {"status": "ready", "checks": {"database": "ok", "migrations": "ok", "keys": "ok"}, "degraded": {}}
    assert api.client.get("/readyz").json() == ready


def test_a_process_not_listening_for_events_is_ready_and_says_it_is_degraded(api: Api) -> None:
    """Its subscribers miss other processes' approvals for a while; everything else serves."""
    listener = Listener("postgresql://postgres@127.0.0.1:9/none", lambda _: None)  # never started
    readiness = Readiness(api.state.engine, api.state.keys, retry_after=5, listener=listener)
    response = api.run(lambda: readiness.respond(cast(Request, None)))
    body = orjson.loads(response.body)
    assert response.status_code == 200 and body["status"] == "ready" and "events" in body["degraded"]


def test_graphql_without_a_token_is_401_with_a_code(api: Api) -> None:
    response = graphql(api, {"query": "{ me { id } }"})
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_graphql_with_a_bad_token_is_401(api: Api) -> None:
    for header in ("Bearer nonsense", "Basic YWRtaW46eA==", "Bearer "):
        response = api.client.post("/graphql", json={"query": "{ me { id } }"}, headers={"Authorization": header})
        assert response.status_code == 401
        assert "Traceback" not in response.text


def test_a_token_for_an_account_that_does_not_exist_is_401(api: Api) -> None:
    response = graphql(api, {"query": "{ me { id } }"}, api.token("nobody"))
    assert response.status_code == 401


def test_password_login_returns_a_working_bearer_token(api: Api) -> None:
    response = api.client.post("/auth/token", data={"username": "hr.BNV", "password": PASSWORD_HASH_OF})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] > 0
    assert graphql(api, {"query": "{ units { code } }"}, body["access_token"]).status_code == 200


def test_password_login_with_a_wrong_password_or_unknown_user_is_invalid_grant(api: Api) -> None:
    for username, password in (("hr.BNV", "wrong"), ("nobody", PASSWORD_HASH_OF)):
        response = api.client.post("/auth/token", data={"username": username, "password": password})
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_grant"


def test_token_endpoint_rejects_other_grants_and_missing_fields(api: Api) -> None:
    assert api.client.post("/auth/token", data={"grant_type": "implicit"}).json()["error"] == "unsupported_grant_type"
    assert api.client.post("/auth/token", data={"username": "admin"}).json()["error"] == "invalid_request"
    assert (
        api.client.post("/auth/token", content=b"[1]", headers={"content-type": "application/json"}).status_code == 400
    )


def test_oversized_request_is_413_before_parsing(api: Api) -> None:
    query = "{ me { id } }" + " " * (api.settings.max_body_bytes + 1)
    response = graphql(api, {"query": query}, api.token("admin"))
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


def test_syntax_error_has_a_parse_code(api: Api) -> None:
    body = api.post("{ officials(first: ")
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"


def test_unknown_field_has_a_validation_code(api: Api) -> None:
    body = api.post("{ officials { passwordHash } }")
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


def test_too_deep_queries_are_refused(api: Api) -> None:
    deep = "{ units { " + "children { " * 15 + "code" + " }" * 15 + " } }"
    body = api.post(deep)
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "depth" in body["errors"][0]["message"]


def test_queries_work_over_get(api: Api) -> None:
    response = api.client.get(
        "/graphql",
        params={"query": '{ unit(code: "BNV") { name } }'},
        headers={"Authorization": f"Bearer {api.token('admin')}"},
    )
    assert response.json()["data"] == {"unit": {"name": "Bộ Nội vụ"}}


def test_responses_keep_vietnamese_text_intact(api: Api) -> None:
    response = graphql(api, {"query": '{ unit(code: "BNV") { name } }'}, api.token("admin"))
    assert "Bộ Nội vụ".encode() in response.content


def test_jwks_is_public(api: Api) -> None:
    keys = api.client.get("/.well-known/jwks.json").json()["keys"]
    assert keys and all("d" not in key for key in keys)


def test_unexpected_errors_are_masked(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    from resolvers import codes

    def explode(name: str) -> list[object]:
        raise RuntimeError("driver said: password=secret at host 10.0.0.1")

    monkeypatch.setattr("schema.codes.resolve_code_list", explode)
    monkeypatch.setattr("planner.run.resolve_code_list", explode)  # the compiled path reads it too
    body = api.post('{ codeList(name: "gender") { code } }')
    assert body["errors"][0] == {
        "message": "Internal error",
        "extensions": {"code": "INTERNAL"},
        "locations": [{"line": 1, "column": 3}],
        "path": ["codeList"],
    }
    assert codes.resolve_code_list("gender")


def test_a_token_whose_kid_is_not_a_string_is_401(api: Api) -> None:
    import base64
    import json

    def b64(value: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    kid: object
    for kid in (["a"], {}, 5):
        token = f"{b64({'alg': 'ES256', 'kid': kid})}.{b64({'sub': 'admin'})}.c2ln"
        assert graphql(api, {"query": "{ me { id } }"}, token).status_code == 401


def test_a_body_that_is_not_utf8_is_400(api: Api) -> None:
    response = api.client.post(
        "/graphql",
        content=b'{"query": "\xff"}',
        headers={"Authorization": f"Bearer {api.token('admin')}", "content-type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


def test_token_endpoint_caps_a_chunked_body_without_length(api: Api) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(100):
            yield b"username=" + b"a" * 1000

    response = api.client.post(
        "/auth/token", content=chunks(), headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 413


def test_a_served_worker_freezes_its_start_up_objects_and_collects_young_ones_less_often(settings: Settings) -> None:
    """`ccvc serve` runs serving_app (in a process of its own here: freezing is for the whole process)."""
    check = (
        "import gc; from gateway.app import GC_THRESHOLDS, serving_app; serving_app(); "
        "assert gc.get_threshold() == GC_THRESHOLDS, gc.get_threshold(); assert gc.get_freeze_count() > 10_000"
    )
    env = {**os.environ, "CCVC_ENV": "test", "CCVC_DATABASE_URL": settings.database_url}
    env["CCVC_KEYS_DIR"] = str(settings.keys_dir)
    done = subprocess.run([sys.executable, "-c", check], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
