"""The key ring's files: the P-256 keys (PEM, 0600) and the manifest that lists them (kid, status,
created, retired, origin), written by `ccvc keys generate | rotate` and read by every gateway process;
RFC 7638 thumbprints as key ids, and public JWKs. No JOSE here: evidence/crypto.py signs and verifies."""

import base64
import hashlib
import json
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from db.errors import BadInput

MANIFEST: Final = "keyring.json"
DEVELOPMENT: Final = "development"  # origin of a key the gateway made itself because none existed


class KeyConfigurationError(Exception):
    """The key directory is missing, unreadable or unsafe; the gateway must not start."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def public_jwk_of(public: ec.EllipticCurvePublicKey) -> dict[str, str]:
    numbers = public.public_numbers()
    return {
        "kty": "EC",
        "crv": "P-256",
        "x": b64url(numbers.x.to_bytes(32, "big")),
        "y": b64url(numbers.y.to_bytes(32, "big")),
    }


def thumbprint(public_jwk: Mapping[str, str]) -> str:
    """RFC 7638 JWK thumbprint: the key's id, derived from the key itself."""
    canonical = json.dumps({k: public_jwk[k] for k in ("crv", "kty", "x", "y")}, separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(canonical.encode()).digest())


def has_key_ring(keys_dir: Path) -> bool:
    return (keys_dir / MANIFEST).exists()


def manifest_mtime(keys_dir: Path | None) -> int | None:
    if keys_dir is None:
        return None
    try:
        return (keys_dir / MANIFEST).stat().st_mtime_ns
    except FileNotFoundError:
        return None


def read_manifest(keys_dir: Path) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = json.loads((keys_dir / MANIFEST).read_text())["keys"]
    return entries


def _write_manifest(keys_dir: Path, entries: list[dict[str, Any]]) -> None:
    # Written beside and renamed over: a gateway reading the manifest sees the old one or the new one.
    temporary = keys_dir / f".{MANIFEST}.{os.getpid()}"
    temporary.write_text(json.dumps({"keys": entries}, indent=2) + "\n")
    os.replace(temporary, keys_dir / MANIFEST)


def _new_key_file(keys_dir: Path) -> str:
    keys_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    private = ec.generate_private_key(ec.SECP256R1())
    kid = thumbprint(public_jwk_of(private.public_key()))
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(keys_dir / f"{kid}.pem", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    return kid


def generate_key(keys_dir: Path, *, origin: str = "operator") -> str:
    """Create the first P-256 key, stored 0600 beside the manifest, and return its kid."""
    if has_key_ring(keys_dir):
        raise KeyConfigurationError(f"'{keys_dir}' already holds a key ring: rotate it with `ccvc keys rotate`")
    kid = _new_key_file(keys_dir)
    created = datetime.now(UTC).isoformat()
    _write_manifest(keys_dir, [{"kid": kid, "status": "active", "created": created, "origin": origin}])
    return kid


def rotate_key(keys_dir: Path) -> tuple[str, str]:
    """Make a new active key and retire the current one, which stays listed (and published) so that
    everything it signed keeps verifying. Returns (new kid, retired kid)."""
    entries = read_manifest(keys_dir)
    current = [e for e in entries if e["status"] == "active"]
    if len(current) != 1:
        raise KeyConfigurationError(f"Expected exactly one active key in '{keys_dir}', found {len(current)}")
    kid = _new_key_file(keys_dir)
    now = datetime.now(UTC).isoformat()
    current[0].update(status="retired", retired=now)
    entries.append({"kid": kid, "status": "active", "created": now, "origin": "operator"})
    _write_manifest(keys_dir, entries)
    return kid, str(current[0]["kid"])


def public_jwk_from_pem(pem: bytes) -> dict[str, str]:
    """The public JWK (kty, crv, x, y) of a PEM SubjectPublicKeyInfo; only P-256, the ES256 curve."""
    if b"PRIVATE KEY" in pem:
        raise BadInput("This is a private key: it stays with the agency; register its public key (BEGIN PUBLIC KEY)")
    try:
        public = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise BadInput("Not a PEM public key (expected -----BEGIN PUBLIC KEY-----)") from None
    if not isinstance(public, ec.EllipticCurvePublicKey) or public.curve.name != "secp256r1":
        raise BadInput("The public key must be an EC key on P-256 (secp256r1), the curve of ES256")
    return public_jwk_of(public)
