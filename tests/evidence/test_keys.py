"""Signing keys: rotation keeps old receipts verifying, retired keys stop vouching for new tokens, and
production refuses a key the gateway made for itself."""

import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from evidence.crypto import KeyRing, PublicKeys
from evidence.errors import InvalidToken
from evidence.keyfiles import KeyConfigurationError, generate_key, rotate_key
from evidence.receipts import verify_receipt
from gateway.app import create_app
from gateway.auth import Authenticator
from gateway.config import Settings
from tests.conftest import Api, running

QUERY = "{ officials(first: 3) { nodes { id fullName } } }"


@pytest.fixture
def rotating(settings: Settings, tmp_path: Path) -> Any:
    """A gateway on the session database with a key ring of its own, to rotate freely."""
    with running(Settings(env="test", database_url=settings.database_url, keys_dir=tmp_path / "keys")) as served:
        yield served


def _refresh_now(api: Api) -> None:
    app: Any = api.client.app
    app.state.keys._checked = 0.0  # skip the once-a-second wait


def test_a_receipt_signed_by_a_rotated_key_still_verifies(rotating: Api) -> None:
    before = rotating.post(QUERY, as_user="agency.bhxh")
    old_kid = json.loads((rotating.settings.keys_dir / "keyring.json").read_text())["keys"][0]["kid"]
    new_kid, retired = rotate_key(rotating.settings.keys_dir)
    assert retired == old_kid
    _refresh_now(rotating)
    jwks = rotating.client.get("/.well-known/jwks.json").json()
    assert {(k["kid"], k["status"]) for k in jwks["keys"]} == {(old_kid, "retired"), (new_kid, "active")}
    keys = PublicKeys.from_jwks(jwks)
    check = verify_receipt(before["extensions"]["receipt"], keys, data=before["data"])
    assert check.valid and check.kid == old_kid and check.key_status == "retired"
    after = rotating.post(QUERY, as_user="agency.bhxh")
    assert verify_receipt(after["extensions"]["receipt"], keys, data=after["data"]).kid == new_kid
    query = "query($r: String!, $d: JSON) { verifyReceipt(receipt: $r, data: $d) { valid keyStatus } }"
    answer = rotating.data(query, variables={"r": before["extensions"]["receipt"], "d": before["data"]})
    assert answer["verifyReceipt"] == {"valid": True, "keyStatus": "retired"}


def test_a_token_from_a_retired_key_works_for_one_token_lifetime_only(rotating: Api) -> None:
    app: Any = rotating.client.app
    old_token = rotating.token("admin")
    rotate_key(rotating.settings.keys_dir)
    _refresh_now(rotating)
    assert (
        rotating.client.post(
            "/graphql", json={"query": "{ me { id } }"}, headers={"Authorization": f"Bearer {old_token}"}
        ).status_code
        == 200
    )
    # Pretend the rotation happened longer ago than a token lives.
    manifest = rotating.settings.keys_dir / "keyring.json"
    entries = json.loads(manifest.read_text())
    long_ago = (datetime.now(UTC) - timedelta(seconds=rotating.settings.token_ttl_seconds + 60)).isoformat()
    entries["keys"][0]["retired"] = long_ago
    manifest.write_text(json.dumps(entries))
    ring = KeyRing.load(rotating.settings.keys_dir, create=False)
    with pytest.raises(InvalidToken, match="retired key"):
        ring.verify_token(old_token, issuer=rotating.settings.issuer, audience=rotating.settings.audience)
    assert Authenticator(rotating.settings, ring, app.state.engine).issue("admin").count(".") == 2


def test_rotated_keys_are_stored_owner_only(tmp_path: Path) -> None:
    generate_key(tmp_path)
    new_kid, _ = rotate_key(tmp_path)
    assert stat.S_IMODE((tmp_path / f"{new_kid}.pem").stat().st_mode) == 0o600


def test_generate_refuses_to_overwrite_a_key_ring(tmp_path: Path) -> None:
    generate_key(tmp_path)
    with pytest.raises(KeyConfigurationError, match="rotate"):
        generate_key(tmp_path)


def test_production_refuses_to_start_with_a_development_key_even_a_retired_one(
    settings: Settings, tmp_path: Path
) -> None:
    KeyRing.load(tmp_path / "keys", create=True)  # what `make demo` or a test run leaves behind
    production = Settings(
        env="production",
        public_url="https://ccvc.example.gov.vn",
        database_url=settings.database_url,
        allow_sqlite_in_production=True,
        keys_dir=tmp_path / "keys",
    )
    with pytest.raises(KeyConfigurationError, match="development"):
        create_app(production)
    rotate_key(tmp_path / "keys")  # the development key, retired, would still verify receipts
    with pytest.raises(KeyConfigurationError, match="development"):
        create_app(production)
    generate_key(tmp_path / "operator")  # an operator's own key ring
    create_app(
        Settings(
            env="production",
            public_url="https://ccvc.example.gov.vn",
            database_url=settings.database_url,
            allow_sqlite_in_production=True,
            keys_dir=tmp_path / "operator",
        )
    )


def test_production_does_not_make_keys_of_its_own(settings: Settings, tmp_path: Path) -> None:
    production = Settings(
        env="production",
        public_url="https://ccvc.example.gov.vn",
        database_url=settings.database_url,
        allow_sqlite_in_production=True,
        keys_dir=tmp_path / "empty",
    )
    with pytest.raises(KeyConfigurationError, match="ccvc keys generate"):
        create_app(production)
