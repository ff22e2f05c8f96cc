"""Trusted documents: an operator registers an agency's documents (`ccvc documents register`), requests
name them by id (`documentId`, or Apollo's `extensions.persistedQuery`), and where trusted documents are
required an agency runs nothing else; introspection is a partner's only by agreement.

The database is shared by the whole session: every test registers documents of its own (a comment with a
fresh token makes a fresh text, hence a fresh id) and never assumes a table is empty.
"""

import base64
import hashlib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import settings as examples
from hypothesis import strategies as st
from starlette.testclient import TestClient

from gateway.app import create_app
from gateway.auth import Authenticator
from gateway.config import Settings
from gateway.documents import Remembered, document_id, parse_document_id
from tests.cli.runner import ccvc
from tests.conftest import Api

UNITS = "{ units { code } }"
PARTNER_PAGE = 'query PartnerPage { officials(first: 3, filter: {unit: "BNV"}) { nodes { code fullName } } }'
INTROSPECTION = "query Types { __schema { queryType { name } } }"


def fresh(document: str) -> str:
    """The same operation as a text no other test registered: its own id."""
    return f"# {uuid.uuid4()}\n{document}\n"


def register(settings: Settings, tmp_path: Path, agency: str, text: str) -> str:
    path = tmp_path / f"{uuid.uuid4().hex}.graphql"
    path.write_text(text)
    ran = ccvc(settings, "documents", "register", "--agency", agency, str(path))
    assert ran.returncode == 0, ran.stderr
    return ran.stdout.split("\t")[0]


def post(client: TestClient, token: str, body: dict[str, Any], **headers: str) -> Any:
    return client.post("/graphql", json=body, headers={"Authorization": f"Bearer {token}", **headers})


def codes(answer: Any) -> list[str]:
    return [error["extensions"]["code"] for error in answer.get("errors", [])]


def receipt_payload(answer: Any) -> dict[str, Any]:
    part = answer["extensions"]["receipt"].split(".")[1]
    payload: dict[str, Any] = orjson.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return payload


class Gateway:
    """A gateway on the session's database with settings of its own, and tokens for its accounts."""

    def __init__(self, client: TestClient, settings: Settings) -> None:
        self.client, self.settings = client, settings
        state: Any = client.app
        self.authenticator = Authenticator(settings, state.state.keys, state.state.engine)

    def post(self, as_user: str, body: dict[str, Any], **headers: str) -> Any:
        response = post(self.client, self.authenticator.issue(as_user), body, **headers)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture(scope="module")
def strict(api: Api) -> Iterator[Gateway]:
    """Production's defaults (the test environment's other settings): agencies run trusted documents
    only, and introspect only by agreement; nothing looked up is kept, so a revocation shows at once."""
    settings = api.settings.model_copy(
        update={
            "trusted_documents": "agencies",
            "partner_introspection": "agreement",
            "trusted_documents_cache_seconds": 0,
        }
    )
    with TestClient(create_app(settings)) as client:
        yield Gateway(client, settings)


def test_production_requires_trusted_documents_of_agencies_and_introspection_by_agreement() -> None:
    production = Settings(
        env="production", public_url="https://ccvc.example.gov.vn", database_url="postgresql+asyncpg://db/ccvc"
    )
    assert (production.trusted_documents_mode, production.partner_introspection_mode) == ("agencies", "agreement")
    development = Settings(env="development")
    assert (development.trusted_documents_mode, development.partner_introspection_mode) == ("off", "on")


def test_a_registered_document_runs_by_id_as_if_its_text_was_sent(api: Api, tmp_path: Path) -> None:
    text = fresh(PARTNER_PAGE)
    ident = register(api.settings, tmp_path, "bhxh", text)
    assert ident == "sha256:" + hashlib.sha256(text.encode()).hexdigest()
    token = api.token("agency.bhxh")
    by_text = post(api.client, token, {"query": text}).json()
    by_id = post(api.client, token, {"documentId": ident}).json()
    by_hex = post(api.client, token, {"documentId": ident.removeprefix("sha256:")}).json()
    assert by_id["data"] == by_text["data"] == by_hex["data"]
    assert len(by_id["data"]["officials"]["nodes"]) == 3


def test_the_receipt_of_a_request_by_id_names_the_real_document(api: Api, tmp_path: Path) -> None:
    text = fresh(PARTNER_PAGE)
    ident = register(api.settings, tmp_path, "bhxh", text)
    answer = post(api.client, api.token("agency.bhxh"), {"documentId": ident}).json()
    payload = receipt_payload(answer)
    assert payload["query_sha256"] == hashlib.sha256(text.encode()).hexdigest()


def test_a_document_runs_by_apollo_persisted_query_hash_and_by_get(api: Api, tmp_path: Path) -> None:
    text = fresh(UNITS)
    ident = register(api.settings, tmp_path, "BTC", text)
    token = api.token("agency.BTC")
    apq = {"persistedQuery": {"version": 1, "sha256Hash": ident.removeprefix("sha256:")}}
    assert "units" in post(api.client, token, {"extensions": apq}).json()["data"]
    got = api.client.get("/graphql", params={"documentId": ident}, headers={"Authorization": f"Bearer {token}"})
    assert got.status_code == 200 and "units" in got.json()["data"]
    extensions = orjson.dumps(apq).decode()
    got = api.client.get("/graphql", params={"extensions": extensions}, headers={"Authorization": f"Bearer {token}"})
    assert "units" in got.json()["data"]


def test_an_unknown_id_is_persisted_query_not_found_as_apollo_clients_expect(api: Api) -> None:
    answer = post(api.client, api.token("agency.bhxh"), {"documentId": "sha256:" + "0" * 64}).json()
    assert answer["errors"][0]["message"] == "PersistedQueryNotFound"
    assert codes(answer) == ["PERSISTED_QUERY_NOT_FOUND"]
    assert "data" not in answer or answer["data"] is None


def test_apollo_automatic_persisted_queries_work_for_people(api: Api) -> None:
    text = fresh(UNITS)
    apq = {"persistedQuery": {"version": 1, "sha256Hash": document_id(text)}}
    token = api.token("hr.BNV")
    assert codes(post(api.client, token, {"extensions": apq}).json()) == ["PERSISTED_QUERY_NOT_FOUND"]
    assert "units" in post(api.client, token, {"query": text, "extensions": apq}).json()["data"]
    assert "units" in post(api.client, token, {"extensions": apq}).json()["data"]  # the hash alone will do now


def test_a_text_sent_with_the_hash_of_another_is_a_bad_request(api: Api) -> None:
    response = post(api.client, api.token("hr.BNV"), {"query": UNITS, "documentId": "sha256:" + "a" * 64})
    assert response.status_code == 400
    assert codes(response.json()) == ["BAD_REQUEST"]


@pytest.mark.parametrize(
    "body",
    [
        {"documentId": "md5:abc"},
        {"documentId": 7},
        {"extensions": {"persistedQuery": {"version": 2, "sha256Hash": "a" * 64}}},
        {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "nothex"}}},
        {"documentId": "sha256:" + "a" * 64, "extensions": {"persistedQuery": {"version": 1, "sha256Hash": "b" * 64}}},
    ],
)
def test_a_malformed_document_id_is_a_bad_request(api: Api, body: dict[str, Any]) -> None:
    response = post(api.client, api.token("agency.bhxh"), body)
    assert response.status_code == 400 and codes(response.json()) == ["BAD_REQUEST"]


def test_an_agency_may_not_run_another_agencys_document(api: Api, tmp_path: Path) -> None:
    ident = register(api.settings, tmp_path, "BTC", fresh(UNITS))
    answer = post(api.client, api.token("agency.bhxh"), {"documentId": ident}).json()
    assert codes(answer) == ["PERSISTED_QUERY_NOT_FOUND"]


def test_where_required_an_agency_runs_registered_documents_only(strict: Gateway, tmp_path: Path) -> None:
    text = fresh(PARTNER_PAGE)
    refused = strict.post("agency.bhxh", {"query": text})
    assert codes(refused) == ["TRUSTED_DOCUMENT_REQUIRED"] and refused.get("data") is None
    ident = register(strict.settings, tmp_path, "bhxh", text)
    assert strict.post("agency.bhxh", {"documentId": ident})["data"]["officials"]["nodes"]
    assert strict.post("agency.bhxh", {"query": text})["data"]["officials"]["nodes"]  # the same text, in full


def test_where_required_a_partner_resending_an_unregistered_text_with_its_hash_is_refused(strict: Gateway) -> None:
    text = fresh(UNITS)
    apq = {"persistedQuery": {"version": 1, "sha256Hash": document_id(text)}}
    assert codes(strict.post("agency.bhxh", {"extensions": apq})) == ["PERSISTED_QUERY_NOT_FOUND"]
    assert codes(strict.post("agency.bhxh", {"query": text, "extensions": apq})) == ["TRUSTED_DOCUMENT_REQUIRED"]


def test_where_required_people_still_send_any_text(strict: Gateway) -> None:
    for account in ("hr.BNV", "admin"):
        assert "units" in strict.post(account, {"query": fresh(UNITS)})["data"]


def test_with_graphql_response_media_type_a_refusal_is_a_400(strict: Gateway) -> None:
    response = post(
        strict.client,
        strict.authenticator.issue("agency.bhxh"),
        {"query": fresh(UNITS)},
        accept="application/graphql-response+json",
    )
    assert response.status_code == 400 and codes(response.json()) == ["TRUSTED_DOCUMENT_REQUIRED"]


def test_a_revoked_document_no_longer_runs(strict: Gateway, tmp_path: Path) -> None:
    text = fresh(UNITS)
    ident = register(strict.settings, tmp_path, "bhxh", text)
    assert "units" in strict.post("agency.bhxh", {"documentId": ident})["data"]
    revoked = ccvc(strict.settings, "documents", "revoke", ident)
    assert revoked.returncode == 0, revoked.stderr
    assert codes(strict.post("agency.bhxh", {"documentId": ident})) == ["PERSISTED_QUERY_NOT_FOUND"]
    assert codes(strict.post("agency.bhxh", {"query": text})) == ["TRUSTED_DOCUMENT_REQUIRED"]
    listed = ccvc(strict.settings, "documents", "list", "--agency", "bhxh", "--json")
    [row] = [r for r in orjson.loads(listed.stdout) if r["id"] == ident]
    assert row["revoked_at"] is not None
    assert ccvc(strict.settings, "documents", "revoke", ident).returncode == 2  # nothing active left to revoke


def test_registering_the_same_text_again_changes_nothing_and_a_revoked_one_comes_back(
    strict: Gateway, tmp_path: Path
) -> None:
    text = fresh(UNITS)
    path = tmp_path / "units.graphql"
    path.write_text(text)
    first = ccvc(strict.settings, "documents", "register", "--agency", "BYT", str(path))
    again = ccvc(strict.settings, "documents", "register", "--agency", "BYT", str(path))
    assert first.stdout.split("\t")[0] == again.stdout.split("\t")[0]
    assert first.stdout.rstrip().endswith("\tregistered") and again.stdout.rstrip().endswith("already registered")
    ident = first.stdout.split("\t")[0]
    assert ccvc(strict.settings, "documents", "revoke", "--agency", "BYT", ident).returncode == 0
    assert ccvc(strict.settings, "documents", "register", "--agency", "BYT", str(path)).returncode == 0
    assert "units" in strict.post("agency.BYT", {"documentId": ident})["data"]


def test_the_command_refuses_a_document_that_does_not_validate_and_registers_none(api: Api, tmp_path: Path) -> None:
    good, bad, broken = tmp_path / "good.graphql", tmp_path / "bad.graphql", tmp_path / "broken.graphql"
    good.write_text(fresh(UNITS))
    bad.write_text(fresh("{ units { code salaryOfTheMinister } }"))
    broken.write_text("{ units { code ")
    ran = ccvc(api.settings, "documents", "register", "--agency", "bhxh", str(good), str(bad), str(broken))
    assert ran.returncode == 2 and ran.stdout == ""
    assert f"{bad}:2:" in ran.stderr and "salaryOfTheMinister" in ran.stderr
    assert f"{broken}:1:" in ran.stderr and "Syntax Error" in ran.stderr
    listed = orjson.loads(ccvc(api.settings, "documents", "list", "--json").stdout)
    assert "sha256:" + document_id(good.read_text()) not in {row["id"] for row in listed}


def test_the_command_refuses_an_unknown_agency_and_a_document_past_the_limits(api: Api, tmp_path: Path) -> None:
    path = tmp_path / "deep.graphql"
    path.write_text("{ units { " + "children { " * 14 + "code" + " }" * 15 + " }")
    assert (
        "exceeds maximum operation depth"
        in ccvc(api.settings, "documents", "register", "--agency", "bhxh", str(path)).stderr
    )
    path.write_text(UNITS)
    ran = ccvc(api.settings, "documents", "register", "--agency", "nobody", str(path))
    assert ran.returncode == 2 and "No agency with code 'nobody'" in ran.stderr


def test_introspection_is_refused_to_a_partner_unless_its_agreement_allows_it(strict: Gateway, tmp_path: Path) -> None:
    ident = register(strict.settings, tmp_path, "bhxh", INTROSPECTION)
    refused = strict.post("agency.bhxh", {"documentId": ident})
    assert codes(refused) == ["INTROSPECTION_DISABLED"] and refused.get("data") is None
    assert strict.post("admin", {"query": INTROSPECTION})["data"]["__schema"]["queryType"]["name"] == "Query"
    assert ccvc(strict.settings, "documents", "introspection", "--agency", "bhxh", "allow").returncode == 0
    try:
        assert strict.post("agency.bhxh", {"documentId": ident})["data"]["__schema"]["queryType"]["name"] == "Query"
    finally:
        assert ccvc(strict.settings, "documents", "introspection", "--agency", "bhxh", "deny").returncode == 0
    assert codes(strict.post("agency.bhxh", {"documentId": ident})) == ["INTROSPECTION_DISABLED"]


def test_a_document_validated_for_people_is_not_reused_for_a_partner(strict: Gateway, tmp_path: Path) -> None:
    text = fresh('query Kind { __type(name: "Unit") { name } units { __typename code } }')
    register(strict.settings, tmp_path, "BTC", text)
    assert strict.post("admin", {"query": text})["data"]["__type"]["name"] == "Unit"
    assert codes(strict.post("agency.BTC", {"query": text})) == ["INTROSPECTION_DISABLED"]
    assert strict.post("hr.BNV", {"query": text})["data"]["__type"]["name"] == "Unit"


def test_typename_stays_allowed_to_partners(strict: Gateway, tmp_path: Path) -> None:
    ident = register(strict.settings, tmp_path, "bhxh", fresh("{ __typename units { __typename code } }"))
    assert strict.post("agency.bhxh", {"documentId": ident})["data"]["__typename"] == "Query"


@given(st.text(max_size=200))
@examples(max_examples=50, deadline=None)
def test_a_document_id_is_the_sha256_of_its_utf8_text(text: str) -> None:
    try:
        encoded = text.encode()
    except UnicodeEncodeError:  # a lone surrogate is no UTF-8 text, and no request carries one
        return
    digest = hashlib.sha256(encoded).hexdigest()
    assert document_id(text) == digest
    assert parse_document_id("sha256:" + digest) == parse_document_id(digest.upper()) == digest


@given(st.text(max_size=80))
@examples(max_examples=50, deadline=None)
def test_anything_but_a_sha256_is_refused_as_an_id(value: str) -> None:
    well_formed = len(value.removeprefix("sha256:")) == 64 and all(
        c in "0123456789abcdefABCDEF" for c in value.removeprefix("sha256:")
    )
    try:
        parse_document_id(value)
    except Exception as error:
        assert not well_formed, error
    else:
        assert well_formed


@given(st.one_of(st.text(max_size=70), st.integers(), st.none(), st.lists(st.text(max_size=3), max_size=2)))
@examples(max_examples=40, deadline=None)
def test_no_document_id_a_caller_sends_gets_a_server_error(api: Api, value: object) -> None:
    response = post(api.client, api.token("agency.bhxh"), {"documentId": value})
    assert response.status_code in (200, 400), response.text
    assert "INTERNAL" not in codes(response.json())


def test_what_is_remembered_is_forgotten_after_its_seconds() -> None:
    now = [0.0]
    kept: Remembered[str, str | None] = Remembered(10, clock=lambda: now[0])
    kept.put("known", "text")
    kept.put("absent", None)
    assert kept.get("known") == ("text",) and kept.get("absent") == (None,) and kept.get("other") is None
    now[0] = 10.0
    assert kept.get("known") is None and kept.get("absent") is None
    assert Remembered[str, str](0).put("k", "v") == "v" and Remembered[str, str](0).get("k") is None


def test_where_required_an_agency_subscribes_with_registered_documents_only(strict: Gateway) -> None:
    token = strict.authenticator.issue("agency.bhxh")
    with strict.client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
        assert ws.receive_json() == {"type": "connection_ack"}
        query = fresh('subscription { approvalEvents(unitId: "BNV") { period } }')
        ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": query}})
        refused = ws.receive_json()
    assert refused["type"] == "error" and refused["payload"][0]["extensions"]["code"] == "TRUSTED_DOCUMENT_REQUIRED"
