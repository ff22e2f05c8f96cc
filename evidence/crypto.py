"""Every JOSE operation, on the keys of the ring (its files: evidence/keyfiles.py): access tokens, partners'
client assertions (RFC 7523), and the compact JWS of receipts and log checkpoints. The ONLY module that
imports `jose`, so that the rules below hold in one place.

Rules (python-jose has known weak spots around HMAC keys): ES256 only. Keys are constructed once and
bound to ES256; every decode names `algorithms=["ES256"]`; the header's `alg` must be ES256 and its
`kid` a key we hold before any verification is attempted; `none` and HMAC can therefore never be
selected by a token. Tokens are size-capped, and `iss`, `aud`, `exp`, `nbf`, `iat`, `sub`, `jti` are
all required and checked.

The same key ring signs receipts and log checkpoints (`sign_compact`); `PublicKeys` verifies them from
a published JWKS alone, so a receipt can be checked on a machine that has never seen the gateway.
"""

import base64
import logging
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jose import jwk, jws, jwt
from jose.backends.base import Key
from jose.exceptions import ExpiredSignatureError, JOSEError, JWKError, JWTClaimsError, JWTError

from db.errors import BadInput
from evidence.errors import InvalidSignature, InvalidToken, SignatureRefused
from evidence.keyfiles import (
    DEVELOPMENT,
    KeyConfigurationError,
    b64url,
    generate_key,
    has_key_ring,
    manifest_mtime,
    public_jwk_of,
    read_manifest,
    thumbprint,
)

log = logging.getLogger("ccvc.keys")

ALGORITHM: Final = "ES256"
_REQUIRED_CLAIMS: Final = ("iss", "aud", "sub", "exp", "nbf", "iat", "jti")
_CLOCK_SKEW_SECONDS: Final = 10
# How often a running gateway looks at the manifest for a rotation made by `ccvc keys rotate`.
_REFRESH_SECONDS: Final = 1.0


def _canonical_b64url(part: str) -> bool:
    try:
        return b64url(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))) == part
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    status: str  # active | retired
    created: str
    public_jwk: dict[str, str]
    _private: Key
    _public: Key
    retired: str | None = None  # ISO time the key stopped signing
    origin: str = "operator"  # operator | development

    def jwk(self) -> dict[str, str]:
        published = {**self.public_jwk, "kid": self.kid, "alg": ALGORITHM, "use": "sig", "status": self.status}
        return published | ({"retired": self.retired} if self.retired else {})

    def retired_before(self, moment: float) -> bool:
        return self.retired is not None and datetime.fromisoformat(self.retired).timestamp() < moment


def _load_key(pem: bytes, entry: Mapping[str, Any]) -> SigningKey:
    kid_expected = entry["kid"]
    private = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(private, ec.EllipticCurvePrivateKey) or private.curve.name != "secp256r1":
        raise KeyConfigurationError(f"Key '{kid_expected}' is not a P-256 EC key")
    public_jwk = public_jwk_of(private.public_key())
    kid = thumbprint(public_jwk)
    if kid != kid_expected:
        raise KeyConfigurationError(f"Key file '{kid_expected}.pem' holds key '{kid}'")
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return SigningKey(
        kid=kid,
        status=entry["status"],
        created=entry["created"],
        retired=entry.get("retired"),
        origin=entry.get("origin", "operator"),
        public_jwk=public_jwk,
        _private=jwk.construct(pem.decode(), algorithm=ALGORITHM),
        _public=jwk.construct(public_pem.decode(), algorithm=ALGORITHM),
    )


class KeyRing:
    """Every key the gateway holds: one active key signs, every key still listed verifies receipts.
    Access tokens verify under the active key, or a retired one for one token lifetime after its
    rotation (tokens it signed just before are still in flight)."""

    def __init__(self, keys: list[SigningKey], *, max_token_bytes: int = 4096, keys_dir: Path | None = None) -> None:
        self.max_token_bytes = max_token_bytes
        self.keys_dir = keys_dir
        self._install(keys)
        self._checked = time.monotonic()
        self._mtime = manifest_mtime(keys_dir)
        self._production = False

    def _install(self, keys: list[SigningKey]) -> None:
        active = [k for k in keys if k.status == "active"]
        if len(active) != 1:
            raise KeyConfigurationError(f"Expected exactly one active key, found {len(active)}")
        # Replaced together, never mutated: a request reading them mid-refresh sees one ring or the other.
        self.active, self.by_kid = active[0], {k.kid: k for k in keys}

    @classmethod
    def load(cls, keys_dir: Path, *, create: bool, max_token_bytes: int = 4096) -> "KeyRing":
        if keys_dir.exists() and not keys_dir.is_dir():
            raise KeyConfigurationError(f"CCVC_KEYS_DIR '{keys_dir}' is a file, not a directory of keys")
        if not has_key_ring(keys_dir):
            if not create:
                raise KeyConfigurationError(f"No signing keys in '{keys_dir}': run `ccvc keys generate` first")
            generate_key(keys_dir, origin=DEVELOPMENT)
        return cls(_read_keys(keys_dir), max_token_bytes=max_token_bytes, keys_dir=keys_dir)

    def refresh(self) -> None:
        """Pick up a rotation made by `ccvc keys rotate` (another process): at most one stat a second."""
        now = time.monotonic()
        if self.keys_dir is None or now - self._checked < _REFRESH_SECONDS:
            return
        self._checked = now
        mtime = manifest_mtime(self.keys_dir)
        if mtime != self._mtime:
            self._mtime = mtime
            try:
                keys = _read_keys(self.keys_dir)
                if self._production:
                    _refuse_development(keys)
                self._install(keys)
            except (KeyConfigurationError, OSError, ValueError, KeyError) as error:
                # A broken rotation must not take a running gateway down: keep the ring it has.
                log.error("Keeping the current signing keys; the key ring on disk is unusable: %s", error)

    def refuse_development_keys(self) -> None:
        """Production trusts no key the gateway generated for itself, active or retired: such a key sat
        unprotected on a development machine, and a retired key still verifies receipts."""
        self._production = True
        _refuse_development(list(self.by_kid.values()))

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        return {"keys": [k.jwk() for k in self.by_kid.values()]}

    def issue_token(
        self, *, subject: str, issuer: str, audience: str, ttl_seconds: int, extra: Mapping[str, Any] | None = None
    ) -> str:
        now = int(time.time())
        claims = {
            **(extra or {}),
            "iss": issuer,
            "aud": audience,
            "sub": subject,
            "iat": now,
            "nbf": now,
            "exp": now + ttl_seconds,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self.active._private, algorithm=ALGORITHM, headers={"kid": self.active.kid})

    def verify_token(self, token: str, *, issuer: str, audience: str, ttl_seconds: int = 900) -> dict[str, Any]:
        kid = _header_kid(token, "Token", self.max_token_bytes, typ="JWT")
        key = self.by_kid.get(kid) if kid is not None else None
        if key is None:
            raise InvalidToken("Token is signed by an unknown key")
        if key.retired_before(time.time() - ttl_seconds - _CLOCK_SKEW_SECONDS):
            raise InvalidToken("Token is signed by a retired key")
        claims = _decode(token, key._public, "Token", audience=audience, issuer=issuer, required=_REQUIRED_CLAIMS)
        # Our own key signed it, but a token minted with a future `iat` or a lifetime past the one we
        # issue (a key that leaked, a tool misused) must not outlive what the settings allow.
        _check_times(claims, "Token", max_lifetime_seconds=ttl_seconds)
        return claims

    def sign_compact(self, payload: bytes, *, typ: str) -> str:
        """A JWS (compact, ES256, header `kid` and `typ`) over exactly these payload bytes."""
        headers = {"kid": self.active.kid, "typ": typ}
        return str(jws.sign(payload, self.active._private, headers=headers, algorithm=ALGORITHM))

    def public_keys(self) -> "PublicKeys":
        return PublicKeys.from_jwks(self.jwks())


def _refuse_development(keys: list[SigningKey]) -> None:
    development = [k.kid for k in keys if k.origin == DEVELOPMENT]
    if development:
        raise KeyConfigurationError(
            f"Signing keys {development} were generated automatically for development; production trusts "
            "none of them. Make an operator's key ring: `ccvc keys generate` in an empty CCVC_KEYS_DIR"
        )


def _read_keys(keys_dir: Path) -> list[SigningKey]:
    keys = []
    for entry in read_manifest(keys_dir):
        path = keys_dir / f"{entry['kid']}.pem"
        if path.stat().st_mode & 0o077:
            raise KeyConfigurationError(f"'{path}' is readable by others: chmod 600 it")
        keys.append(_load_key(path.read_bytes(), entry))
    return keys


def _header_kid(token: str, what: str, max_token_bytes: int, *, typ: str | None = None) -> str | None:
    """The `kid` a JWS names, after the checks that come before any key is chosen: size, shape, an `alg`
    of ES256 (the header never picks the algorithm), and the `typ` expected, when one is."""
    if len(token) > max_token_bytes:
        raise InvalidToken(f"{what} is larger than the gateway accepts")
    try:
        header = jwt.get_unverified_header(token)
        if not isinstance(header, dict):
            raise JWTError("header is not an object")
    except (JWTError, ValueError, TypeError, RecursionError):
        raise InvalidToken(f"{what} is not a well-formed JWS") from None
    if header.get("alg") != ALGORITHM:
        raise InvalidToken(f"{what} algorithm must be {ALGORITHM}")
    if typ is not None and header.get("typ") != typ:
        # A receipt or a checkpoint is signed by the same key: it must never pass for an access token.
        raise InvalidToken(f"{what} is not a {typ}")
    kid = header.get("kid")
    return kid if isinstance(kid, str) else None


def _decode(
    token: str, key: Key, what: str, *, audience: str, issuer: str, required: tuple[str, ...]
) -> dict[str, Any]:
    """Signature and claims, ES256 only, with every claim in `required` present; errors named."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=audience,
            issuer=issuer,
            options={f"require_{c}": True for c in required} | {"leeway": _CLOCK_SKEW_SECONDS},
        )
    except ExpiredSignatureError:
        raise InvalidToken(f"{what} has expired") from None
    except JWTClaimsError as error:
        raise InvalidToken(f"{what} claims are invalid: {error}") from None
    except JWTError as error:
        # jose reports a missing required claim as a plain JWTError; say which, not "signature".
        reason = str(error) if "claim" in str(error).lower() else "signature is invalid"
        raise InvalidToken(f"{what} {reason}") from None
    except (TypeError, ValueError, OverflowError, RecursionError):
        raise InvalidToken(f"{what} claims are malformed") from None
    return claims


def _check_times(claims: Mapping[str, Any], what: str, *, max_lifetime_seconds: int) -> None:
    """`exp`, `iat` (and `nbf` when present) are numbers, `iat` is not in the future, and the token
    lives at most `max_lifetime_seconds`. jose accepts numeric strings and booleans for these claims,
    and checks none of the other two rules."""
    times = [claims[name] for name in ("exp", "iat", "nbf") if name in claims]
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in times):
        raise InvalidToken(f"{what} `exp`, `iat` and `nbf` must be numbers")
    if claims["iat"] > time.time() + _CLOCK_SKEW_SECONDS:
        raise InvalidToken(f"{what} is issued in the future (`iat`)")
    if claims["exp"] - claims["iat"] > max_lifetime_seconds:
        raise InvalidToken(f"{what} lives longer than {max_lifetime_seconds} s (`exp` - `iat`)")


@dataclass(frozen=True, slots=True)
class PublicKeys:
    """Verification keys from a JWKS (the gateway's `/.well-known/jwks.json`): EC P-256 only, each bound
    to ES256 when constructed, so nothing in a JWS header can choose another algorithm."""

    by_kid: dict[str, tuple[Key, str]]  # kid -> (key, status)

    @classmethod
    def from_jwks(cls, document: Mapping[str, Any]) -> "PublicKeys":
        keys: dict[str, tuple[Key, str]] = {}
        entries = document.get("keys") if isinstance(document, Mapping) else None
        for entry in entries if isinstance(entries, list) else ():
            if not isinstance(entry, Mapping) or entry.get("kty") != "EC" or entry.get("crv") != "P-256":
                continue  # never an HMAC secret, never another curve
            public = {k: entry[k] for k in ("kty", "crv", "x", "y") if isinstance(entry.get(k), str)}
            try:
                key = jwk.construct(public, algorithm=ALGORITHM)
                kid = thumbprint(public)
            except (JWKError, KeyError, ValueError, TypeError):
                continue
            if entry.get("kid", kid) != kid:
                continue  # our kids are RFC 7638 thumbprints: a kid naming another key is not ours
            keys[kid] = (key, str(entry.get("status", "active")))
        return cls(by_kid=keys)

    def verify_compact(self, token: str, *, typ: str, max_bytes: int = 65_536) -> tuple[str, bytes]:
        """(kid, payload bytes) of a JWS whose header is ES256 with a known `kid` and this `typ`."""
        try:
            kid = _header_kid(token, "Signature", max_bytes)
        except InvalidToken as error:
            raise InvalidSignature(error.message) from None
        if not all(_canonical_b64url(part) for part in token.split(".")):
            # base64 ignores a final character's spare bits: without this, several spellings of one
            # JWS would all verify, and "flip any character and it fails" would not hold.
            raise InvalidSignature("The JWS is not in canonical base64url")
        if kid is None or kid not in self.by_kid:
            raise InvalidSignature("The signature names a key that is not in the key set (`kid`)")
        if jwt.get_unverified_header(token).get("typ") != typ:
            raise InvalidSignature(f"The signed object is not a {typ}")
        try:
            payload = jws.verify(token, self.by_kid[kid][0], algorithms=[ALGORITHM])
        except JOSEError:
            raise InvalidSignature("The signature does not verify") from None
        return kid, bytes(payload)

    def status(self, kid: str) -> str:
        return self.by_kid[kid][1]


# Partner agencies authenticate with client assertions (RFC 7523 `private_key_jwt`): a JWT the agency
# signs with its own P-256 key, whose public half an operator registered (`ccvc agencies register-key`).
# Same discipline as `KeyRing.verify_token`: the header picks a registered key, never the algorithm.

_ASSERTION_REQUIRED_CLAIMS: Final = ("iss", "sub", "aud", "exp", "iat", "jti")
_MAX_JTI_LENGTH: Final = 128  # the width of used_assertion.jti
# One message for "no such client", "client disabled", "no key" and "not this client's key": a caller
# probing client ids learns nothing about which agencies exist.
UNKNOWN_CLIENT_KEY: Final = "Unknown client, or the assertion's key is not registered to it"


def sign_client_assertion(private_pem: bytes, *, client_id: str, audience: str, lifetime_seconds: int = 60) -> str:
    """What a partner agency sends to the token endpoint (RFC 7523): a fresh, single-use ES256 JWT
    signed with its private key, its header naming the key's RFC 7638 thumbprint (the registered kid)."""
    key, kid = _private_key(private_pem)
    now = int(time.time())
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "iat": now,
        "exp": now + lifetime_seconds,
        "jti": uuid.uuid4().hex,
    }
    return str(jwt.encode(claims, key, algorithm=ALGORITHM, headers={"kid": kid, "typ": "JWT"}))


def _private_key(private_pem: bytes) -> tuple[Key, str]:
    """A signer's private key, bound to ES256, and its kid (the RFC 7638 thumbprint of its public half)."""
    try:
        private = serialization.load_pem_private_key(private_pem, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise BadInput("Not an unencrypted PEM private key (openssl genpkey -algorithm EC ... makes one)") from None
    if not isinstance(private, ec.EllipticCurvePrivateKey) or private.curve.name != "secp256r1":
        raise BadInput("The private key must be an EC key on P-256 (secp256r1), the curve of ES256")
    return jwk.construct(private_pem.decode(), algorithm=ALGORITHM), thumbprint(public_jwk_of(private.public_key()))


# What people and systems sign with their own registered keys (an approver's approval of a month's
# batch): a compact JWS whose `typ` says what it signs, so that one kind can never pass for another,
# and whose `kid` names a key registered to the signer. The gateway holds only the public halves.
APPROVAL_TYP: Final = "ccvc-approval+jws"
# A ministry's bundle of approved records for the national gateway, signed with the key MOHA issued it.
SYNC_TYP: Final = "ccvc-sync+jws"


def sign_registered(private_pem: bytes, payload: bytes, *, typ: str) -> str:
    key, kid = _private_key(private_pem)
    return str(jws.sign(payload, key, headers={"kid": kid, "typ": typ}, algorithm=ALGORITHM))


def signer_kid(token: str, *, typ: str, what: str, max_bytes: int) -> str:
    """The `kid` a registered signer's JWS names, before any verification: how to find whose key must
    verify it, without reading its payload (which may be large, and is believed only once verified)."""
    try:
        kid = _header_kid(token, what, max_bytes, typ=typ)
    except InvalidToken as error:
        raise SignatureRefused(error.message) from None
    if kid is None:
        raise SignatureRefused(f"{what} header must name its key (`kid`)")
    return kid


def verify_registered(
    token: str, *, keys: Mapping[str, Mapping[str, str]], typ: str, what: str, max_bytes: int = 8192
) -> tuple[str, bytes]:
    """(kid, payload) of a JWS signed by one of `keys` (kid -> registered public JWK), ES256 only,
    with this `typ`. Refused (SignatureRefused) otherwise, with what was wrong."""
    try:
        key = _registered_key(token, keys, max_bytes, what, typ=typ)
    except InvalidToken as error:
        raise SignatureRefused(error.message) from None
    if not all(_canonical_b64url(part) for part in token.split(".")):
        raise SignatureRefused(f"{what} is not in canonical base64url")
    try:
        payload = jws.verify(token, key, algorithms=[ALGORITHM])
    except JOSEError:
        raise SignatureRefused(f"{what} does not verify against the signer's registered key") from None
    return str(jwt.get_unverified_header(token)["kid"]), bytes(payload)


def unverified_subject(token: str, *, max_token_bytes: int) -> str:
    """The `sub` an assertion claims, unverified: only used to choose whose keys will verify it."""
    if len(token) > max_token_bytes:
        raise InvalidToken("Client assertion is larger than the gateway accepts")
    try:
        claims = jwt.get_unverified_claims(token)
    except (JWTError, ValueError, TypeError, RecursionError):  # RecursionError: JSON nested too deep to parse
        raise InvalidToken("Client assertion is not a well-formed JWS") from None
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise InvalidToken("Client assertion has no `sub`, and no client_id was given")
    return subject


# How far apart the clocks of two gateway replicas may be: one that runs behind accepts an assertion
# for that much longer than the replica that recorded its jti.
_REPLICA_CLOCK_MARGIN_SECONDS: Final = 60


def assertion_replay_deadline(claims: Mapping[str, Any]) -> int:
    """Until when (epoch seconds) a verified assertion's jti must be remembered: past the last moment
    any replica's clock could still accept it. jose accepts while int(exp) >= floor(now) - leeway, that
    is until int(exp) + leeway + 1 on the recording replica's own clock (a fractional `exp` and a
    fractional clock once left a second in which a forgotten jti could be replayed)."""
    return int(claims["exp"]) + _CLOCK_SKEW_SECONDS + 1 + _REPLICA_CLOCK_MARGIN_SECONDS


def verify_client_assertion(
    token: str,
    *,
    keys: Mapping[str, Mapping[str, str]],
    audience: str,
    client_id: str,
    max_token_bytes: int,
    max_lifetime_seconds: int = 300,
) -> dict[str, Any]:
    """Verify an agency's client assertion against `keys` (kid -> registered public JWK) and return
    its claims. `iss` and `sub` must both be `client_id`, `aud` must be `audience`, and the assertion
    may live at most `max_lifetime_seconds`, so its jti only needs remembering that long.
    Replay (a jti seen before) is the caller's check: it needs the database."""
    key = _assertion_key(token, keys, max_token_bytes)
    claims = _decode(
        token, key, "Client assertion", audience=audience, issuer=client_id, required=_ASSERTION_REQUIRED_CLAIMS
    )
    _check_assertion_claims(claims, client_id=client_id, max_lifetime_seconds=max_lifetime_seconds)
    return claims


def _assertion_key(token: str, keys: Mapping[str, Mapping[str, str]], max_token_bytes: int) -> Key:
    return _registered_key(token, keys, max_token_bytes, "Client assertion", unknown=UNKNOWN_CLIENT_KEY)


def _registered_key(
    token: str,
    keys: Mapping[str, Mapping[str, str]],
    max_bytes: int,
    what: str,
    *,
    typ: str | None = None,
    unknown: str | None = None,
) -> Key:
    """The registered key a JWS names (`kid`), bound to ES256, after the header's checks."""
    kid = _header_kid(token, what, max_bytes, typ=typ)
    if kid is None:
        raise InvalidToken(f"{what} header must name its key (`kid`)")
    refused = unknown or f"{what} names a key that is not registered to its signer (`kid`)"
    public_jwk = keys.get(kid)
    if public_jwk is None:
        raise InvalidToken(refused)
    if public_jwk.get("kty") != "EC" or public_jwk.get("crv") != "P-256":
        # Registration only stores P-256 keys; anything else in the table must never become an HMAC secret.
        raise InvalidToken(refused)
    try:
        return jwk.construct(dict(public_jwk), algorithm=ALGORITHM)
    except JWKError:
        raise InvalidToken(refused) from None


def _check_assertion_claims(claims: Mapping[str, Any], *, client_id: str, max_lifetime_seconds: int) -> None:
    # RFC 7523 §3: a client authenticating itself is both the issuer and the subject.
    if claims["sub"] != client_id:
        raise InvalidToken("Client assertion `sub` must equal its `iss` (the client_id)")
    jti = claims["jti"]
    if not isinstance(jti, str) or not jti or len(jti) > _MAX_JTI_LENGTH or "\x00" in jti:
        raise InvalidToken(f"Client assertion `jti` must be a non-empty string of at most {_MAX_JTI_LENGTH} characters")
    # An assertion minted for the future could be replayed long after its jti was forgotten.
    _check_times(claims, "Client assertion", max_lifetime_seconds=max_lifetime_seconds)
