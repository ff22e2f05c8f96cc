"""The receipt log under load and under attack: concurrent appends from several gateway processes stay
dense and complete; a rewritten history cannot be proven consistent; no receipt, no data."""

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
from sqlalchemy import text

from db.engine import create_engine
from evidence import merkle
from evidence.crypto import PublicKeys
from evidence.receipts import verify_consistency_proof, verify_inclusion_proof
from gateway.config import Settings
from tests.conftest import Api

QUERY = "{ officials(first: 2) { nodes { id code } } }"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start_gateway(settings: Settings, port: int) -> subprocess.Popen[bytes]:
    env = os.environ | {
        "CCVC_DATABASE_URL": settings.database_url,
        "CCVC_KEYS_DIR": str(settings.keys_dir),
        "CCVC_ENV": "test",
        # A thousand requests at once queue for the pool's connections: here that is the point, not
        # saturation to be answered 503 after the usual two seconds.
        "CCVC_DB_POOL_TIMEOUT_SECONDS": "60",
    }
    command = [sys.executable, "-m", "uvicorn", "gateway.app:create_app", "--factory", "--port", str(port)]
    return subprocess.Popen([*command, "--log-level", "warning"], env=env)


def _wait_until_serving(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, "the gateway process exited"
        try:
            if httpx2.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx2.HTTPError:
            time.sleep(0.2)
    raise AssertionError("the gateway did not start")


@pytest.fixture
def two_gateways(settings: Settings) -> Iterator[list[int]]:
    ports = [_free_port(), _free_port()]
    processes = [_start_gateway(settings, port) for port in ports]
    try:
        for port, process in zip(ports, processes, strict=True):
            _wait_until_serving(port, process)
        yield ports
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)


async def _hammer(ports: list[int], token: str, count: int) -> list[httpx2.Response]:
    limits = httpx2.Limits(max_connections=count, max_keepalive_connections=count)
    async with httpx2.AsyncClient(limits=limits, timeout=120) as client:
        requests = [
            client.post(
                f"http://127.0.0.1:{ports[i % len(ports)]}/graphql",
                json={"query": QUERY},
                headers={"Authorization": f"Bearer {token}"},
            )
            for i in range(count)
        ]
        return await asyncio.gather(*requests)


async def _log_rows(url: str) -> tuple[int, list[tuple[int, str, bytes]]]:
    engine = create_engine(url)
    async with engine.connect() as conn:
        size = (await conn.execute(text("SELECT size FROM log_head WHERE id = 1"))).scalar_one()
        rows = (
            await conn.execute(text("SELECT leaf_index, rid, leaf_hash FROM receipt_log ORDER BY leaf_index"))
        ).all()
    await engine.dispose()
    return int(size), [(int(i), str(r), bytes(h)) for i, r, h in rows]


def test_a_thousand_concurrent_partner_requests_on_two_processes_make_a_thousand_log_entries(
    api: Api, settings: Settings, two_gateways: list[int]
) -> None:
    token = api.token("agency.bhxh")
    responses = asyncio.run(_hammer(two_gateways, token, 1000))
    assert [r.status_code for r in responses] == [200] * 1000
    receipts = [r.json()["extensions"] for r in responses]
    rids = {r["receiptId"] for r in receipts}
    assert len(rids) == 1000

    size, rows = asyncio.run(_log_rows(settings.database_url))
    assert [index for index, _, _ in rows] == list(range(size))  # dense: nothing lost, nothing doubled
    assert rids <= {rid for _, rid, _ in rows}
    checkpoint = httpx2.get(f"http://127.0.0.1:{two_gateways[0]}/log/checkpoint?tree_size={size}").json()
    leaves = {(0, index): leaf for index, _, leaf in rows}
    leaves |= merkle.new_nodes(0, [leaf for _, _, leaf in rows], {})
    assert checkpoint["root_hash"] == merkle.root_hash(size, leaves).hex()


def _sql(api: Api, statement: str, **params: Any) -> None:
    app: Any = api.client.app

    async def run() -> None:
        async with app.state.engine.begin() as conn:
            await conn.execute(text(statement), params)

    api.run(run)


def test_an_operator_who_rewrites_an_old_receipt_cannot_prove_the_log_consistent(own_log: Api) -> None:
    for _ in range(5):
        own_log.post(QUERY, as_user="agency.bhxh")
    old = own_log.client.get("/log/checkpoint").json()
    for _ in range(4):
        own_log.post(QUERY, as_user="agency.bhxh")
    keys = PublicKeys.from_jwks(own_log.client.get("/.well-known/jwks.json").json())
    last = own_log.post(QUERY, as_user="agency.bhxh")["extensions"]

    # The operator rewrites receipt 2 (say, to hide who got the data) and rebuilds the whole tree.
    forged = merkle.leaf_hash(b"a receipt that says something else")
    _sql(own_log, "UPDATE receipt_log SET leaf_hash = :h WHERE leaf_index = 2", h=forged)
    _sql(own_log, "DELETE FROM merkle_node")
    _sql(own_log, "UPDATE log_head SET hashed_size = 0")
    new = own_log.client.get("/log/checkpoint").json()
    proof = own_log.client.get(f"/log/consistency?from={old['tree_size']}&to={new['tree_size']}").json()
    problems = verify_consistency_proof(old, new, proof, keys)
    assert problems and "rewritten" in problems[0]
    # Inside the rewritten tree everything looks fine (the operator signs its heads): only a
    # checkpoint someone kept from before exposes the fork.
    later = own_log.client.get(f"/receipts/{last['receiptId']}/proof").json()
    assert verify_inclusion_proof(last["receipt"], later, keys) == []


def test_a_partner_gets_no_data_when_its_receipt_cannot_be_logged(own_log: Api) -> None:
    _sql(own_log, "DELETE FROM log_head")
    response = own_log.client.post(
        "/graphql", json={"query": QUERY}, headers={"Authorization": f"Bearer {own_log.token('agency.bhxh')}"}
    )
    assert response.status_code == 503
    assert response.json() == {
        "errors": [
            {
                "message": "The receipt log is unavailable; nothing was served, try again",
                "extensions": {"code": "RECEIPT_UNAVAILABLE"},
            }
        ]
    }


def test_hashing_catches_up_in_chunks_and_matches_a_full_recomputation(own_log: Api, monkeypatch: Any) -> None:
    from evidence import log as receipt_log

    monkeypatch.setattr(receipt_log, "HASH_CHUNK", 3)
    for _ in range(11):
        own_log.post(QUERY, as_user="agency.bhxh")
    checkpoint = own_log.client.get("/log/checkpoint").json()
    size, rows = asyncio.run(_log_rows(own_log.settings.database_url))
    nodes = {(0, index): leaf for index, _, leaf in rows} | merkle.new_nodes(0, [leaf for _, _, leaf in rows], {})
    assert checkpoint["tree_size"] == size == 11
    assert checkpoint["root_hash"] == merkle.root_hash(size, nodes).hex()
