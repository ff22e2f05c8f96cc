"""The audit: every request answered for a known principal is recorded durably (append-only), with the
officials whose data left; an official sees who read their record (`accessLog`), HR sees it for their
ministry's officials, the national administrator sees every request (`auditEvents`, `ccvc audit
export`); a request whose record cannot be written is refused, and a mutation then changes nothing."""

import asyncio
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson
import pytest
from graphql import get_named_type, is_enum_type, parse
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError

from db.queries.audit import Record
from evidence.crypto import KeyRing
from gateway.app import schema_for
from gateway.config import Settings
from policies.written import today
from schema.audit import REDACTED, redact
from schema.common import core
from tests.cli.runner import ccvc
from tests.conftest import Api, Writable, prepare_database, running
from tests.gateway.test_subscriptions import PROTOCOL, connect, receive, subscribe

_SCHEMA = core(schema_for(Settings(env="test")))
PAGE = "query PartnerPage($unit: ID!) { officials(first: 5, filter: {unit: $unit}) { nodes { id fullName } } }"
ACCESS_LOG = """query Who($id: ID!, $after: String) { official(id: $id) { accessLog(first: 10, after: $after) {
  nodes { at agency { code name } unit { code } role legalBasis operation receiptId }
  pageInfo { hasNextPage endCursor } } } }"""
MY_LOG = "{ me { accessLog(first: 10) { nodes { agency { code } unit { code } operation receiptId } } } }"
EVENTS = """query Audit($filter: AuditEventFilter) { auditEvents(first: 10, filter: $filter) { nodes {
  id requestId username principalKind agencyCode operationType operationName querySha256 variables status
  outcome errorCodes receiptId officialCount officialIds legalBasis durationMs } } }"""


def _post(api: Api, query: str, as_user: str, variables: dict[str, Any] | None = None) -> Any:
    response = api.client.post(
        "/graphql",
        json={"query": query, "variables": variables or {}},
        headers={"Authorization": f"Bearer {api.token(as_user)}", "X-Request-Id": f"audit-{as_user}"},
    )
    return response


def _someone(api: Api, unit: str = "BNV") -> dict[str, Any]:
    page = api.data(
        "query($u: ID!) { officials(first: 1, filter: {unit: $u}) { nodes { id code } } }",
        as_user="admin",
        variables={"u": unit},
    )
    return dict(page["officials"]["nodes"][0])


def _events(api: Api, **where: Any) -> list[dict[str, Any]]:
    return list(api.data(EVENTS, as_user="admin", variables={"filter": where})["auditEvents"]["nodes"])


def test_a_partners_read_is_recorded_with_the_officials_it_exposed(writable: Writable) -> None:
    api = writable.api
    response = _post(api, PAGE, "agency.bhxh", {"unit": "BNV"})
    assert response.status_code == 200, response.text
    body = response.json()
    ids = [node["id"] for node in body["data"]["officials"]["nodes"]]
    [recorded] = _events(api, agencyCode="bhxh", operationName="PartnerPage")[:1]
    assert recorded["requestId"] == "audit-agency.bhxh" and recorded["principalKind"] == "agency"
    assert recorded["operationType"] == "query" and recorded["outcome"] == "ok" and recorded["status"] == 200
    assert recorded["receiptId"] == body["extensions"]["receiptId"]
    assert sorted(recorded["officialIds"], key=int) == sorted(ids, key=int) and recorded["officialCount"] == len(ids)
    assert recorded["legalBasis"] and recorded["variables"] == {"unit": "BNV"}  # an ID is kept
    assert len(recorded["querySha256"]) == 64 and "fullName" not in orjson.dumps(recorded).decode()

    # Each official read sees it: the agency, the basis, the receipt that lists them.
    someone = next(n for n in body["data"]["officials"]["nodes"])
    code = api.data("query($id: ID!) { official(id: $id) { code } }", variables={"id": someone["id"]})
    mine = api.data(MY_LOG, as_user=code["official"]["code"])["me"]["accessLog"]["nodes"]
    assert {"agency": {"code": "bhxh"}, "unit": None, "operation": "query PartnerPage"} | {
        "receiptId": body["extensions"]["receiptId"]
    } in mine


def test_the_official_sees_hr_by_unit_and_not_their_own_reads(writable: Writable) -> None:
    api = writable.api
    someone = _someone(api)
    api.data("query($id: ID!) { official(id: $id) { fullName } }", as_user="hr.BNV", variables={"id": someone["id"]})
    api.data("{ me { fullName } }", as_user=someone["code"])
    log = api.data(ACCESS_LOG, as_user=someone["code"], variables={"id": someone["id"]})
    entries = log["official"]["accessLog"]["nodes"]
    assert entries[0]["unit"] is not None and entries[0]["agency"] is None and "hr" in entries[0]["role"]
    assert entries[0]["legalBasis"] and entries[0]["receiptId"] is None  # HR asked for no receipt
    assert all(entry["operation"] != "query" or entry["unit"] is not None for entry in entries)
    # Newest first, and their own `me` read is not there.
    mine = api.data(MY_LOG, as_user=someone["code"])["me"]["accessLog"]["nodes"]
    assert len(mine) == len(entries)


def test_who_may_read_an_access_log(writable: Writable) -> None:
    api = writable.api
    someone = _someone(api)
    assert api.data(ACCESS_LOG, as_user="hr.BNV", variables={"id": someone["id"]})["official"]["accessLog"]
    assert api.data(ACCESS_LOG, as_user="admin", variables={"id": someone["id"]})["official"]["accessLog"]
    refused = api.post(ACCESS_LOG, as_user="agency.bhxh", variables={"id": someone["id"]})
    assert refused["data"]["official"]["accessLog"] is None
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN_FIELD"
    for user in ("agency.bhxh", "hr.BNV", someone["code"]):
        body = api.post(EVENTS, as_user=user)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", user


def test_access_log_pages_with_its_cursor(writable: Writable) -> None:
    api = writable.api
    someone = _someone(api)
    for _ in range(12):
        api.data("query($id: ID!) { official(id: $id) { code } }", as_user="hr.BNV", variables={"id": someone["id"]})
    first = api.data(ACCESS_LOG, as_user="admin", variables={"id": someone["id"]})["official"]["accessLog"]
    assert len(first["nodes"]) == 10 and first["pageInfo"]["hasNextPage"]
    after = first["pageInfo"]["endCursor"]
    second = api.data(ACCESS_LOG, as_user="admin", variables={"id": someone["id"], "after": after})
    assert (
        second["official"]["accessLog"]["nodes"]
        and second["official"]["accessLog"]["nodes"][0]["at"] <= (first["nodes"][-1]["at"])
    )
    bad = api.post(ACCESS_LOG, as_user="admin", variables={"id": someone["id"], "after": "nope"})
    assert bad["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_refused_and_failed_requests_are_recorded_with_their_codes(writable: Writable) -> None:
    api = writable.api
    too_big = api.client.post(
        "/graphql",
        content=b'{"query": "' + b" " * (api.settings.max_body_bytes + 10) + b'"}',
        headers={"Authorization": f"Bearer {api.token('analyst')}", "Content-Type": "application/json"},
    )
    assert too_big.status_code == 413
    assert api.post("{ nope }", as_user="analyst")["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    recorded = _events(api, username="analyst", outcome="error")
    codes = [event["errorCodes"] for event in recorded]
    assert ["GRAPHQL_VALIDATION_FAILED"] in codes and ["PAYLOAD_TOO_LARGE"] in codes
    assert all(event["officialCount"] == 0 for event in recorded)
    # No token, no principal: not in the audit (the log line has it).
    assert api.client.post("/graphql", json={"query": "{ me { id } }"}).status_code == 401


def test_free_text_variables_are_redacted() -> None:
    schema = _SCHEMA

    document = parse(
        "query($name: String, $first: Int, $f: OfficialFilter, $order: OfficialOrder) "
        "{ officials(first: $first, filter: $f, order: $order) { nodes { id } } }"
    )
    kept = redact(
        schema,
        document,
        None,
        {
            "name": "Nguyễn Văn A",
            "first": 5,
            "f": {"unit": "BNV", "name": "Trần", "includeSubunits": True},
            "order": {"field": "NAME", "direction": "ASC"},
            "undeclared": "x",
        },
    )
    assert kept == {
        "name": REDACTED,
        "first": 5,
        "f": {"unit": "BNV", "name": REDACTED, "includeSubunits": True},
        "order": {"field": "NAME", "direction": "ASC"},
        "undeclared": REDACTED,
    }


def test_values_that_are_not_what_their_type_says_and_record_changes_are_redacted() -> None:
    """Found by review: the variables are recorded before they are coerced, so a name sent as an ID or an
    Int must not stay; and a change to a record is a person's data whatever its types (a height, a grade)."""
    document = parse(
        "query($id: ID!, $g: Gender, $n: Int, $r: [String!], $ch: OfficialChangesInput) "
        "{ official(id: $id) { id } officials(first: $n, filter: {gender: $g, rankCodes: $r}) { totalCount } }"
    )
    kept = redact(
        _SCHEMA,
        document,
        None,
        {
            "id": "Nguyen Van A, CCCD 001099012345",
            "g": "Tran Thi B 0912345678",
            "n": "Nguyen Van A",
            "r": [""] * 80_000,
            "ch": {"heightCm": 172, "salaryGrade": 4, "gender": "FEMALE"},
        },
    )
    assert kept == {
        "id": REDACTED,
        "g": REDACTED,
        "n": REDACTED,
        "r": [REDACTED] * 20 + [f"{REDACTED}: 79980 more"],  # a caller's padding is not kept
        "ch": REDACTED,
    }
    many = redact(_SCHEMA, None, None, {f"v{i}": i for i in range(2000)})
    assert many is not None and list(many) == [REDACTED]  # past 4 KB, the variables' size only
    small = redact(_SCHEMA, document, None, {"id": "001099012345", "g": "NU", "n": 5, "r": ["x"] * 30, "ch": {}})
    assert small == {
        "id": REDACTED,
        "g": "NU",
        "n": 5,
        "r": [REDACTED] * 20 + [f"{REDACTED}: 10 more"],
        "ch": REDACTED,
    }
    assert redact(_SCHEMA, document, None, {"id": "232"}) == {"id": "232"}
    assert redact(_SCHEMA, document, None, {"id": "BNV.VP"}) == {"id": "BNV.VP"}


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(min_size=1),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(min_size=1), inner, max_size=3),
    max_leaves=10,
)


def _strings(value: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], str]]:
    if isinstance(value, str):
        return [(path, value)]
    if isinstance(value, list):
        return [found for item in value for found in _strings(item, path)]
    if isinstance(value, dict):
        return [found for key, item in value.items() for found in _strings(item, (*path, key))]
    return []


def _keeps(field: str) -> bool:
    """Whether OfficialFilter's `field` is of a type whose values the audit keeps (an ID, an enum)."""
    found = _FILTER.fields.get(field)
    named = get_named_type(found.type) if found is not None else None
    return named is not None and (is_enum_type(named) or named.name in ("ID", "Int", "Float", "Boolean"))


_FILTER: Any = _SCHEMA.type_map["OfficialFilter"]


@settings(max_examples=200, deadline=None)
@given(
    values=st.dictionaries(
        st.sampled_from(["s", "f", "x"]),
        _json | st.dictionaries(st.sampled_from([*_FILTER.fields, "other"]), _json, max_size=4),
    )
)
def test_only_ids_numbers_and_enums_survive_redaction(values: dict[str, Any]) -> None:
    """Whatever shape a caller gives (even one its types refuse), a string survives only where the
    operation declares an ID or an enum: under a String, an undeclared variable or a free-text field of
    an input object, every string comes out redacted."""
    document = parse("query($s: String, $f: OfficialFilter) { officials(filter: $f) { nodes { id } } }")
    kept = redact(_SCHEMA, document, None, values)
    for path, string in _strings(kept):
        assert string == REDACTED or (len(path) == 2 and path[0] == "f" and _keeps(path[1])), (path, string)


def test_the_audit_is_append_only(writable: Writable) -> None:
    api = writable.api
    someone = _someone(api)  # a read that exposed someone: both tables hold rows to tamper with
    api.data("query($id: ID!) { official(id: $id) { code } }", as_user="hr.BNV", variables={"id": someone["id"]})

    async def tamper(statement: str) -> None:
        async with api.state.engine.begin() as conn:
            await conn.execute(text(statement))

    for statement in (
        "UPDATE audit_event SET outcome = 'ok'",
        "DELETE FROM audit_event",
        "UPDATE audit_access SET official_id = 1",
        "DELETE FROM audit_access",
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            api.run(lambda statement=statement: tamper(statement))  # type: ignore[misc]


def test_records_are_written_in_batches(writable: Writable) -> None:
    """Fifty records at once share a few commits: the audit's engine runs far fewer inserts than fifty."""
    api = writable.api
    trail = api.state.audit
    inserts: list[str] = []
    listener = lambda *a: inserts.append(a[2])  # noqa: E731
    event.listen(trail.engine.sync_engine, "before_cursor_execute", listener)
    now = datetime.now(UTC)
    record = Record(
        event={
            "at": now,
            "request_id": "batch",
            "account_id": 1,
            "username": "admin",
            "principal_kind": "staff",
            "agency_code": None,
            "unit_id": None,
            "roles": "admin",
            "operation_type": "query",
            "operation_name": None,
            "query_sha256": None,
            "variables": None,
            "status": 200,
            "outcome": "ok",
            "error_codes": "",
            "receipt_id": None,
            "official_count": 1,
            "legal_basis": None,
            "cost": None,
            "duration_ms": 1,
        },
        accesses=[{"official_id": 1, "receipt_id": None, "legal_basis": "[]"}],
    )

    async def many() -> None:
        await asyncio.gather(*(trail.record(record) for _ in range(50)))

    try:
        api.run(many)
    finally:
        event.remove(trail.engine.sync_engine, "before_cursor_execute", listener)
    # One INSERT of accesses per batch. On PostgreSQL that is the batch's one statement (its events too,
    # db/queries/audit.append); on SQLite the events go one by one before it, inside the batch's
    # transaction (it has no multi-row INSERT that returns ids in order), where a statement costs no round
    # trip and the commit is what is shared.
    batches = [s for s in inserts if "INSERT INTO AUDIT_ACCESS" in s.upper()]
    assert 1 <= len(batches) <= 10, len(batches)
    found = api.data(EVENTS, as_user="admin", variables={"filter": {"from": (now - timedelta(seconds=1)).isoformat()}})
    assert sum(1 for e in found["auditEvents"]["nodes"] if e["requestId"] == "batch") == 10  # a page of them


def test_an_export_is_in_the_access_log_with_its_files_receipt(writable: Writable) -> None:
    api = writable.api
    exported = api.data(
        'mutation { exportOfficials(format: CSV, limit: 3, filter: {unit: "BNV"}, fields: ["code"]) '
        "{ receiptId rowCount } }",
        as_user="hr.BNV",
    )["exportOfficials"]
    [recorded] = _events(api, username="hr.BNV", operationName=None)[:1]
    assert recorded["operationType"] == "mutation" and recorded["officialCount"] == exported["rowCount"]
    someone = recorded["officialIds"][0]
    entries = api.data(ACCESS_LOG, as_user="admin", variables={"id": someone})["official"]["accessLog"]["nodes"]
    assert entries[0]["receiptId"] == exported["receiptId"] and entries[0]["operation"] == "mutation"


def test_ccvc_audit_export_writes_json_lines(writable: Writable, tmp_path: Path) -> None:
    api = writable.api
    _post(api, PAGE, "agency.bhxh", {"unit": "BNV"})
    today = datetime.now(UTC).date()
    out = tmp_path / "audit.jsonl"
    ran = ccvc(
        api.settings,
        "audit",
        "export",
        "--from",
        (today - timedelta(days=1)).isoformat(),
        "--to",
        (today + timedelta(days=2)).isoformat(),
        "--agency",
        "bhxh",
        "--output",
        str(out),
    )
    assert ran.returncode == 0, ran.stderr
    lines = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert lines and all(line["agency_code"] == "bhxh" for line in lines)
    assert [line["id"] for line in lines] == sorted(line["id"] for line in lines)
    assert lines[-1]["official_ids"] and lines[-1]["at"].endswith("+00:00")
    assert f"{len(lines)} audit records" in ran.stderr
    bad = ccvc(api.settings, "audit", "export", "--from", "2026-12-01", "--to", "2026-11-01")
    assert bad.returncode != 0 and "--from must be before --to" in bad.stderr


def test_a_request_that_cannot_be_recorded_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    url = prepare_database("sqlite", tmp_path, officials=40, suffix="_unrecordable")
    keys = tmp_path / "keys"
    KeyRing.load(keys, create=True)
    with running(Settings(env="test", database_url=url, keys_dir=keys)) as api:
        client = api.client

        async def break_the_audit() -> None:
            async with api.state.engine.begin() as conn:
                await conn.execute(text("DROP TABLE audit_access"))
                await conn.execute(text("DROP TABLE audit_event"))

        api.run(break_the_audit)
        read = client.post(
            "/graphql",
            json={"query": PAGE, "variables": {"unit": "BNV"}},
            headers={"Authorization": f"Bearer {api.token('agency.bhxh')}"},
        )
        assert read.status_code == 503 and read.headers["retry-after"]
        assert read.json()["errors"][0]["extensions"]["code"] == "AUDIT_UNAVAILABLE" and "data" not in read.json()
        write = client.post(
            "/graphql",
            json={
                "query": 'mutation { exportOfficials(format: CSV, limit: 2, filter: {unit: "BNV"}, fields: ["code"]) '
                "{ id } }"
            },
            headers={"Authorization": f"Bearer {api.token('hr.BNV')}"},
        )
        assert write.status_code == 503 and write.json()["errors"][0]["extensions"]["code"] == "AUDIT_UNAVAILABLE"
        # An answer that had earned a status of its own (400 for a graphql-response+json client's bad
        # document) is a 503 all the same once the audit cannot record it (found by review).
        refused = client.post(
            "/graphql",
            json={"query": "{ nope }"},
            headers={"Authorization": f"Bearer {api.token('hr.BNV')}", "Accept": "application/graphql-response+json"},
        )
        assert refused.status_code == 503 and refused.json()["errors"][0]["extensions"]["code"] == "AUDIT_UNAVAILABLE"

        async def exports() -> int:
            async with api.state.engine.connect() as conn:
                return int((await conn.execute(text("SELECT count(*) FROM export_file"))).scalar_one())

        assert api.run(exports) == 0


def test_a_subscription_and_a_files_download_are_recorded(writable: Writable) -> None:
    api = writable.api
    with api.client.websocket_connect("/graphql", subprotocols=[PROTOCOL]) as ws:
        connect(api, ws, "hr.BNV")
        subscribe(ws, "subscription Follow($u: ID!) { approvalEvents(unitId: $u) { approvalId } }", {"u": "BNV"})
        subscribe(ws, "query Sneaky { units { code } }", id="2")  # refused: over a socket only subscriptions
        assert receive(ws)["id"] == "2"  # both handled (and recorded) before the socket closes
    followed = _events(api, username="hr.BNV", operationName="Follow")[0]
    assert followed["operationType"] == "subscription" and followed["outcome"] == "ok"
    assert followed["variables"] == {"u": "BNV"} and len(followed["querySha256"]) == 64
    refused = _events(api, username="hr.BNV", operationName="Sneaky")[0]
    assert refused["outcome"] == "error" and refused["errorCodes"] == ["BAD_REQUEST"]

    exported = api.data(
        'mutation { exportOfficials(format: CSV, limit: 2, filter: {unit: "BNV"}, fields: ["code"]) '
        "{ url receiptId rowCount } }",
        as_user="hr.BNV",
    )["exportOfficials"]
    headers = {"Authorization": f"Bearer {api.token('hr.BNV')}"}
    assert api.client.get(exported["url"], headers=headers).status_code == 200
    assert api.client.get("/exports/" + "0" * 32, headers=headers).status_code == 404
    downloads = _events(api, username="hr.BNV", operationName="export csv")
    assert downloads[0]["operationType"] == "download" and downloads[0]["receiptId"] == exported["receiptId"]
    assert downloads[0]["officialCount"] == exported["rowCount"] and downloads[0]["status"] == 200
    missing = _events(api, username="hr.BNV", operationName="export")[0]
    assert missing["status"] == 404 and missing["errorCodes"] == ["NOT_FOUND"]


def test_each_official_sees_the_basis_that_let_their_own_record_out(writable: Writable) -> None:
    """A grantee reads themself (their role's basis) and two officials named in a written grant (the
    grant's) in one answer: each official's log cites what let their record out, not the union."""
    api = writable.api
    grantee, named = _someone(api, "BTC"), _people(api, "BNV", 2)
    api.data(
        "mutation($input: GrantAccessInput!) { grantAccess(input: $input) { id } }",
        as_user="hr.BNV",
        variables={
            "input": {
                "grantee": grantee["code"],
                "officials": [person["code"] for person in named],
                "fields": ["work"],
                "validFrom": str(today()),
                "validTo": str(today() + timedelta(days=30)),
                "documentNumber": "77/CV-AUDIT",
            }
        },
    )
    api.state.scopes.forget()
    page = api.data("{ officials(first: 10) { nodes { id } } }", as_user=grantee["code"])["officials"]["nodes"]
    assert {node["id"] for node in page} == {grantee["id"], *(person["id"] for person in named)}
    [read] = _events(api, username=grantee["code"])[:1]
    assert len(read["legalBasis"]) >= 2  # the event cites both bases
    for person in named:
        entries = api.data(ACCESS_LOG, as_user="admin", variables={"id": person["id"]})["official"]["accessLog"]
        [basis] = [entry["legalBasis"] for entry in entries["nodes"] if entry["unit"] is not None][:1]
        assert basis and all("77/CV-AUDIT" in cited for cited in basis), basis


def _people(api: Api, unit: str, count: int) -> list[dict[str, Any]]:
    page = api.data(
        "query($u: ID!, $n: Int!) { officials(first: $n, filter: {unit: $u}) { nodes { id code } } }",
        as_user="admin",
        variables={"u": unit, "n": count},
    )
    return list(page["officials"]["nodes"])


def test_time_bounds_mean_the_same_instant_in_any_offset(writable: Writable) -> None:
    """Found by review: on SQLite, a bound in +07:00 was compared as if it were UTC."""
    api = writable.api
    api.data('{ unit(code: "BNV") { name } }', as_user="analyst")
    now = datetime.now(UTC)
    counts = []
    for offset in (0, 7, -5):
        zone = timezone(timedelta(hours=offset))
        since = (now - timedelta(minutes=2)).astimezone(zone).isoformat()
        until = (now + timedelta(minutes=2)).astimezone(zone).isoformat()
        found = _events(api, username="analyst", **{"from": since, "to": until})
        counts.append(len(found))
    assert counts[0] > 0 and counts == [counts[0]] * 3, counts


def test_pending_changes_shown_to_a_reviewer_are_in_the_officials_access_log(writable: Writable) -> None:
    """Found by review: an approver read an official's proposed values (their religion, their address)
    and the official's log did not say so."""
    api = writable.api
    someone = _someone(api)
    change = api.data(
        'mutation($id: ID!) { proposeChange(officialId: $id, reason: "chuyển nhà", '
        'changes: {currentAddress: "12 Hàng Bạc, Hà Nội"}) { id } }',
        as_user=someone["code"],
        variables={"id": someone["id"]},
    )["proposeChange"]["id"]
    try:
        shown = api.data(
            'query Review { pendingChanges(unitId: "BNV") { officialId changes { field value } } }',
            as_user="approver.BNV",
        )["pendingChanges"]
        assert someone["id"] in {c["officialId"] for c in shown}
        entries = api.data(ACCESS_LOG, as_user="admin", variables={"id": someone["id"]})["official"]["accessLog"]
        assert entries["nodes"][0]["operation"] == "query Review" and "approver" in entries["nodes"][0]["role"]
        assert entries["nodes"][0]["legalBasis"]
    finally:
        api.data(
            "mutation($id: ID!) { withdrawChange(id: $id) { id } }", as_user=someone["code"], variables={"id": change}
        )


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "resolvers"])
def test_a_cursor_exposes_the_row_it_names(writable: Writable, compiled: bool) -> None:
    """Found by review: a page's cursor carries its row's id and sort value (its name, where readable),
    so paging with `first: 1` and `pageInfo` alone walked a scope with no exposure recorded."""
    with running(writable.api.settings.model_copy(update={"compiled_reads": compiled})) as api:
        for selection, count in (("pageInfo { hasNextPage }", 0), ("pageInfo { endCursor }", 2)):
            query = f'query Walk {{ officials(first: 3, filter: {{unit: "BNV"}}) {{ {selection} }} }}'
            response = _post(api, query, "agency.bhxh")
            assert response.status_code == 200, response.text
            [walked] = _events(api, agencyCode="bhxh", operationName="Walk")[:1]
            assert walked["officialCount"] == count, (selection, walked)
