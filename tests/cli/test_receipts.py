"""`ccvc receipts verify`: a partner takes a response, its receipt, the JWKS and a proof to another machine
and checks all of it with the CLI alone (no network, no database)."""

from pathlib import Path
from typing import Any

import orjson

from cli import main
from gateway.config import Settings
from tests.cli.runner import Ran, ccvc, ccvc_process, environment
from tests.conftest import Api

QUERY = "{ officials(first: 5) { nodes { id code fullName salaryCoefficient } } }"


def save(path: Path, value: Any) -> str:
    path.write_bytes(value if isinstance(value, bytes) else orjson.dumps(value))
    return str(path)


def evidence(api: Api, tmp_path: Path) -> dict[str, str]:
    """What a partner keeps: the response as received, the JWKS, the proof and a checkpoint."""
    response = api.client.post(
        "/graphql", json={"query": QUERY}, headers={"Authorization": f"Bearer {api.token('agency.bhxh')}"}
    )
    rid = response.json()["extensions"]["receiptId"]
    checkpoint = api.client.get("/log/checkpoint").json()
    return {
        "response": save(tmp_path / "response.json", response.content),
        "jwks": save(tmp_path / "jwks.json", api.client.get("/.well-known/jwks.json").json()),
        "proof": save(
            tmp_path / "proof.json", api.client.get(f"/receipts/{rid}/proof?tree_size={checkpoint['tree_size']}").json()
        ),
        "checkpoint": save(tmp_path / "checkpoint.json", checkpoint),
    }


def offline_verify(files: dict[str, str], tmp_path: Path, *extra: str, process: bool = False) -> Ran:
    # No database and no keys on this "other machine": anything the command needed from them would fail.
    elsewhere = Settings(
        env="test",
        database_url="postgresql+asyncpg://nobody@127.0.0.1:1/nothing",
        keys_dir=tmp_path / "no-keys-here",
    )
    command = ["receipts", "verify", "--receipt", files["response"], "--data", files["response"]]
    command += ["--jwks", files["jwks"], "--proof", files["proof"], "--checkpoint", files["checkpoint"], *extra]
    return ccvc_process(*command, env=environment(elsewhere)) if process else ccvc(elsewhere, *command)


def test_a_response_its_receipt_the_jwks_and_a_proof_verify_offline(api: Api, tmp_path: Path) -> None:
    files = evidence(api, tmp_path)
    result = offline_verify(files, tmp_path, process=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith("VALID") and "signature  ok" in result.stdout


def test_offline_verification_fails_when_the_data_was_changed(api: Api, tmp_path: Path) -> None:
    files = evidence(api, tmp_path)
    changed = Path(files["response"]).read_bytes().replace(b'"code":"', b'"code":"X', 1)
    save(Path(files["response"]), changed)
    result = offline_verify(files, tmp_path, "--json")
    report = orjson.loads(result.stdout)
    assert result.returncode == 1 and report["checked"]["data"] is False
    assert "does not match" in report["problems"][0]


def test_offline_verification_fails_when_the_proof_was_changed(api: Api, tmp_path: Path) -> None:
    files = evidence(api, tmp_path)
    proof = orjson.loads(Path(files["proof"]).read_bytes())
    proof["leaf_index"] += 1
    save(Path(files["proof"]), proof)
    assert offline_verify(files, tmp_path).returncode == 1


def test_an_export_file_verifies_against_its_receipt(api: Api, tmp_path: Path, capsys: Any) -> None:
    made = api.data("mutation { exportOfficials(limit: 3, format: JSONL) { url receipt } }", as_user="agency.bhxh")[
        "exportOfficials"
    ]
    content = api.client.get(made["url"], headers={"Authorization": f"Bearer {api.token('agency.bhxh')}"}).content
    jwks = save(tmp_path / "jwks.json", api.client.get("/.well-known/jwks.json").json())
    receipt = save(tmp_path / "receipt.jws", made["receipt"].encode())
    data = save(tmp_path / "officials.jsonl", content)
    assert main(["receipts", "verify", "--receipt", receipt, "--data", data, "--jwks", jwks]) == 0
    save(tmp_path / "officials.jsonl", content + b"\n")
    assert main(["receipts", "verify", "--receipt", receipt, "--data", data, "--jwks", jwks]) == 1
    assert "NOT VALID" in capsys.readouterr().out


def test_verify_consistency_between_two_saved_checkpoints(api: Api, tmp_path: Path) -> None:
    api.post(QUERY, as_user="agency.bhxh")
    old = api.client.get("/log/checkpoint").json()
    api.post(QUERY, as_user="agency.bhxh")
    new = api.client.get("/log/checkpoint").json()
    proof = api.client.get(f"/log/consistency?from={old['tree_size']}&to={new['tree_size']}").json()
    files = [save(tmp_path / f"{n}.json", v) for n, v in (("old", old), ("new", new), ("proof", proof))]
    jwks = save(tmp_path / "jwks.json", api.client.get("/.well-known/jwks.json").json())
    argv = ["receipts", "verify-consistency", "--old", files[0], "--new", files[1], "--proof", files[2]]
    assert main([*argv, "--jwks", jwks]) == 0
    assert proof["proof"], "a log that grew has something to prove"
    first = proof["proof"][0]
    proof["proof"][0] = ("0" if first[0] != "0" else "1") + first[1:]
    save(tmp_path / "proof.json", proof)
    assert main([*argv, "--jwks", jwks]) == 1


def test_a_missing_file_is_named(tmp_path: Path, capsys: Any) -> None:
    jwks = save(tmp_path / "jwks.json", {"keys": []})
    assert main(["receipts", "verify", "--receipt", str(tmp_path / "nope.jws"), "--jwks", jwks]) == 2
    assert "no file" in capsys.readouterr().err


def test_a_receipt_file_that_is_not_utf8_or_not_json_is_named_not_a_traceback(tmp_path: Path, capsys: Any) -> None:
    jwks = save(tmp_path / "jwks.json", {"keys": []})
    save(tmp_path / "bad.jws", b"\xff\xfe")
    assert main(["receipts", "verify", "--receipt", str(tmp_path / "bad.jws"), "--jwks", jwks]) == 2
    save(tmp_path / "bad.json", b"{not json")
    assert main(["receipts", "verify", "--receipt", str(tmp_path / "bad.json"), "--jwks", jwks]) == 2
    err = capsys.readouterr().err
    assert "not UTF-8" in err and "not JSON" in err
