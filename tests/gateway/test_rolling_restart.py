"""Graceful shutdown and rolling restarts: on SIGTERM `ccvc serve` stops accepting, finishes what it has
in flight and exits; behind a load balancer that sends a request the stopping gateway never took to the
other one (as deploy/nginx.conf's `proxy_next_upstream error non_idempotent` does), two processes
restarted one at a time under continuous load answer every request, and every mutation acts once."""

import asyncio
import signal
import socket
import subprocess
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import orjson
import pytest

from evidence.crypto import KeyRing
from gateway.config import Settings
from tests.cli.runner import environment
from tests.conftest import BACKENDS, prepare_database
from tests.live import ROOT

READ = '{ officials(first: 5, filter: { unit: "BNV" }) { totalCount nodes { code fullName unit { name } } } }'
PROPOSE = """mutation($id: ID!) {
  proposeChange(officialId: $id, changes: { otherName: "Bé" }, reason: "Cập nhật") { id }
}"""
WITHDRAW = "mutation($id: ID!) { withdrawChange(id: $id) { status } }"
# As deploy/compose.yaml runs them: the two processes share their budgets through Redis (issue 18's "two
# processes against PostgreSQL and Redis"), under a key prefix of this run's own.
SHARED_STATE: dict[str, str] = {
    "CCVC_REDIS_URL": "redis://127.0.0.1:6379/0",
    "CCVC_REDIS_KEY_PREFIX": f"ccvc-rolling-{uuid.uuid4().hex}",
}
CLIENTS = 4  # requests at once, as many as the machine's two cores keep busy
READY_POLLS = 600  # x 0.05 s: a process starts in about two


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Gateway:
    """`ccvc serve` on a port of its own, stopped and started again on the same port (as a replica is)."""

    settings: Settings
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        process = self.process = self.spawn()
        async with httpx2.AsyncClient(timeout=5) as client:
            for _ in range(READY_POLLS):
                assert process.poll() is None, "the gateway exited while starting"
                try:
                    ready = await client.get(f"{self.base}/readyz")
                    if ready.status_code == 200:
                        assert "budgets" not in ready.json().get("degraded", {}), ready.text  # shared in Redis
                        return
                except httpx2.TransportError:
                    pass
                await asyncio.sleep(0.05)
        raise AssertionError("the gateway did not become ready")

    def spawn(self) -> subprocess.Popen[bytes]:
        command = [str(ROOT / ".venv" / "bin" / "ccvc"), "serve", "--port", str(self.port)]
        return subprocess.Popen(
            command,
            env=environment(self.settings, **SHARED_STATE),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def terminate(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)

    async def exited(self) -> int:
        assert self.process is not None
        return await asyncio.to_thread(self.process.wait, 60)


@dataclass
class Balancer:
    """What deploy/nginx.conf does in front of the gateways: kept-alive connections to each, requests in
    turn, and a request that got no answer goes to the other one: its connection refused (the gateway is
    stopping, or not started yet), or closed before a byte of the answer came (a kept-alive connection
    the stopping gateway closed as the request left, or one it had not accepted yet). A gateway answers
    every request it took before it exits, so such a request was not run; a mutation carries an
    Idempotency-Key all the same, which makes sending it again safe whatever happened. A request is
    tried once on each gateway at most."""

    ports: list[int]
    clients: dict[int, httpx2.AsyncClient] = field(default_factory=dict)
    turn: int = 0
    answered_by: Counter[int] = field(default_factory=Counter)
    refused: int = 0
    dropped: int = 0

    def __post_init__(self) -> None:
        limits = httpx2.Limits(max_keepalive_connections=32)
        self.clients = {p: httpx2.AsyncClient(base_url=f"http://127.0.0.1:{p}", limits=limits) for p in self.ports}

    async def post(self, path: str, body: dict[str, Any], headers: dict[str, str]) -> httpx2.Response:
        self.turn += 1
        order = self.ports[self.turn % 2 :] + self.ports[: self.turn % 2]
        for port in order:
            try:
                response = await self.clients[port].post(path, json=body, headers=headers, timeout=60)
            except httpx2.ConnectError:
                self.refused += 1
                continue
            except (httpx2.ReadError, httpx2.WriteError, httpx2.RemoteProtocolError):
                self.dropped += 1
                continue
            self.answered_by[port] += 1
            return response
        raise AssertionError("no gateway accepted the connection")

    async def close(self) -> None:
        for client in self.clients.values():
            await client.aclose()


@dataclass
class Load:
    """Clients sending real requests through the balancer until told to stop: pages of officials, and
    officials proposing and withdrawing a change of their own record. Every answer must be a 200 with
    data and no error."""

    balancer: Balancer
    tokens: dict[str, str]
    officials: list[dict[str, str]]
    failures: list[str] = field(default_factory=list)
    done: int = 0
    running: bool = True
    answered: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def ask(self, as_user: str, query: str, **variables: str) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[as_user]}"}
        if query.startswith("mutation"):
            headers["Idempotency-Key"] = uuid.uuid4().hex
        try:
            response = await self.balancer.post("/graphql", {"query": query, "variables": variables}, headers)
        except (httpx2.TransportError, AssertionError) as error:
            return await self.count(f"{type(error).__name__}: {error}")
        body = response.json() if response.headers.get("content-type", "").endswith("json") else None
        if response.status_code != 200 or not body or body.get("errors") or not body.get("data"):
            return await self.count(f"{response.status_code}: {response.text[:300]}")
        await self.count(None)
        return body["data"]

    async def count(self, failure: str | None) -> None:
        async with self.answered:
            if failure is None:
                self.done += 1
            else:
                self.failures.append(failure)
            self.answered.notify_all()

    async def client(self, number: int) -> None:
        official = self.officials[number]
        while self.running:
            await self.ask("admin", READ)
            proposed = await self.ask(official["code"], PROPOSE, id=official["id"])
            if proposed is not None:
                await self.ask(official["code"], WITHDRAW, id=proposed["proposeChange"]["id"])

    async def after(self, more: int) -> None:
        """Until `more` requests more have been answered (or one failed)."""
        target = self.done + more
        async with self.answered:
            await self.answered.wait_for(lambda: self.done >= target or bool(self.failures))


@pytest.fixture(params=BACKENDS)
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """A small seeded database both gateways share, and their key ring."""
    url = prepare_database(request.param, tmp_path, officials=30, suffix="_rolling")
    KeyRing.load(tmp_path / "keys", create=True)
    return Settings(env="test", database_url=url, keys_dir=tmp_path / "keys")


@pytest.fixture
def gateways(settings: Settings) -> Iterator[list[Gateway]]:
    both = [Gateway(settings), Gateway(settings)]
    yield both
    for gateway in both:  # what a failed test left running
        if gateway.process is not None and gateway.process.poll() is None:
            gateway.process.kill()
            gateway.process.wait()


def tokens_for(settings: Settings, usernames: list[str]) -> dict[str, str]:
    keys = KeyRing.load(settings.keys_dir, create=False)
    return {
        name: keys.issue_token(
            subject=name, issuer=settings.issuer, audience=settings.audience, ttl_seconds=settings.token_ttl_seconds
        )
        for name in usernames
    }


async def rolling_restart(gateways: list[Gateway], settings: Settings) -> Load:
    await asyncio.gather(*(gateway.start() for gateway in gateways))
    balancer = Balancer([gateway.port for gateway in gateways])
    admin = tokens_for(settings, ["admin"])
    page = await balancer.post(
        "/graphql",
        {"query": f"{{ officials(first: {CLIENTS}) {{ nodes {{ id code }} }} }}"},
        {"Authorization": f"Bearer {admin['admin']}"},
    )
    officials = page.json()["data"]["officials"]["nodes"]
    load = Load(balancer, tokens_for(settings, ["admin", *(o["code"] for o in officials)]), officials)
    clients = [asyncio.create_task(load.client(number)) for number in range(CLIENTS)]
    try:
        await load.after(40)
        for gateway in gateways:  # one replica at a time, as docs/operations.md says
            gateway.terminate()
            assert await gateway.exited() == 0
            await load.after(20)  # the other one answers everything meanwhile
            await gateway.start()
            await load.after(40)
    finally:
        load.running = False
        await asyncio.gather(*clients)
    # Every change proposed was withdrawn: none was made twice by a request sent again.
    for official in officials:
        mine = await load.ask(official["code"], "{ me { pendingChanges { id } } }")
        assert mine == {"me": {"pendingChanges": []}}
    await balancer.close()
    return load


def test_restarting_each_of_two_gateways_under_load_fails_no_request(
    gateways: list[Gateway], settings: Settings
) -> None:
    load = asyncio.run(rolling_restart(gateways, settings))
    assert load.failures == []
    # Both answered, and each was stopped while requests came: the balancer met refused connections.
    assert all(load.balancer.answered_by[g.port] > 0 for g in gateways) and load.balancer.refused > 0


def test_a_request_in_flight_when_sigterm_comes_is_answered_before_the_gateway_exits(
    gateways: list[Gateway], settings: Settings
) -> None:
    """The request is in flight for sure: the gateway has authenticated it and asked for its body
    (`100 Continue`) when SIGTERM comes; the body follows after."""
    gateway = gateways[0]

    async def scenario() -> tuple[bytes, int]:
        await gateway.start()
        token = tokens_for(settings, ["admin"])["admin"]
        body = orjson.dumps({"query": READ})
        reader, writer = await asyncio.open_connection("127.0.0.1", gateway.port)
        writer.write(
            (
                f"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nExpect: 100-continue\r\n\r\n"
            ).encode()
        )
        await writer.drain()
        assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 100")
        gateway.terminate()
        # Stopped accepting: a new connection is refused while the one in flight is still served.
        with pytest.raises(OSError):
            for _ in range(READY_POLLS):
                probe = await asyncio.open_connection("127.0.0.1", gateway.port)
                probe[1].close()
                await asyncio.sleep(0.05)
        writer.write(body)
        await writer.drain()
        answer = await reader.read()  # to the end: the gateway closes the connection once it has answered
        writer.close()
        return answer, await gateway.exited()

    answer, code = asyncio.run(scenario())
    head, _, payload = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and b'"totalCount"' in payload and b'"errors"' not in payload
    assert code == 0
