"""A ministry's approved batch reaches the national gateway: signed with the ministry's key on one
gateway (`ccvc sync export`), sent over HTTP to another gateway process on a database of its own
(POST /sync/batches), verified, applied once; a tampered or foreign-signed bundle, or one that reaches
another ministry's officials, is refused with nothing applied."""

import asyncio
import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy.engine import make_url

from evidence.crypto import SYNC_TYP, KeyRing, sign_registered
from gateway.config import Settings
from tests.approving import APPROVE, BATCH, sign
from tests.cli.runner import ccvc
from tests.conftest import Writable, _on_server, prepare_database
from tests.live import served_process
from tests.schema.test_changes import IN_WINDOW, _official, _propose

ROOT = Path(__file__).resolve().parents[2]
READ = "query($code: String!) { official(code: $code) { currentAddress otherName version } }"


def _pem(private: ec.EllipticCurvePrivateKey) -> bytes:
    return private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _public(private: ec.EllipticCurvePrivateKey, path: Path) -> str:
    path.write_bytes(
        private.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return str(path)


@dataclass
class National:
    url: str
    settings: Settings

    def read(self, code: str) -> Any:
        ran = ccvc(self.settings, "token", "--account", "admin")
        answer = httpx2.post(
            f"{self.url}/graphql",
            json={"query": READ, "variables": {"code": code}},
            headers={"Authorization": f"Bearer {ran.stdout.split()[-1]}"},
            timeout=30,
        ).json()
        return answer["data"]["official"]

    def send(self, bundle: str) -> httpx2.Response:
        return httpx2.post(f"{self.url}/sync/batches", content=bundle.encode(), timeout=60)


@pytest.fixture(scope="module")
def national(writable: Writable, tmp_path_factory: pytest.TempPathFactory) -> Iterator[National]:
    """The national gateway: another process, on a database of its own seeded like the ministry's (the
    same numbers, SH…), on the same back end."""
    folder = tmp_path_factory.mktemp("national")
    backend = "sqlite" if writable.api.settings.database_url.startswith("sqlite") else "postgres"
    url = prepare_database(backend, folder, officials=400, suffix="_national")
    settings = Settings(env="test", database_url=url, keys_dir=folder / "keys")
    KeyRing.load(settings.keys_dir, create=True)
    try:
        with served_process(settings) as base:
            yield National(base, settings)
    finally:
        if backend == "postgres":
            drop = f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'
            asyncio.run(_on_server(url, drop))


@pytest.fixture(scope="module")
def ministry_key(national: National, tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """BNV's key pair, issued by MOHA: the national gateway knows its public half."""
    private = ec.generate_private_key(ec.SECP256R1())
    public = _public(private, tmp_path_factory.mktemp("bnv") / "bnv.pub.pem")
    ran = ccvc(national.settings, "ministries", "register-key", "--ministry", "BNV", "--public-key", public)
    assert ran.returncode == 0, ran.stderr
    return _pem(private)


@pytest.fixture(scope="module")
def approved(writable: Writable, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """On the ministry's gateway: a change proposed and approved in November's window."""
    api = writable.api
    person = _official(api, offset=11)
    address = "Số 3 phố Hàng Chuối, Hai Bà Trưng, Hà Nội"
    assert "errors" not in _propose(api, person["code"], person["id"], {"currentAddress": address})
    private = ec.generate_private_key(ec.SECP256R1())
    public = _public(private, tmp_path_factory.mktemp("approver") / "approver.pub.pem")
    ccvc(api.settings, "keys", "register", "--account", "approver.BNV", "--public-key", public)
    batch = api.data(BATCH, as_user="approver.BNV", variables={"unit": "BNV", "period": "2026-11"})["approvalBatch"]
    writable.clock.now = IN_WINDOW
    body = api.post(
        APPROVE, as_user="approver.BNV", variables={"id": batch["id"], "sig": sign(_pem(private), batch["digest"])}
    )
    assert "errors" not in body, body
    return {"code": person["code"], "address": address}


def _export(writable: Writable, key: bytes, folder: Path) -> str:
    (folder / "bnv.pem").write_bytes(key)
    ran = ccvc(
        writable.api.settings,
        "sync",
        "export",
        "--unit",
        "BNV",
        "--period",
        "2026-11",
        "--key",
        str(folder / "bnv.pem"),
    )
    assert ran.returncode == 0, ran.stderr
    return ran.stdout.strip()


def test_a_signed_bundle_reaches_the_national_gateway_once(
    writable: Writable, national: National, ministry_key: bytes, approved: dict[str, Any], tmp_path: Path
) -> None:
    assert national.read(approved["code"])["currentAddress"] != approved["address"]
    bundle = _export(writable, ministry_key, tmp_path)
    first = national.send(bundle)
    assert first.status_code == 200, first.text
    view = first.json()
    assert view["ministry"] == "BNV" and view["period"] == "2026-11" and not view["alreadyApplied"]
    assert view["officials"] >= 1 and view["created"] == 0
    seen = national.read(approved["code"])
    ministry_side = writable.api.data(READ, variables={"code": approved["code"]})["official"]
    assert seen == ministry_side and seen["currentAddress"] == approved["address"]
    again = national.send(bundle)
    assert again.status_code == 200 and again.json() == view | {"alreadyApplied": True}


def _payload(bundle: str) -> dict[str, Any]:
    part = bundle.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))))


def test_a_tampered_or_foreign_signed_bundle_is_refused_and_nothing_applied(
    writable: Writable, national: National, ministry_key: bytes, approved: dict[str, Any], tmp_path: Path
) -> None:
    bundle = _export(writable, ministry_key, tmp_path)
    payload = _payload(bundle)
    record = next(r for r in payload["records"] if r["code"] == approved["code"])
    before = national.read(approved["code"])

    record["fields"]["otherName"] = "Giả mạo"
    header, _, signature = bundle.split(".")
    forged_body = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    tampered = national.send(f"{header}.{forged_body}.{signature}")
    assert tampered.status_code == 400 and tampered.json()["errors"][0]["extensions"]["code"] == "INVALID_SIGNATURE"

    stranger = _pem(ec.generate_private_key(ec.SECP256R1()))
    foreign = national.send(sign_registered(stranger, json.dumps(payload).encode(), typ=SYNC_TYP))
    assert foreign.json()["errors"][0]["extensions"]["code"] == "INVALID_SIGNATURE"

    # Signed by BNV's own key, but reaching an official of another ministry: refused whole.
    other = writable.api.data('{ officials(first: 1, filter: {unit: "BTC"}) { nodes { code } } }')["officials"]
    payload["records"].append(record | {"code": other["nodes"][0]["code"]})
    reaching = national.send(sign_registered(ministry_key, json.dumps(payload).encode(), typ=SYNC_TYP))
    assert reaching.status_code == 422 and reaching.json()["errors"][0]["extensions"]["code"] == "SYNC_REFUSED"
    assert national.read(approved["code"]) == before


def test_syncing_by_hand_is_the_national_administrators(writable: Writable) -> None:
    body = writable.api.post('mutation { syncApprovedBatch(bundle: "a.b.c") { id } }', as_user="hr.BNV")
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    body = writable.api.post('mutation { syncApprovedBatch(bundle: "a.b.c") { id } }', as_user="admin")
    assert body["errors"][0]["extensions"]["code"] == "INVALID_SIGNATURE"


def test_the_export_needs_an_approval(writable: Writable, tmp_path: Path) -> None:
    key = _pem(ec.generate_private_key(ec.SECP256R1()))
    (tmp_path / "k.pem").write_bytes(key)
    ran = ccvc(
        writable.api.settings,
        "sync",
        "export",
        "--unit",
        "BTC",
        "--period",
        "2026-10",
        "--key",
        str(tmp_path / "k.pem"),
    )
    assert ran.returncode != 0 and "No batch of BTC" in ran.stderr


def test_the_administrator_imports_a_bundle_by_hand_within_its_statements(
    writable: Writable, ministry_key: bytes, approved: dict[str, Any], tmp_path: Path
) -> None:
    from resolvers.sync import SYNC_STATEMENTS

    api = writable.api
    public = _public(
        serialization.load_pem_private_key(ministry_key, password=None),  # type: ignore[arg-type]
        tmp_path / "bnv.pub.pem",
    )
    ccvc(api.settings, "ministries", "register-key", "--ministry", "BNV", "--public-key", public)
    bundle = _export(writable, ministry_key, tmp_path)
    query = "mutation($b: String!) { syncApprovedBatch(bundle: $b) { ministry officials alreadyApplied } }"
    api.statements.clear()
    first = api.data(query, variables={"b": bundle})["syncApprovedBatch"]
    assert len(api.statements) <= SYNC_STATEMENTS
    assert first["ministry"] == "BNV" and not first["alreadyApplied"]
    assert api.data(query, variables={"b": bundle})["syncApprovedBatch"]["alreadyApplied"]


# -- found by review: each with the test that would have caught it ---------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_a_strangers_body_is_refused_on_its_header_alone(national: National) -> None:
    header = _b64(json.dumps({"alg": "ES256", "typ": SYNC_TYP, "kid": "not-registered"}).encode())
    large = national.send(f"{header}.{_b64(b'[' * 2_000_000 + b']' * 2_000_000)}.{_b64(b'x' * 64)}")
    assert large.status_code == 400 and large.json()["errors"][0]["extensions"]["code"] == "INVALID_SIGNATURE"
    deep = national.send(f"{_b64(b'[' * 100_000)}.{_b64(b'{}')}.{_b64(b'x' * 64)}")
    assert deep.status_code == 400 and deep.json()["errors"][0]["extensions"]["code"] == "INVALID_SIGNATURE"
    assert national.send("not a jws at all").status_code == 400


def test_the_same_bundle_sent_at_once_is_applied_once(
    writable: Writable, national: National, ministry_key: bytes, approved: dict[str, Any], tmp_path: Path
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    bundle = _export(writable, ministry_key, tmp_path)
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: national.send(bundle), range(4)))
    assert [a.status_code for a in answers] == [200] * 4, [a.text for a in answers]
    assert sorted(a.json()["alreadyApplied"] for a in answers) == [False, True, True, True]


def test_a_late_or_future_or_malformed_bundle_changes_nothing(
    writable: Writable, national: National, ministry_key: bytes, approved: dict[str, Any], tmp_path: Path
) -> None:
    payload = _payload(_export(writable, ministry_key, tmp_path))
    record = next(r for r in payload["records"] if r["code"] == approved["code"])
    before = national.read(approved["code"])

    late = payload | {
        "issuedAt": "late",
        "records": [record | {"version": 1, "fields": record["fields"] | {"otherName": "Cũ"}}],
    }
    answer = national.send(sign_registered(ministry_key, json.dumps(late).encode(), typ=SYNC_TYP))
    assert answer.status_code == 200 and answer.json()["officials"] == 0  # older than the record here: left as it is
    assert national.read(approved["code"]) == before

    for wrong in (
        payload | {"period": "2099-12"},
        payload | {"records": [record | {"code": "X" * 40}]},
        payload | {"records": [record | {"unit": "U" * 100}]},
        payload | {"records": [record | {"extra": 1}]},
        payload | {"records": [record | {"version": 2**40}]},
        payload | {"unit": "BTC"},
    ):
        answer = national.send(sign_registered(ministry_key, json.dumps(wrong).encode(), typ=SYNC_TYP))
        assert answer.status_code == 422 and answer.json()["errors"][0]["extensions"]["code"] == "SYNC_REFUSED", wrong
    assert national.read(approved["code"]) == before


def test_the_data_version_only_moves_forward(writable: Writable) -> None:
    from datetime import UTC, datetime

    from db.queries import versions
    from tests.schema.test_changes import _data_version

    api = writable.api

    async def approve(period: str) -> None:
        async with api.state.engine.begin() as conn:
            await versions.approve(conn, period=period, now=datetime.now(UTC))

    api.run(lambda: approve("2026-11"))
    count, period = _data_version(api)
    api.run(lambda: approve("2026-09"))
    assert _data_version(api) == (count + 1, period)
