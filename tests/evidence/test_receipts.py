"""Receipts on responses: what they say, that they verify, and that any change to the data, the receipt
or the proof makes verification fail."""

import base64
import hashlib
from typing import Any

import orjson
import pytest
import rfc8785

from evidence.crypto import PublicKeys
from evidence.receipts import ids_sha256, verify_checkpoint, verify_inclusion_proof, verify_receipt
from tests.conftest import Api

PARTNER_QUERY = """query PartnerList($unit: ID!) {
  officials(first: 20, filter: {unit: $unit}) {
    nodes { id code fullName birthDate gender { code label } salaryCoefficient unit { code } }
  }
}"""


def payload_of(receipt: str) -> dict[str, Any]:
    part = receipt.split(".")[1]
    payload: dict[str, Any] = orjson.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return payload


def keys(api: Api) -> PublicKeys:
    return PublicKeys.from_jwks(api.client.get("/.well-known/jwks.json").json())


def unit_id(api: Api, code: str) -> str:
    return str(api.data("query($c: String!) { unit(code: $c) { id } }", variables={"c": code})["unit"]["id"])


def partner_response(api: Api) -> dict[str, Any]:
    body: dict[str, Any] = api.post(PARTNER_QUERY, as_user="agency.bhxh", variables={"unit": unit_id(api, "BNV.VP")})
    assert "errors" not in body and body["data"]["officials"]["nodes"]
    return body


def other_b64_char(c: str) -> str:
    return "B" if c == "A" else "A"


def test_a_partner_response_carries_a_signed_receipt_saying_who_got_what_under_which_rule(api: Api) -> None:
    body = partner_response(api)
    receipt, rid = body["extensions"]["receipt"], body["extensions"]["receiptId"]
    payload = payload_of(receipt)
    ids = [int(node["id"]) for node in body["data"]["officials"]["nodes"]]
    assert payload["rid"] == rid and payload["kind"] == "response" and payload["v"] == 1
    assert payload["sub"] == "agency.bhxh" and payload["agency"] == "bhxh"
    assert payload["basis"] == ["agreement:1:01/2026/TTLT-BNV-BHXH"]
    assert payload["query_sha256"] == hashlib.sha256(PARTNER_QUERY.encode()).hexdigest()
    assert payload["operation"] == {"type": "query", "name": "PartnerList"}
    variables = {"unit": unit_id(api, "BNV.VP")}
    assert payload["variables_sha256"] == hashlib.sha256(rfc8785.dumps(variables)).hexdigest()
    assert payload["data_sha256"] == hashlib.sha256(rfc8785.dumps(body["data"])).hexdigest()
    assert payload["officials"] == {"count": len(ids), "ids_sha256": ids_sha256(ids)}
    assert payload["policy_version"] == api.state.receipts.policy_version
    assert payload["data_version"] == {"period": "2026-10", "version": 1}  # the seed's approved month
    assert isinstance(payload["log_index"], int) and payload["iss"] == api.settings.issuer
    assert verify_receipt(receipt, keys(api), data=body["data"]).valid


def test_receipt_payload_is_rfc8785_canonical_json(api: Api) -> None:
    receipt = partner_response(api)["extensions"]["receipt"]
    part = receipt.split(".")[1]
    raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    assert rfc8785.dumps(orjson.loads(raw)) == raw


def test_staff_get_a_receipt_only_when_they_ask_for_one(api: Api) -> None:
    assert "receipt" not in api.post("{ officials(first: 1) { nodes { id } } }")["extensions"]  # its cost only
    response = api.client.post(
        "/graphql",
        json={"query": "{ officials(first: 1) { nodes { id } } }"},
        headers={"Authorization": f"Bearer {api.token('admin')}", "X-CCVC-Receipt": "1"},
    )
    payload = payload_of(response.json()["extensions"]["receipt"])
    assert payload["sub"] == "admin" and payload["basis"] == ["policy:role:admin"]
    assert payload["officials"]["count"] == 1


def test_a_response_without_data_gets_no_receipt(api: Api) -> None:
    body = api.post("{ officials { nodes { nope } } }", as_user="agency.bhxh")
    assert body.get("data") is None and body["errors"]
    assert "receipt" not in body["extensions"]  # its cost only


def test_receipt_cites_only_the_grants_that_let_the_returned_officials_out(api: Api) -> None:
    body = api.post('{ official(id: "999999") { id } }', as_user="agency.bhxh")
    payload = payload_of(body["extensions"]["receipt"])
    assert payload["basis"] == [] and payload["officials"]["count"] == 0


def test_flipping_any_byte_of_the_data_fails_verification(api: Api) -> None:
    body = partner_response(api)
    receipt, raw = body["extensions"]["receipt"], orjson.dumps(body["data"])
    public = keys(api)
    assert verify_receipt(receipt, public, data=raw).valid
    for position in range(len(raw)):
        flipped = raw[:position] + bytes([raw[position] ^ 0x01]) + raw[position + 1 :]
        check = verify_receipt(receipt, public, data=flipped)
        assert not check.valid and check.data_matches is False, position


def test_flipping_any_character_of_the_receipt_fails_verification(api: Api) -> None:
    body = partner_response(api)
    receipt, public = body["extensions"]["receipt"], keys(api)
    for position, char in enumerate(receipt):
        replacement = "/" if char == "." else other_b64_char(char)
        forged = receipt[:position] + replacement + receipt[position + 1 :]
        assert not verify_receipt(forged, public, data=body["data"]).valid, position


def test_inclusion_proof_verifies_offline_and_fails_on_any_flipped_byte(api: Api) -> None:
    body = partner_response(api)
    receipt, rid = body["extensions"]["receipt"], body["extensions"]["receiptId"]
    proof = api.client.get(f"/receipts/{rid}/proof").json()
    public = keys(api)
    assert proof["leaf_index"] == payload_of(receipt)["log_index"]
    assert verify_inclusion_proof(receipt, proof, public) == []
    raw = orjson.dumps(proof)
    for position in range(len(raw)):
        flipped = raw[:position] + bytes([raw[position] ^ 0x01]) + raw[position + 1 :]
        try:
            tampered = orjson.loads(flipped)
        except orjson.JSONDecodeError:
            continue  # not even JSON: nothing to verify
        if tampered == proof:
            continue  # the flip changed nothing a verifier reads (e.g. "a" -> "A" in a hex digit)
        assert verify_inclusion_proof(receipt, tampered, public), position


def test_a_proof_at_an_older_tree_size_matches_a_checkpoint_taken_then(api: Api) -> None:
    body = partner_response(api)
    checkpoint = api.client.get("/log/checkpoint").json()
    partner_response(api)  # the log grows past the checkpoint
    rid = body["extensions"]["receiptId"]
    public = keys(api)
    assert verify_checkpoint(checkpoint, public) == []
    stale = api.client.get(f"/receipts/{rid}/proof").json()
    assert verify_inclusion_proof(body["extensions"]["receipt"], stale, public, trusted=checkpoint)
    proof = api.client.get(f"/receipts/{rid}/proof?tree_size={checkpoint['tree_size']}").json()
    assert verify_inclusion_proof(body["extensions"]["receipt"], proof, public, trusted=checkpoint) == []


def test_a_consistency_proof_between_two_checkpoints_verifies(api: Api) -> None:
    from evidence.receipts import verify_consistency_proof

    partner_response(api)
    old = api.client.get("/log/checkpoint").json()
    for _ in range(3):
        partner_response(api)
    new = api.client.get("/log/checkpoint").json()
    proof = api.client.get(f"/log/consistency?from={old['tree_size']}&to={new['tree_size']}").json()
    assert verify_consistency_proof(old, new, proof, keys(api)) == []
    swapped = dict(new, root_hash=old["root_hash"])
    assert verify_consistency_proof(old, swapped, proof, keys(api))  # a head the gateway never signed


def test_log_endpoints_refuse_bad_sizes_and_unknown_receipts(api: Api) -> None:
    size = api.client.get("/log/checkpoint").json()["tree_size"]
    assert api.client.get(f"/log/checkpoint?tree_size={size + 1}").status_code == 400
    assert api.client.get("/log/checkpoint?tree_size=-1").json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert api.client.get("/log/consistency?from=2").status_code == 400
    assert api.client.get(f"/log/consistency?from=3&to={size + 5}").status_code == 400
    assert api.client.get("/receipts/0123456789abcdef0123456789abcdef/proof").status_code == 404
    assert api.client.get("/receipts/..%2F..%2Fetc/proof").status_code == 404


def test_verify_receipt_query_checks_signature_data_and_the_log(api: Api) -> None:
    body = partner_response(api)
    query = "query($r: String!, $d: JSON) { verifyReceipt(receipt: $r, data: $d) { valid problems kid keyStatus dataMatches logged payload } }"
    good = api.data(query, variables={"r": body["extensions"]["receipt"], "d": body["data"]})["verifyReceipt"]
    assert good["valid"] and good["logged"] and good["dataMatches"] and good["keyStatus"] == "active"
    assert good["payload"]["rid"] == body["extensions"]["receiptId"]
    changed = orjson.loads(orjson.dumps(body["data"]).replace(b"BNV.VP", b"BNV.VQ"))
    assert changed != body["data"]
    bad = api.data(query, variables={"r": body["extensions"]["receipt"], "d": changed})["verifyReceipt"]
    assert not bad["valid"] and bad["dataMatches"] is False and bad["logged"]


def test_a_correctly_signed_receipt_that_is_not_in_the_log_is_not_valid(api: Api) -> None:
    from evidence.canonical import canonical_json
    from evidence.log import RECEIPT_TYP

    app: Any = api.client.app
    forged_payload = payload_of(partner_response(api)["extensions"]["receipt"]) | {"rid": "f" * 32}
    unlogged = app.state.keys.sign_compact(canonical_json(forged_payload), typ=RECEIPT_TYP)
    query = "query($r: String!) { verifyReceipt(receipt: $r) { valid logged problems } }"
    result = api.data(query, variables={"r": unlogged})["verifyReceipt"]
    assert result == {"valid": False, "logged": False, "problems": ["The receipt is not in this gateway's log"]}


@pytest.mark.parametrize("token", ["", "not.a.jws", "e30.e30.e30", "x" * 20_000])
def test_verify_receipt_query_answers_garbage_with_problems_not_errors(api: Api, token: str) -> None:
    query = "query($r: String!) { verifyReceipt(receipt: $r) { valid signatureValid problems } }"
    body = api.post(query, variables={"r": token})
    if len(token) > 16_384:
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        return
    result = body["data"]["verifyReceipt"]
    assert result["valid"] is False and result["signatureValid"] is False and result["problems"]


def test_a_count_alone_exposes_no_official(api: Api) -> None:
    body = api.post("{ officials(first: 3) { totalCount pageInfo { hasNextPage } } }", as_user="agency.bhxh")
    assert payload_of(body["extensions"]["receipt"])["officials"]["count"] == 0
    body = api.post("{ officials(first: 3) { edges { cursor } nodes { id } } }", as_user="agency.bhxh")
    assert payload_of(body["extensions"]["receipt"])["officials"]["count"] == 3


def test_a_body_that_is_not_strict_json_is_refused_with_400_and_no_data(api: Api) -> None:
    headers = {"Authorization": f"Bearer {api.token('agency.bhxh')}", "Content-Type": "application/json"}
    for variables in (b'{"x": NaN}', b'{"x": Infinity}', b'{"x": "\\ud800"}'):
        raw = b'{"query": "{ codeList(name: \\"gender\\") { code } }", "variables": ' + variables + b"}"
        response = api.client.post("/graphql", content=raw, headers=headers)
        assert response.status_code == 400 and "data" not in response.text, variables


def test_variables_a_receipt_cannot_hash_are_refused_with_400_and_no_data(api: Api) -> None:
    headers = {"Authorization": f"Bearer {api.token('agency.bhxh')}"}
    query = '{ codeList(name: "gender") { code } }'
    response = api.client.post("/graphql", json={"query": query, "variables": {"x": 2**60}}, headers=headers)
    assert response.status_code == 400 and "data" not in response.json()
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_log_endpoints_refuse_non_ascii_digits(api: Api) -> None:
    response = api.client.get("/log/checkpoint?tree_size=%C2%B2")
    assert response.status_code == 400 and response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_the_offline_verifier_reports_odd_inputs_as_problems(api: Api) -> None:
    body = partner_response(api)
    receipt, rid = body["extensions"]["receipt"], body["extensions"]["receiptId"]
    proof = api.client.get(f"/receipts/{rid}/proof").json()
    # Wrong shapes on purpose, as a verifier gets them from outside: what the types say it must not be given.
    assert verify_inclusion_proof(receipt, proof, keys(api), trusted=[]) == [  # type: ignore[arg-type]
        "The trusted checkpoint is not an object with a `signature`"
    ]
    assert verify_inclusion_proof(receipt, [], keys(api)) == ["The proof is not a JSON object"]
    assert PublicKeys.from_jwks({"keys": 5}).by_kid == {} == PublicKeys.from_jwks({"keys": None}).by_kid
    assert not verify_receipt(receipt, PublicKeys.from_jwks([]), data=body["data"]).valid  # type: ignore[arg-type]  # as above


def test_verify_receipt_query_accepts_a_trailing_newline_and_odd_export_text(api: Api) -> None:
    body = partner_response(api)
    query = "query($r: String!, $d: JSON) { verifyReceipt(receipt: $r, data: $d) { valid logged } }"
    answer = api.data(query, variables={"r": body["extensions"]["receipt"] + "\n", "d": body["data"]})
    assert answer["verifyReceipt"] == {"valid": True, "logged": True}
    made = api.data("mutation { exportOfficials(limit: 1) { receipt } }", as_user="agency.bhxh")["exportOfficials"]
    answer = api.data(query, variables={"r": made["receipt"], "d": "not the file"})
    assert answer["verifyReceipt"] == {"valid": False, "logged": True}
