"""What a Hasura, PostGraphile or Apollo user looks for around the endpoint: the GraphQL over HTTP
media type and its status codes, the schema as SDL, authorization-server metadata, and a front page."""

from typing import Any

import pytest

from db.errors import CODES
from tests.conftest import Api

SPEC = "application/graphql-response+json"


def post(api: Api, body: object, accept: str | None = SPEC, as_user: str = "admin") -> Any:
    headers = {"Authorization": f"Bearer {api.token(as_user)}"}
    if accept is not None:
        headers["Accept"] = accept
    return api.client.post("/graphql", json=body, headers=headers)


@pytest.mark.parametrize(
    ("query", "variables", "code"),
    [
        ("{ officials { ", None, "GRAPHQL_PARSE_FAILED"),
        ("{ officials { nodes { shoeSize } } }", None, "GRAPHQL_VALIDATION_FAILED"),
        ("query($n: Int!) { officials(first: $n) { totalCount } }", {"n": "many"}, "BAD_USER_INPUT"),
        ("query($n: Int!) { officials(first: $n) { totalCount } }", {}, "BAD_USER_INPUT"),
    ],
)
def test_a_request_error_is_400_without_data_in_the_spec_media_type(
    api: Api, query: str, variables: dict[str, Any] | None, code: str
) -> None:
    response = post(api, {"query": query, "variables": variables})
    assert response.status_code == 400 and response.headers["content-type"] == SPEC
    body = response.json()
    assert "data" not in body and body["errors"][0]["extensions"]["code"] == code


def test_the_same_request_error_stays_200_with_null_data_for_plain_json(api: Api) -> None:
    for accept in (None, "application/json", "*/*"):
        response = post(api, {"query": "{ officials { "}, accept=accept)
        assert response.status_code == 200 and response.headers["content-type"] == "application/json"
        assert response.json()["data"] is None


def test_a_field_error_is_200_with_data_in_the_spec_media_type(api: Api) -> None:
    response = post(api, {"query": "{ units { code } officials(first: 101) { totalCount } }"})
    assert response.status_code == 200 and response.headers["content-type"] == SPEC
    body = response.json()
    assert body["data"] is None or "units" in body["data"]
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT" and body["errors"][0]["path"]


def test_a_client_preferring_plain_json_gets_it(api: Api) -> None:
    response = post(api, {"query": "{ units { code } }"}, accept=f"application/json, {SPEC};q=0.5")
    assert response.headers["content-type"] == "application/json"
    response = post(api, {"query": "{ units { code } }"}, accept=f"{SPEC}, application/json;q=0.9")
    assert response.headers["content-type"] == SPEC and response.status_code == 200


@pytest.mark.parametrize("body", ['"{ me { id } }"', "null", "42", "[]"])
def test_a_body_that_is_json_but_not_a_request_is_400(api: Api, body: str) -> None:
    response = api.client.post(
        "/graphql",
        content=body,
        headers={"Authorization": f"Bearer {api.token('admin')}", "Content-Type": "application/json"},
    )
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


def test_the_schema_is_served_as_sdl_equal_to_the_committed_file(api: Api) -> None:
    from pathlib import Path

    # Open only where the IDE is (development); here, as elsewhere, for signed-in callers.
    assert api.client.get("/graphql/schema.graphql").status_code == 401
    response = api.client.get(
        "/graphql/schema.graphql", headers={"Authorization": f"Bearer {api.token('agency.bhxh')}"}
    )
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    assert response.text == (Path(__file__).resolve().parents[2] / "docs" / "schema.graphql").read_text()
    assert "type Official {" in response.text


def test_authorization_server_metadata_names_the_token_endpoint_and_es256(api: Api) -> None:
    metadata = api.client.get("/.well-known/oauth-authorization-server").json()
    assert metadata["token_endpoint"].endswith("/auth/token")
    assert metadata["jwks_uri"].endswith("/.well-known/jwks.json")
    assert set(metadata["grant_types_supported"]) == {"password", "client_credentials"}
    assert "private_key_jwt" in metadata["token_endpoint_auth_methods_supported"]
    assert metadata["token_endpoint_auth_signing_alg_values_supported"] == ["ES256"]
    assert metadata["issuer"] == api.settings.issuer
    assert api.client.get(metadata["jwks_uri"]).status_code == 200


def test_the_front_page_says_what_this_is_and_every_link_works(api: Api) -> None:
    page = api.client.get("/", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "CCVC Gateway" in page.text
    links = api.client.get("/", headers={"Accept": "application/json"}).json()["links"]
    assert {"/graphql", "/graphql/schema.graphql", "/.well-known/oauth-authorization-server"} <= links.keys()
    assert "/docs/partners.md" in links and "/docs/receipts.md" in links
    token = {"Authorization": f"Bearer {api.token('admin')}"}
    for path in links:
        assert f'href="{path}"' in page.text
        if path not in ("/auth/token", "/graphql"):  # POST only; the IDE is development's (tests/gateway/test_ide.py)
            assert api.client.get(path, headers=token).status_code == 200, path


def test_an_unknown_document_is_a_json_404(api: Api) -> None:
    response = api.client.get("/docs/secrets.md")
    assert response.status_code == 404 and response.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"


def test_every_error_code_has_one_entry_and_a_status() -> None:
    assert all(entry.code == code and 200 <= entry.status < 600 for code, entry in CODES.items())


def test_metadata_built_from_the_host_header_is_not_cached_and_a_public_url_wins(api: Api) -> None:
    echoed = api.client.get("/.well-known/oauth-authorization-server", headers={"Host": "evil.example"})
    assert echoed.headers["cache-control"] == "no-store"
    from starlette.testclient import TestClient

    from gateway.app import create_app

    fixed = create_app(api.settings.model_copy(update={"public_url": "https://ccvc.example.gov.vn"}))
    with TestClient(fixed) as client:
        answer = client.get("/.well-known/oauth-authorization-server", headers={"Host": "evil.example"})
    assert answer.json()["token_endpoint"] == "https://ccvc.example.gov.vn/auth/token"
    assert answer.headers["cache-control"].startswith("public")
