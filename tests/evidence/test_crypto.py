"""The classic JWT attacks fail: alg=none, HS256 keyed with the public key, expiry, audience,
issuer, unknown kid, tampering, oversize, not-yet-valid, missing claims."""

import base64
import hashlib
import hmac
import json
import os
import stat
import time
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from evidence.crypto import KeyRing
from evidence.errors import InvalidToken
from evidence.keyfiles import KeyConfigurationError, generate_key

ISS, AUD = "ccvc-gateway", "ccvc-gateway"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}.{b64(signature)}"


@pytest.fixture
def keys(tmp_path: Path) -> KeyRing:
    ring = KeyRing.load(tmp_path / "keys", create=True)
    # The key's PEM, for _sign below: hung on the ring, which has no such attribute of its own.
    ring.test_pem = (tmp_path / "keys" / f"{ring.active.kid}.pem").read_bytes()  # type: ignore[attr-defined]
    return ring


def claims(**overrides: object) -> dict[str, Any]:
    now = int(time.time())
    base = {"iss": ISS, "aud": AUD, "sub": "admin", "iat": now, "nbf": now, "exp": now + 60, "jti": "x"}
    return {**base, **overrides}


def verify(keys: KeyRing, token: str) -> dict[str, Any]:
    return keys.verify_token(token, issuer=ISS, audience=AUD)


def test_a_token_the_gateway_issued_verifies(keys: KeyRing) -> None:
    token = keys.issue_token(subject="admin", issuer=ISS, audience=AUD, ttl_seconds=60)
    assert verify(keys, token)["sub"] == "admin"


def test_alg_none_is_rejected(keys: KeyRing) -> None:
    token = forge({"alg": "none", "kid": keys.active.kid}, claims())
    with pytest.raises(InvalidToken, match="ES256"):
        verify(keys, token)


def test_hs256_signed_with_the_public_key_is_rejected(keys: KeyRing) -> None:
    public_pem = keys.active._public.to_pem()
    header = {"alg": "HS256", "kid": keys.active.kid, "typ": "JWT"}
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims()).encode())}"
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    with pytest.raises(InvalidToken, match="ES256"):
        verify(keys, f"{signing_input}.{b64(signature)}")


def test_hs256_header_claiming_es256_still_fails_the_signature(keys: KeyRing) -> None:
    public_pem = keys.active._public.to_pem()
    header = {"alg": "ES256", "kid": keys.active.kid}
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims()).encode())}"
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    with pytest.raises(InvalidToken):
        verify(keys, f"{signing_input}.{b64(signature)}")


def test_expired_token_is_rejected(keys: KeyRing) -> None:
    with pytest.raises(InvalidToken, match="expired"):
        verify(keys, _sign(keys, claims(iat=1, nbf=1, exp=2)))


def test_wrong_audience_is_rejected(keys: KeyRing) -> None:
    with pytest.raises(InvalidToken, match="claims"):
        verify(keys, _sign(keys, claims(aud="another-service")))


def test_wrong_issuer_is_rejected(keys: KeyRing) -> None:
    with pytest.raises(InvalidToken, match="claims"):
        verify(keys, _sign(keys, claims(iss="someone-else")))


def test_not_yet_valid_token_is_rejected(keys: KeyRing) -> None:
    later = int(time.time()) + 3600
    with pytest.raises(InvalidToken):
        verify(keys, _sign(keys, claims(nbf=later, iat=later, exp=later + 60)))


@pytest.mark.parametrize("missing", ["iss", "aud", "sub", "exp", "nbf", "iat", "jti"])
def test_token_missing_a_required_claim_is_rejected(keys: KeyRing, missing: str) -> None:
    payload = claims()
    del payload[missing]
    with pytest.raises(InvalidToken):
        verify(keys, _sign(keys, payload))


def test_unknown_kid_is_rejected(keys: KeyRing, tmp_path: Path) -> None:
    other = KeyRing.load(tmp_path / "other", create=True)
    token = other.issue_token(subject="admin", issuer=ISS, audience=AUD, ttl_seconds=60)
    with pytest.raises(InvalidToken, match="unknown key"):
        verify(keys, token)


def test_a_token_signed_by_another_key_under_our_kid_is_rejected(keys: KeyRing, tmp_path: Path) -> None:
    other = KeyRing.load(tmp_path / "other", create=True)
    token = other.issue_token(subject="admin", issuer=ISS, audience=AUD, ttl_seconds=60)
    header, payload, signature = token.split(".")
    forged_header = b64(json.dumps({"alg": "ES256", "kid": keys.active.kid, "typ": "JWT"}).encode())
    with pytest.raises(InvalidToken, match="signature"):
        verify(keys, f"{forged_header}.{payload}.{signature}")


def test_tampered_payload_is_rejected(keys: KeyRing) -> None:
    token = keys.issue_token(subject="SH00000001", issuer=ISS, audience=AUD, ttl_seconds=60)
    header, payload, signature = token.split(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=="))
    body["sub"] = "admin"
    with pytest.raises(InvalidToken, match="signature"):
        verify(keys, f"{header}.{b64(json.dumps(body).encode())}.{signature}")


def test_oversized_token_is_rejected_before_parsing(keys: KeyRing) -> None:
    with pytest.raises(InvalidToken, match="larger"):
        verify(keys, "a" * 5000)


def test_garbage_is_rejected(keys: KeyRing) -> None:
    for token in ("", "abc", "a.b.c", "...."):
        with pytest.raises(InvalidToken):
            verify(keys, token)


def test_private_keys_are_written_owner_only(tmp_path: Path) -> None:
    kid = generate_key(tmp_path)
    mode = stat.S_IMODE(os.stat(tmp_path / f"{kid}.pem").st_mode)
    assert mode == 0o600


def test_a_key_file_readable_by_others_stops_the_gateway(tmp_path: Path) -> None:
    kid = generate_key(tmp_path)
    os.chmod(tmp_path / f"{kid}.pem", 0o644)
    with pytest.raises(KeyConfigurationError, match="chmod 600"):
        KeyRing.load(tmp_path, create=False)


def test_production_never_creates_a_key_silently(tmp_path: Path) -> None:
    with pytest.raises(KeyConfigurationError, match="keys generate"):
        KeyRing.load(tmp_path, create=False)


def test_jwks_publishes_public_keys_only(keys: KeyRing) -> None:
    (key,) = keys.jwks()["keys"]
    assert key["kid"] == keys.active.kid and key["alg"] == "ES256" and key["crv"] == "P-256"
    assert "d" not in key


def _sign(keys: KeyRing, payload: dict[str, Any]) -> str:
    """Signs arbitrary claims with the real private key (ES256 by hand, so that no module but
    evidence.crypto imports jose): what only a holder of the key could do."""
    private = serialization.load_pem_private_key(keys.test_pem, password=None)  # type: ignore[attr-defined]  # see keys
    assert isinstance(private, ec.EllipticCurvePrivateKey)
    header = {"alg": "ES256", "kid": keys.active.kid, "typ": "JWT"}
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    r, s = decode_dss_signature(private.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    return f"{signing_input}.{b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


# Our own key does not make any token acceptable: its times must be the ones we issue.


def test_a_token_issued_in_the_future_is_rejected(keys: KeyRing) -> None:
    now = int(time.time())
    with pytest.raises(InvalidToken, match="future"):
        verify(keys, _sign(keys, claims(iat=now + 86_400, nbf=now, exp=now + 86_460)))


@pytest.mark.parametrize("name", ["exp", "iat", "nbf"])
def test_a_time_claim_that_is_not_a_number_is_rejected(keys: KeyRing, name: str) -> None:
    payload = claims()
    payload[name] = str(payload[name])
    with pytest.raises(InvalidToken):
        verify(keys, _sign(keys, payload))


def test_a_token_living_longer_than_the_configured_lifetime_is_rejected(keys: KeyRing) -> None:
    now = int(time.time())
    with pytest.raises(InvalidToken, match="lives longer"):
        verify(keys, _sign(keys, claims(exp=now + 10 * 365 * 86_400)))
    with pytest.raises(InvalidToken, match="lives longer"):
        keys.verify_token(_sign(keys, claims(exp=now + 901)), issuer=ISS, audience=AUD, ttl_seconds=900)
    assert keys.verify_token(_sign(keys, claims(exp=now + 900)), issuer=ISS, audience=AUD, ttl_seconds=900)


def test_a_receipt_signed_by_our_key_never_passes_for_an_access_token(keys: KeyRing) -> None:
    receipt = keys.sign_compact(json.dumps(claims()).encode(), typ="ccvc-receipt+jws")
    with pytest.raises(InvalidToken, match="not a JWT"):
        verify(keys, receipt)
