"""Subscriptions over graphql-transport-ws, on both back ends: an approval reaches those who follow its
unit, as it commits, and no one else; with PostgreSQL, from one gateway process to another
(LISTEN/NOTIFY). The legacy protocol is refused, and so is a connection without a valid token."""

import json
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest
from starlette.testclient import WebSocketTestSession
from starlette.websockets import WebSocketDisconnect
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect as ws_connect
from websockets.typing import Subprotocol

from gateway.graphql import MAX_SUBSCRIPTIONS
from tests.approving import approve, register_approver
from tests.conftest import Api, Writable
from tests.live import served_process

APPROVALS = 'subscription { approvalEvents(unitId: "BNV") { period changeCount approvedBy unit { code } } }'
CHANGED = "subscription($u: ID!) { workforceChanged(unitId: $u) { unitId period approvalId } }"
PROPOSE = """mutation($id: ID!, $c: OfficialChangesInput!) {
  proposeChange(officialId: $id, changes: $c, reason: "Quyết định") { id }
}"""
PROTOCOL = "graphql-transport-ws"
_waiting = ThreadPoolExecutor(4, thread_name_prefix="ws-receive")


def receive(ws: WebSocketTestSession, seconds: float = 20) -> dict[str, Any]:
    """The next message, or the test fails (the test client's own receive would wait forever)."""
    return dict(_waiting.submit(ws.receive_json).result(timeout=seconds))


def connect(api: Api, ws: WebSocketTestSession, user: str) -> None:
    ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {api.token(user)}"}})
    assert receive(ws) == {"type": "connection_ack"}


def subscribe(ws: WebSocketTestSession, query: str, variables: dict[str, Any] | None = None, id: str = "1") -> None:
    ws.send_json({"id": id, "type": "subscribe", "payload": {"query": query, "variables": variables or {}}})


@pytest.fixture(scope="module")
def key(writable: Writable, tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return register_approver(writable.api.settings, tmp_path_factory.mktemp("approver"))


def _retire_one(writable: Writable) -> dict[str, Any]:
    """An official of BNV below the ministry itself, proposed to retire (a counted field)."""
    query = '{ officials(first: 50, filter: { unit: "BNV", statuses: [ACTIVE] }) { nodes { id unit { id code } } } }'
    nodes = writable.api.data(query, as_user="hr.BNV")["officials"]["nodes"]
    official = next(n for n in nodes if n["unit"]["code"] != "BNV")
    writable.api.data(PROPOSE, as_user="hr.BNV", variables={"id": official["id"], "c": {"status": "RETIRED"}})
    return dict(official)


def test_an_approval_reaches_those_who_follow_its_unit(writable: Writable, key: bytes) -> None:
    api = writable.api
    writable.clock.now = datetime(2026, 11, 10, 3, 0, tzinfo=UTC)
    official = _retire_one(writable)
    with (
        api.client.websocket_connect("/graphql", subprotocols=[PROTOCOL]) as approvals,
        api.client.websocket_connect("/graphql", subprotocols=[PROTOCOL]) as changed,
        api.client.websocket_connect("/graphql", subprotocols=[PROTOCOL]) as elsewhere,
    ):
        connect(api, approvals, "approver.BNV")
        subscribe(approvals, APPROVALS)
        connect(api, changed, "hr.BNV")
        subscribe(changed, CHANGED, {"u": official["unit"]["code"]})
        connect(api, elsewhere, "hr.BNV")
        subscribe(elsewhere, CHANGED, {"u": "BNV.VP" if official["unit"]["code"] != "BNV.VP" else "BNV.TCCB"})
        subscribe(elsewhere, APPROVALS.replace('"BNV"', '"BTC"'), id="2")
        refused = receive(elsewhere)  # hr.BNV follows no approval of BTC
        assert refused["id"] == "2" and refused["payload"]["errors"][0]["extensions"]["code"] == "FORBIDDEN", refused
        assert receive(elsewhere) == {"id": "2", "type": "complete"}
        approval = approve(writable, key, "BNV", "2026-11", datetime(2026, 11, 27, 2, 0, tzinfo=UTC))
        event = receive(approvals)
        assert event["type"] == "next" and event["payload"]["data"]["approvalEvents"] == {
            "period": "2026-11",
            "changeCount": approval["changeCount"],
            "approvedBy": "approver.BNV",
            "unit": {"code": "BNV"},
        }
        moved = receive(changed)["payload"]["data"]["workforceChanged"]
        assert moved == {"unitId": official["unit"]["id"], "period": "2026-11", "approvalId": approval["id"]}
        # A unit none of whose officials the batch changed hears nothing: the next message it gets is
        # the answer to a ping.
        elsewhere.send_json({"type": "ping"})
        assert receive(elsewhere) == {"type": "pong"}


def test_a_connection_without_a_valid_token_or_in_the_legacy_protocol_is_refused(writable: Writable) -> None:
    api = writable.api
    with api.client.websocket_connect("/graphql", subprotocols=[PROTOCOL]) as ws:
        ws.send_json({"type": "connection_init", "payload": {"Authorization": "Bearer not-a-token"}})
        with pytest.raises(WebSocketDisconnect) as closed:
            receive(ws)
        assert closed.value.code == 4403
    with api.client.websocket_connect("/graphql", subprotocols=[PROTOCOL]) as ws:
        subscribe(ws, APPROVALS)  # before connection_init: unauthorized
        with pytest.raises(WebSocketDisconnect) as closed:
            receive(ws)
        assert closed.value.code == 4401
    with api.client.websocket_connect("/graphql", subprotocols=["graphql-ws"]) as ws:
        with pytest.raises(WebSocketDisconnect) as closed:
            receive(ws)
        assert closed.value.code == 4406


def test_a_subscription_over_http_is_a_clear_error(writable: Writable) -> None:
    body = writable.api.post(APPROVALS, as_user="approver.BNV")
    assert body["errors"] and "extensions" in body["errors"][0], json.dumps(body)


def test_an_approval_in_one_process_reaches_a_subscriber_of_another(writable: Writable, key: bytes) -> None:
    """Two gateway processes on one PostgreSQL: this test's, where the approver approves, and a `ccvc serve`
    where the subscriber listens over a real WebSocket; the event crosses by NOTIFY at commit."""
    api = writable.api
    if not api.settings.database_url.startswith("postgresql"):
        pytest.skip("events cross processes through PostgreSQL's LISTEN/NOTIFY; SQLite is one process")
    writable.clock.now = datetime(2026, 11, 10, 3, 0, tzinfo=UTC)
    _retire_one(writable)
    with (
        served_process(api.settings) as base,
        ws_connect(
            base.replace("http", "ws", 1) + "/graphql", subprotocols=[Subprotocol(PROTOCOL)], open_timeout=10
        ) as ws,
    ):
        ws.send(
            json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {api.token('approver.BNV')}"}})
        )
        assert json.loads(ws.recv(timeout=10)) == {"type": "connection_ack"}
        ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": APPROVALS}}))
        ws.send(json.dumps({"type": "ping"}))
        assert json.loads(ws.recv(timeout=10)) == {"type": "pong"}
        # The protocol acknowledges no subscription: give it the moment to find its unit and listen.
        time.sleep(0.5)
        approval = approve(writable, key, "BNV", "2026-11", datetime(2026, 11, 27, 2, 0, tzinfo=UTC))
        event = json.loads(ws.recv(timeout=20))
        assert (
            event["type"] == "next"
            and event["payload"]["data"]["approvalEvents"]["changeCount"] == approval["changeCount"]
        )


def test_a_connection_holds_at_most_ten_subscriptions(writable: Writable) -> None:
    api = writable.api
    with api.client.websocket_connect("/graphql", subprotocols=[PROTOCOL]) as ws:
        connect(api, ws, "approver.BNV")
        for n in range(MAX_SUBSCRIPTIONS):
            subscribe(ws, APPROVALS, id=str(n))
        subscribe(ws, APPROVALS, id="over")
        refused = receive(ws)
        assert refused["id"] == "over" and refused["type"] == "error", refused
        assert refused["payload"][0]["extensions"]["code"] == "BAD_REQUEST"
        # Let the ten find their unit before the socket closes: a subscription cancelled in the middle of
        # a statement may leave SQLite's connection to the garbage collector, which warns in a later test
        # (the likely cause of one CI run's ResourceWarning at another test's setup; not reproduced here).
        time.sleep(0.5)


@pytest.mark.parametrize(
    "document",
    [
        '{ official(code: "SH00000001") { fullName } }',
        'mutation { rejectChange(id: "1", reason: "x") { id } }',
        'subscription { approvalEvents(unitId: "BNV") { period } } query Q { me { fullName } }',
    ],
)
def test_queries_and_mutations_do_not_run_over_a_websocket(writable: Writable, document: str) -> None:
    """They would skip what HTTP gives each request: its receipt, its limits, its one transaction."""
    api = writable.api
    with api.client.websocket_connect("/graphql", subprotocols=[PROTOCOL]) as ws:
        connect(api, ws, "agency.bhxh")
        subscribe(ws, document)
        refused = receive(ws)
        assert refused["type"] == "error" and "only subscriptions" in refused["payload"][0]["message"], refused


def test_subscriptions_end_when_the_token_expires(writable: Writable) -> None:
    """A WebSocket authenticates once: its subscriptions end with its token, so a disabled account or a
    revoked grant stops receiving within a token's lifetime."""
    api = writable.api
    settings = api.settings
    token = api.state.keys.issue_token(
        subject="approver.BNV", issuer=settings.issuer, audience=settings.audience, ttl_seconds=2
    )
    with api.client.websocket_connect("/graphql", subprotocols=[PROTOCOL]) as ws:
        ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
        assert receive(ws) == {"type": "connection_ack"}
        subscribe(ws, APPROVALS)
        ended = receive(ws, seconds=10)
        assert ended["payload"]["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", ended
        assert receive(ws) == {"id": "1", "type": "complete"}
        subscribe(ws, APPROVALS, id="2")  # and no new one starts
        assert receive(ws)["payload"]["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_a_websocket_message_larger_than_a_request_body_closes_the_connection(writable: Writable) -> None:
    api = writable.api
    with (
        served_process(api.settings) as base,
        ws_connect(
            base.replace("http", "ws", 1) + "/graphql", subprotocols=[Subprotocol(PROTOCOL)], open_timeout=10
        ) as ws,
    ):
        ws.send(json.dumps({"type": "connection_init", "payload": {"pad": "x" * (api.settings.max_body_bytes + 1)}}))
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009  # message too big


def test_a_change_only_to_a_field_the_subscriber_may_not_read_is_not_told(writable: Writable, key: bytes) -> None:
    """Found by review: the analyst, who may count by religion but not read it, heard that an approval
    changed one official's numbers when only their religion changed."""
    api = writable.api
    writable.clock.now = datetime(2026, 11, 10, 3, 0, tzinfo=UTC)
    query = '{ officials(first: 50, filter: { unit: "BNV", statuses: [ACTIVE] }) { nodes { id religion { code } unit { code } } } }'
    official = next(n for n in api.data(query)["officials"]["nodes"] if n["unit"]["code"] != "BNV")
    religion = "01" if official["religion"]["code"] != "01" else "02"
    with api.client.websocket_connect("/graphql", subprotocols=[PROTOCOL]) as analyst:
        connect(api, analyst, "analyst")
        subscribe(analyst, CHANGED, {"u": official["unit"]["code"]})
        api.data(PROPOSE, as_user="hr.BNV", variables={"id": official["id"], "c": {"religion": religion}})
        approve(writable, key, "BNV", "2026-11", datetime(2026, 11, 27, 2, 0, tzinfo=UTC))
        analyst.send_json({"type": "ping"})
        assert receive(analyst) == {"type": "pong"}  # nothing before it
        writable.clock.now = datetime(2026, 11, 10, 3, 0, tzinfo=UTC)
        api.data(PROPOSE, as_user="hr.BNV", variables={"id": official["id"], "c": {"status": "ON_LEAVE"}})
        told = approve(writable, key, "BNV", "2026-11", datetime(2026, 11, 27, 2, 0, tzinfo=UTC))
        # The first event it hears is this approval's (on PostgreSQL the religion one would have come first).
        assert receive(analyst)["payload"]["data"]["workforceChanged"]["approvalId"] == told["id"]
