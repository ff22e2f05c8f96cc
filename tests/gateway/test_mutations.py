"""A mutation that answers an error has changed nothing, and a retry after a lost answer is safe: a
request's writes, its export and the receipts of both go through one transaction, committed only once
the whole answer is ready; `Idempotency-Key` replays an answer instead of acting twice."""

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import httpx2
import pytest
from sqlalchemy import func, select, text

from db.engine import create_engine
from db.models import AccessGrant, ExportFile, ReceiptEntry, table_of
from gateway.app import create_app
from gateway.auth import Authenticator
from policies.written import today
from tests.conftest import Api

GRANT = """mutation($input: GrantAccessInput!) { grantAccess(input: $input) { id grantee } }"""
EXPORT = "mutation { exportOfficials(limit: 3, format: JSONL) { id rowCount receiptId } }"


def grant_input(document: str, **overrides: Any) -> dict[str, Any]:
    return {
        "grantee": "SH00000670",
        "unit": "BNV.VP",
        "fields": ["work"],
        "validFrom": str(today()),
        "validTo": str(today() + timedelta(days=10)),
        "documentNumber": document,
        **overrides,
    }


def count(api: Api, table: Any, *where: Any) -> int:
    async def run() -> int:
        engine = create_engine(api.settings.database_url)
        try:
            async with engine.connect() as conn:
                return int((await conn.execute(select(func.count()).select_from(table).where(*where))).scalar_one())
        finally:
            await engine.dispose()

    return asyncio.run(run())


def grants_with(api: Api, document: str) -> int:
    grant = table_of(AccessGrant)
    return count(api, grant, grant.c.document_number == document)


def send(api: Api, body: dict[str, Any], as_user: str = "hr.BNV", **headers: str) -> httpx2.Response:
    return api.client.post("/graphql", json=body, headers={"Authorization": f"Bearer {api.token(as_user)}", **headers})


def test_variables_a_receipt_cannot_hash_are_refused_before_the_mutation_runs(api: Api) -> None:
    document = f"ijson-{uuid.uuid4().hex[:8]}"
    body = {"query": GRANT, "variables": {"input": grant_input(document), "extra": 9007199254740993}}
    response = send(api, body, **{"X-CCVC-Receipt": "1"})
    assert response.status_code == 400 and response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert grants_with(api, document) == 0


def test_a_mutation_with_one_failing_field_writes_nothing_at_all(api: Api) -> None:
    document = f"half-{uuid.uuid4().hex[:8]}"
    query = """mutation($good: GrantAccessInput!, $bad: GrantAccessInput!) {
      first: grantAccess(input: $good) { id }
      second: grantAccess(input: $bad) { id } }"""
    bad = grant_input(document, unit="BNV.NO.SUCH.UNIT")
    body = send(api, {"query": query, "variables": {"good": grant_input(document), "bad": bad}}).json()
    assert body["data"] is None  # the first grant is not shown as made: it was rolled back
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND" and body["errors"][0]["path"] == ["second"]
    assert grants_with(api, document) == 0


def test_an_export_in_a_failing_request_leaves_no_file_and_no_receipt(api: Api) -> None:
    entries, files = count(api, table_of(ReceiptEntry)), count(api, table_of(ExportFile))
    query = 'mutation { exportOfficials(limit: 2) { id } revokeGrant(id: "2147483647") { id } }'
    body = send(api, {"query": query}, as_user="admin").json()
    assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert count(api, table_of(ReceiptEntry)) == entries and count(api, table_of(ExportFile)) == files


def test_a_retry_with_the_same_idempotency_key_gets_the_same_answer_and_acts_once(api: Api) -> None:
    document, key = f"idem-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    body = {"query": GRANT, "variables": {"input": grant_input(document)}}
    first = send(api, body, **{"Idempotency-Key": key, "X-CCVC-Receipt": "1"})
    again = send(api, body, **{"Idempotency-Key": key, "X-CCVC-Receipt": "1"})
    assert first.status_code == again.status_code == 200
    assert again.content == first.content  # the same answer, receipt included
    assert again.headers["idempotent-replayed"] == "true"
    assert grants_with(api, document) == 1
    # Another account's identical key is another request.
    other = send(api, body, as_user="admin", **{"Idempotency-Key": key})
    assert other.status_code == 200 and "idempotent-replayed" not in other.headers
    assert grants_with(api, document) == 2


def test_the_same_key_for_a_different_request_is_refused(api: Api) -> None:
    document, key = f"idem-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    assert (
        send(
            api, {"query": GRANT, "variables": {"input": grant_input(document)}}, **{"Idempotency-Key": key}
        ).status_code
        == 200
    )
    changed = {"query": GRANT, "variables": {"input": grant_input(document + "-b")}}
    response = send(api, changed, **{"Idempotency-Key": key})
    assert response.status_code == 422 and response.json()["errors"][0]["extensions"]["code"] == "IDEMPOTENCY_CONFLICT"
    assert grants_with(api, document + "-b") == 0


@pytest.mark.parametrize("key", ["", "x" * 256, "a\tb"])
def test_a_malformed_idempotency_key_is_400(api: Api, key: str) -> None:
    response = send(api, {"query": GRANT, "variables": {"input": grant_input("k")}}, **{"Idempotency-Key": key})
    assert response.status_code == 400


def test_a_failed_mutation_is_not_kept_so_its_retry_runs_again(api: Api) -> None:
    document, key = f"idem-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    bad = {"query": GRANT, "variables": {"input": grant_input(document, unit="BNV.NOPE")}}
    assert "errors" in send(api, bad, **{"Idempotency-Key": key}).json()
    assert "errors" in send(api, bad, **{"Idempotency-Key": key}).json()  # refused again, not replayed


def test_concurrent_duplicates_act_once(api: Api) -> None:
    document, key = f"race-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    body = {"query": GRANT, "variables": {"input": grant_input(document)}}
    app: Any = api.client.app
    token = api.token("hr.BNV")

    async def race() -> list[httpx2.Response]:
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://gateway") as client:
            headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": key}
            return list(await asyncio.gather(*(client.post("/graphql", json=body, headers=headers) for _ in range(4))))

    responses = api.run(race)
    assert {r.status_code for r in responses} <= {200, 409}
    assert grants_with(api, document) == 1
    winners = {r.content for r in responses if r.status_code == 200}
    assert len(winners) == 1  # every 200 is the one answer


def test_a_mutation_whose_receipt_cannot_be_logged_changes_nothing(own_log: Api) -> None:
    app: Any = own_log.client.app

    async def break_the_log() -> None:
        async with app.state.engine.begin() as conn:
            await conn.execute(text("DELETE FROM log_head"))

    own_log.run(break_the_log)
    document = f"broken-{uuid.uuid4().hex[:8]}"
    unit = own_log.data('{ unit(code: "BNV") { id } }')["unit"]["id"]
    body = {"query": GRANT, "variables": {"input": grant_input(document, unit=unit, grantee="SH00000003")}}
    response = send(own_log, body, **{"X-CCVC-Receipt": "1"})
    assert response.status_code == 503 and response.json()["errors"][0]["extensions"]["code"] == "RECEIPT_UNAVAILABLE"
    assert grants_with(own_log, document) == 0


def test_concurrent_mutations_holding_the_write_lock_never_wait_for_a_second_connection(api: Api) -> None:
    """Once a request has written, its reads go through its own transaction. With a pool of two
    connections, one held by a request queued behind the write lock, the request holding the lock
    still reads its grant's units (it used to wait for the pool, then answer 503)."""
    tight = create_app(api.settings.model_copy(update={"db_pool_size": 1}))
    query = (
        "mutation($input: GrantAccessInput!) { grantAccess(input: $input) { id managingUnit { code } unit { code } } }"
    )
    document = f"lock-{uuid.uuid4().hex[:8]}"

    async def many() -> list[httpx2.Response]:
        token = Authenticator(api.settings, tight.state.keys, tight.state.engine).issue("hr.BNV")
        transport = httpx2.ASGITransport(app=tight)
        async with httpx2.AsyncClient(transport=transport, base_url="http://gateway") as client:
            headers = {"Authorization": f"Bearer {token}"}
            bodies = [{"query": query, "variables": {"input": grant_input(document)}} for _ in range(6)]
            try:
                return list(
                    await asyncio.gather(
                        *(client.post("/graphql", json=b, headers=headers, timeout=60) for b in bodies)
                    )
                )
            finally:
                await tight.state.engine.dispose()

    responses = asyncio.run(many())
    assert [r.status_code for r in responses] == [200] * 6, [r.text[:200] for r in responses if r.status_code != 200]
    assert all("errors" not in r.json() for r in responses)
    assert grants_with(api, document) == 6
