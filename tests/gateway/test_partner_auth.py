"""Partner agencies authenticate as machine clients (RFC 7523 `private_key_jwt`) at /auth/token, and
every classic assertion attack is refused with 400 invalid_client.

Assertions are built by hand (base64url JSON, ES256 with `cryptography`, HMAC with hmac): test files
may not import jose. The database is shared by the whole session, so every test registers keys of its
own (a fresh key pair has a fresh kid) and never assumes a table is empty.
"""

import asyncio
import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from httpx2 import Response
from hypothesis import given
from hypothesis import settings as examples
from hypothesis import strategies as st
from sqlalchemy import insert

from db.engine import create_engine
from db.errors import BadInput
from db.models import Account, Agency, table_of
from db.queries import agencies
from evidence.crypto import UNKNOWN_CLIENT_KEY, assertion_replay_deadline, verify_client_assertion
from evidence.errors import InvalidToken
from evidence.keyfiles import public_jwk_from_pem, thumbprint
from gateway.config import Settings
from tests.cli.runner import ccvc
from tests.conftest import PASSWORD_HASH_OF, Api

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(part: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def encode(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"


def es256(private: ec.EllipticCurvePrivateKey, signing_input: str) -> str:
    """ES256 by hand: ECDSA P-256 over SHA-256, the DER signature turned into raw r || s (RFC 7518 §3.4)."""
    r, s = decode_dss_signature(private.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    return b64(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


def public_pem(private: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    return private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@dataclass
class Partner:
    """An agency's side: its client id, its key pair and the kid the gateway registered for it."""

    client_id: str
    private: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))

    @property
    def pem(self) -> bytes:
        return public_pem(self.private)

    @property
    def kid(self) -> str:
        return thumbprint(public_jwk_from_pem(self.pem))

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        base = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": "ccvc-gateway",
            "iat": now,
            "exp": now + 60,
            "jti": uuid.uuid4().hex,
        }
        return {k: v for k, v in {**base, **overrides}.items() if v is not None}

    def assertion(self, claims: dict[str, Any] | None = None, **header: Any) -> str:
        signing_input = encode({"alg": "ES256", "kid": self.kid, "typ": "JWT", **header}, claims or self.claims())
        return f"{signing_input}.{es256(self.private, signing_input)}"


async def _register(settings: Settings, code: str, partner: Partner) -> None:
    engine = create_engine(settings.database_url)
    try:
        async with engine.begin() as conn:
            agency = await agencies.get_by_code(conn, code)
            assert agency is not None
            await agencies.add_key(
                conn, agency_id=agency.id, kid=partner.kid, public_jwk=public_jwk_from_pem(partner.pem), now=_now()
            )
    finally:
        await engine.dispose()


async def _revoke(settings: Settings, kid: str) -> bool:
    engine = create_engine(settings.database_url)
    try:
        async with engine.begin() as conn:
            return await agencies.revoke_key(conn, kid=kid, now=_now())
    finally:
        await engine.dispose()


def _now() -> datetime:
    return datetime.now(UTC)


def registered(settings: Settings, code: str) -> Partner:
    partner = Partner(client_id=f"agency.{code}")
    asyncio.run(_register(settings, code, partner))
    return partner


@pytest.fixture
def bhxh(settings: Settings) -> Partner:
    return registered(settings, "bhxh")


def request_token(api: Api, assertion: str, *, client_id: str | None = None, **extra: str) -> Response:
    form = {"grant_type": "client_credentials", "client_assertion_type": JWT_BEARER, "client_assertion": assertion}
    if client_id is not None:
        form["client_id"] = client_id
    return api.client.post("/auth/token", data={**form, **extra})


def refused(response: Response, reason: str = "") -> str:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == "invalid_client", body
    assert reason in body["error_description"], body
    assert "Traceback" not in response.text
    return str(body["error_description"])


# The way in.


def test_a_registered_agency_gets_a_token_that_works_at_graphql(api: Api, settings: Settings, tmp_path: Path) -> None:
    partner = Partner(client_id="agency.bhxh")
    key_file = tmp_path / "bhxh.pub.pem"
    key_file.write_bytes(partner.pem)
    registration = ccvc(settings, "agencies", "register-key", "--agency", "bhxh", "--public-key", str(key_file))
    assert registration.returncode == 0, registration.stderr
    assert registration.stdout.strip().splitlines()[-1] == partner.kid

    response = request_token(api, partner.assertion(), client_id="agency.bhxh")
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == settings.token_ttl_seconds
    assert unb64(body["access_token"].split(".")[1])["sub"] == "agency.bhxh"

    me = api.client.post(
        "/graphql", json={"query": "{ me { id } }"}, headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert me.status_code == 200, me.text
    assert me.json()["data"] == {"me": None}
    assert me.json()["extensions"]["receipt"].count(".") == 2  # a partner's response always has a receipt


def test_without_client_id_the_assertions_sub_names_the_client(api: Api, bhxh: Partner) -> None:
    response = request_token(api, bhxh.assertion())
    assert response.status_code == 200, response.text
    assert unb64(response.json()["access_token"].split(".")[1])["sub"] == "agency.bhxh"


def test_two_assertions_with_different_jtis_both_succeed(api: Api, bhxh: Partner) -> None:
    for _ in range(2):
        assert request_token(api, bhxh.assertion(), client_id=bhxh.client_id).status_code == 200


def test_an_agency_may_hold_several_active_keys(api: Api, settings: Settings) -> None:
    first, second = registered(settings, "BYT"), registered(settings, "BYT")
    for partner in (first, second):
        assert request_token(api, partner.assertion()).status_code == 200


def test_the_password_grant_still_works_and_still_refuses_agency_accounts(api: Api) -> None:
    assert api.client.post("/auth/token", data={"username": "hr.BNV", "password": PASSWORD_HASH_OF}).status_code == 200
    for password in (PASSWORD_HASH_OF, "wrong"):
        response = api.client.post("/auth/token", data={"username": "agency.bhxh", "password": password})
        assert response.status_code == 400 and response.json()["error"] == "unauthorized_client"
        assert "client_credentials" in response.json()["error_description"]


# The request itself.


def test_a_wrong_or_missing_assertion_type_is_invalid_request(api: Api, bhxh: Partner) -> None:
    for assertion_type in ("urn:ietf:params:oauth:client-assertion-type:saml2-bearer", ""):
        response = request_token(api, bhxh.assertion(), client_assertion_type=assertion_type)
        assert response.status_code == 400 and response.json()["error"] == "invalid_request"
    response = api.client.post("/auth/token", data={"grant_type": "client_credentials", "client_assertion": "x"})
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_a_missing_assertion_is_invalid_request(api: Api) -> None:
    form = {"grant_type": "client_credentials", "client_assertion_type": JWT_BEARER}
    response = api.client.post("/auth/token", data=form)
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_an_oversized_or_garbled_assertion_is_invalid_client(api: Api) -> None:
    refused(request_token(api, "a" * 5000, client_id="agency.bhxh"), "larger")
    for garbage in ("abc", "a.b.c", "...."):
        refused(request_token(api, garbage, client_id="agency.bhxh"))
        refused(request_token(api, garbage))


# The attacks.


def test_alg_none_is_refused(api: Api, bhxh: Partner) -> None:
    token = encode({"alg": "none", "kid": bhxh.kid}, bhxh.claims()) + "."
    refused(request_token(api, token, client_id=bhxh.client_id), "ES256")


def test_hs256_keyed_with_the_registered_public_key_is_refused(api: Api, bhxh: Partner) -> None:
    for alg in ("HS256", "ES256"):  # an honest HS256 header, and one that lies about the algorithm
        signing_input = encode({"alg": alg, "kid": bhxh.kid, "typ": "JWT"}, bhxh.claims())
        signature = hmac.new(bhxh.pem, signing_input.encode(), hashlib.sha256).digest()
        refused(request_token(api, f"{signing_input}.{b64(signature)}", client_id=bhxh.client_id))


def test_an_expired_assertion_is_refused(api: Api, bhxh: Partner) -> None:
    now = int(time.time())
    refused(request_token(api, bhxh.assertion(bhxh.claims(iat=now - 200, exp=now - 100))), "expired")


def test_an_assertion_for_another_audience_is_refused(api: Api, bhxh: Partner) -> None:
    for audience in ("https://elsewhere.example", "ccvc-gateway/auth/token", ["someone-else"]):
        refused(request_token(api, bhxh.assertion(bhxh.claims(aud=audience))), "claims")


def test_an_unknown_kid_is_refused(api: Api, bhxh: Partner) -> None:
    refused(request_token(api, bhxh.assertion(kid="not-a-registered-kid")), UNKNOWN_CLIENT_KEY)
    refused(request_token(api, bhxh.assertion(kid=None)), "kid")


def test_a_tampered_payload_is_refused(api: Api, bhxh: Partner) -> None:
    header, payload, signature = bhxh.assertion().split(".")
    for change in ({"exp": int(time.time()) + 30}, {"jti": uuid.uuid4().hex}, {"iat": int(time.time()) - 1}):
        forged = b64(json.dumps({**unb64(payload), **change}).encode())
        refused(request_token(api, f"{header}.{forged}.{signature}"), "signature")


def test_a_replayed_assertion_is_refused(api: Api, bhxh: Partner) -> None:
    assertion = bhxh.assertion()
    assert request_token(api, assertion, client_id=bhxh.client_id).status_code == 200
    refused(request_token(api, assertion, client_id=bhxh.client_id), "already been used")
    refused(request_token(api, assertion), "already been used")


def test_a_reused_jti_in_a_new_assertion_is_refused(api: Api, bhxh: Partner) -> None:
    jti = uuid.uuid4().hex
    assert request_token(api, bhxh.assertion(bhxh.claims(jti=jti))).status_code == 200
    later = int(time.time()) + 1
    refused(request_token(api, bhxh.assertion(bhxh.claims(jti=jti, iat=later, exp=later + 30))), "already been used")


def test_an_assertion_that_lives_too_long_is_refused(api: Api, bhxh: Partner) -> None:
    now = int(time.time())
    refused(request_token(api, bhxh.assertion(bhxh.claims(iat=now, exp=now + 3600))), "longer than 300")


def test_an_assertion_issued_in_the_future_is_refused(api: Api, bhxh: Partner) -> None:
    later = int(time.time()) + 3600
    refused(request_token(api, bhxh.assertion(bhxh.claims(iat=later, exp=later + 60))), "future")


def test_sub_other_than_iss_is_refused(api: Api, bhxh: Partner) -> None:
    refused(request_token(api, bhxh.assertion(bhxh.claims(sub="agency.BTC")), client_id=bhxh.client_id), "sub")


def test_iss_other_than_the_client_id_is_refused(api: Api, bhxh: Partner) -> None:
    claims = bhxh.claims(iss="agency.BTC", sub="agency.BTC")
    refused(request_token(api, bhxh.assertion(claims), client_id=bhxh.client_id), "issuer")


@pytest.mark.parametrize("missing", ["iss", "sub", "aud", "exp", "iat", "jti"])
def test_an_assertion_missing_a_required_claim_is_refused(api: Api, bhxh: Partner, missing: str) -> None:
    refused(request_token(api, bhxh.assertion(bhxh.claims(**{missing: None})), client_id=bhxh.client_id))


@pytest.mark.parametrize(("jti", "reason"), [("", "jti"), ("x" * 129, "jti"), (12345, "JWT ID must be a string")])
def test_a_jti_that_cannot_be_remembered_is_refused(api: Api, bhxh: Partner, jti: object, reason: str) -> None:
    refused(request_token(api, bhxh.assertion(bhxh.claims(jti=jti))), reason)


def test_an_assertion_signed_by_another_agencys_key_is_refused(api: Api, settings: Settings, bhxh: Partner) -> None:
    btc = registered(settings, "BTC")
    # BTC's own kid: not one of bhxh's keys.
    refused(request_token(api, btc.assertion(bhxh.claims()), client_id="agency.bhxh"), UNKNOWN_CLIENT_KEY)
    refused(request_token(api, btc.assertion(bhxh.claims())), UNKNOWN_CLIENT_KEY)
    # bhxh's kid in the header, BTC's key behind the signature.
    signing_input = encode({"alg": "ES256", "kid": bhxh.kid}, bhxh.claims())
    refused(request_token(api, f"{signing_input}.{es256(btc.private, signing_input)}"), "signature")


def test_a_revoked_key_is_refused(api: Api, settings: Settings, bhxh: Partner) -> None:
    assert request_token(api, bhxh.assertion()).status_code == 200
    assert asyncio.run(_revoke(settings, bhxh.kid))
    refused(request_token(api, bhxh.assertion()), UNKNOWN_CLIENT_KEY)
    assert not asyncio.run(_revoke(settings, bhxh.kid)), "revoking twice is a no-op"


def test_unknown_disabled_and_non_agency_clients_all_get_the_same_answer(
    api: Api, settings: Settings, bhxh: Partner
) -> None:
    disabled = disabled_agency(settings)
    answers = {
        refused(request_token(api, bhxh.assertion(bhxh.claims(iss=client, sub=client)), client_id=client))
        for client in ("agency.nobody", "admin", "SH00000001")
    }
    answers.add(refused(request_token(api, disabled.assertion())))
    assert answers == {UNKNOWN_CLIENT_KEY}


def disabled_agency(settings: Settings) -> Partner:
    """A fresh agency of its own whose account is disabled (so no shared account is ever touched)."""
    code = f"t{uuid.uuid4().hex[:10]}"
    partner = Partner(client_id=f"agency.{code}")

    async def create() -> None:
        engine = create_engine(settings.database_url)
        try:
            async with engine.begin() as conn:
                agency_id = (
                    await conn.execute(
                        insert(table_of(Agency))
                        .values(code=code, name="Disabled test agency")
                        .returning(table_of(Agency).c.id)
                    )
                ).scalar_one()
                await conn.execute(
                    insert(table_of(Account)).values(
                        username=partner.client_id,
                        kind="agency",
                        roles="agency",
                        agency_id=agency_id,
                        disabled=True,
                        created_at=_now(),
                    )
                )
        finally:
            await engine.dispose()
        await _register(settings, code, partner)

    asyncio.run(create())
    return partner


# The replay table.


def test_record_assertion_refuses_a_second_use_and_forgets_expired_ones(settings: Settings) -> None:
    async def scenario() -> tuple[bool, ...]:
        engine = create_engine(settings.database_url)
        jti, now = uuid.uuid4().hex, _now()
        try:
            async with engine.begin() as conn:
                first = await agencies.record_assertion(
                    conn, agency_id=1, jti=jti, expires_at=now + timedelta(seconds=60), now=now
                )
                again = await agencies.record_assertion(
                    conn, agency_id=1, jti=jti, expires_at=now + timedelta(seconds=60), now=now
                )
                other_agency = await agencies.record_assertion(
                    conn, agency_id=2, jti=jti, expires_at=now + timedelta(seconds=60), now=now
                )
            # Two minutes later both rows have expired and are purged, so the jti is free again.
            later = now + timedelta(seconds=120)
            async with engine.begin() as conn:
                after_expiry = await agencies.record_assertion(
                    conn, agency_id=1, jti=jti, expires_at=later + timedelta(seconds=60), now=later
                )
        finally:
            await engine.dispose()
        return first, again, other_agency, after_expiry

    assert asyncio.run(scenario()) == (True, False, True, True)


# The crypto module on its own.


def test_non_numeric_iat_or_exp_is_refused(bhxh: Partner) -> None:
    now = int(time.time())
    keys = {bhxh.kid: public_jwk_from_pem(bhxh.pem)}
    for claims in (bhxh.claims(iat=str(now)), bhxh.claims(exp=str(now + 60)), bhxh.claims(iat=True)):
        with pytest.raises(InvalidToken):
            verify_client_assertion(
                bhxh.assertion(claims),
                keys=keys,
                audience="ccvc-gateway",
                client_id=bhxh.client_id,
                max_token_bytes=4096,
            )


def test_a_registered_key_that_is_not_p256_is_never_used_as_a_secret(bhxh: Partner) -> None:
    signing_input = encode({"alg": "ES256", "kid": "k"}, bhxh.claims())
    for stored in ({"kty": "oct", "k": b64(b"secret")}, {**public_jwk_from_pem(bhxh.pem), "crv": "P-384"}):
        with pytest.raises(InvalidToken, match="not registered"):
            verify_client_assertion(
                f"{signing_input}.{es256(bhxh.private, signing_input)}",
                keys={"k": stored},
                audience="ccvc-gateway",
                client_id=bhxh.client_id,
                max_token_bytes=4096,
            )


@pytest.mark.parametrize(
    ("pem", "reason"),
    [
        (public_pem(ec.generate_private_key(ec.SECP384R1())), "P-256"),
        (public_pem(rsa.generate_private_key(public_exponent=65537, key_size=2048)), "P-256"),
        (b"-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----\n", "Not a PEM public key"),
        (b"hello", "Not a PEM public key"),
        (
            ec.generate_private_key(ec.SECP256R1()).private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ),
            "private key",
        ),
    ],
    ids=["p384", "rsa", "bad-base64", "not-pem", "private-key"],
)
def test_only_p256_public_keys_can_be_registered(pem: bytes, reason: str) -> None:
    with pytest.raises(BadInput, match=reason):
        public_jwk_from_pem(pem)


def test_adding_the_same_key_twice_is_bad_input(settings: Settings, bhxh: Partner) -> None:
    with pytest.raises(BadInput, match="already registered"):
        asyncio.run(_register(settings, "BTC", bhxh))


# The operator's commands.


def test_cli_register_key_refuses_unknown_agencies_bad_keys_and_duplicates(settings: Settings, tmp_path: Path) -> None:
    partner = Partner(client_id="agency.BTC")
    good, rsa_key, private = tmp_path / "good.pem", tmp_path / "rsa.pem", tmp_path / "private.pem"
    good.write_bytes(partner.pem)
    rsa_key.write_bytes(public_pem(rsa.generate_private_key(public_exponent=65537, key_size=2048)))
    private.write_bytes(
        partner.private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    cases = [
        (("--agency", "nosuch", "--public-key", str(good)), "nosuch"),
        (("--agency", "BTC", "--public-key", str(rsa_key)), "P-256"),
        (("--agency", "BTC", "--public-key", str(private)), "private key"),
        (("--agency", "BTC", "--public-key", str(tmp_path / "missing.pem")), "cannot read"),
    ]
    for args, reason in cases:
        result = ccvc(settings, "agencies", "register-key", *args)
        assert result.returncode == 2, (args, result.stdout)
        assert reason in result.stderr and "Traceback" not in result.stderr, result.stderr

    assert ccvc(settings, "agencies", "register-key", "--agency", "BTC", "--public-key", str(good)).returncode == 0
    again = ccvc(settings, "agencies", "register-key", "--agency", "BYT", "--public-key", str(good))
    assert again.returncode == 2 and "already registered" in again.stderr, again.stderr


def test_cli_lists_agencies_with_their_active_kids_and_revokes(settings: Settings) -> None:
    partner = registered(settings, "BYT")

    def listed() -> dict[str, Any]:
        result = ccvc(settings, "agencies", "list", "--json")
        assert result.returncode == 0, result.stderr
        return {a["code"]: a for a in json.loads(result.stdout)}

    before = listed()
    assert {"bhxh", "BTC", "BYT"} <= before.keys()
    assert partner.kid in before["BYT"]["kids"] and before["BYT"]["name"]

    assert ccvc(settings, "agencies", "revoke-key", "--kid", partner.kid).returncode == 0
    assert partner.kid not in listed()["BYT"]["kids"]
    again = ccvc(settings, "agencies", "revoke-key", "--kid", partner.kid)
    assert again.returncode == 2 and partner.kid in again.stderr

    text = ccvc(settings, "agencies", "list")
    assert text.returncode == 0 and "bhxh" in text.stdout


_PARTNER = Partner(client_id="agency.bhxh")  # one key for every example: hypothesis draws many


@contextmanager
def clock_at(moment: float) -> Iterator[None]:
    """The JWT library's clock, stopped at `moment` (it reads `datetime.now` to check `exp`)."""

    class Frozen(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> "Frozen":
            return cls.fromtimestamp(moment, UTC)

    with patch("jose.jwt.datetime", Frozen):
        yield


@examples(max_examples=60, deadline=None)
@given(exp_offset=st.floats(min_value=0, max_value=1, exclude_max=True), after=st.floats(min_value=0, max_value=5))
def test_a_jti_is_forgotten_only_once_no_clock_accepts_its_assertion(exp_offset: float, after: float) -> None:
    """The jti of an accepted assertion is kept until `assertion_replay_deadline`; at any moment past
    it, verification itself refuses the assertion as expired, so forgetting the jti then lets no replay
    through (a fractional `exp` and a fractional clock once left a second open)."""
    now = time.time()
    claims = _PARTNER.claims(iat=int(now) - 30, exp=int(now) - 20 + exp_offset)
    moment = assertion_replay_deadline(claims) + after
    keys = {_PARTNER.kid: public_jwk_from_pem(_PARTNER.pem)}
    with clock_at(moment), pytest.raises(InvalidToken, match="expired"):
        verify_client_assertion(
            _PARTNER.assertion(claims),
            keys=keys,
            audience="ccvc-gateway",
            client_id=_PARTNER.client_id,
            max_token_bytes=4096,
        )


def test_an_assertion_nested_too_deep_to_parse_is_invalid_client_not_a_500(api: Api) -> None:
    """No client_id: the assertion's unverified `sub` names the client, read before any signature."""
    payload = b64(('{"sub": ' + "[" * 1500 + "]" * 1500 + "}").encode())
    header = b64(json.dumps({"alg": "ES256"}).encode())
    assertion = f"{header}.{payload}.{b64(b'x' * 64)}"
    response = api.client.post(
        "/auth/token",
        data={"grant_type": "client_credentials", "client_assertion_type": JWT_BEARER, "client_assertion": assertion},
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_client"
