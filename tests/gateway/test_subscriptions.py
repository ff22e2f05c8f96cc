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
from websockets.sync.client import connect as ws_connect
from websockets.typing import Subprotocol

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
