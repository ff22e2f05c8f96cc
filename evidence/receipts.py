"""Receipts: the signed statement of who received exactly what, when, and under which rule; and every
check a verifier makes, using nothing but the receipt, the data, the JWKS and (optionally) a proof and a
checkpoint. docs/receipts.md specifies the format for independent verifiers; this module is the
reference implementation, used by the gateway (`verifyReceipt`) and by `ccvc receipts verify` offline.
"""

import base64
import hashlib
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, Final

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db.queries import receipts as receipt_rows
from evidence import merkle
from evidence.canonical import canonical_json, canonical_sha256, sha256_hex
from evidence.crypto import KeyRing, PublicKeys
from evidence.errors import InvalidSignature
from evidence.log import CHECKPOINT_TYP, RECEIPT_TYP, ReceiptLog, checkpoint_body
from evidence.records import IssuedReceipt, ReceiptCheck, ReceiptDraft

FORMAT_VERSION: Final = 1


def ids_sha256(official_ids: Sequence[int]) -> str:
    """SHA-256 hex of the canonical JSON array of the ids, ascending: `[3,17,42]`."""
    return sha256_hex(canonical_json(sorted(official_ids)))


def new_rid() -> str:
    """A receipt's id: 128 random bits in hex, which nobody can guess from another."""
    return uuid.uuid4().hex


class Receipts:
    """The gateway's receipt service (resolvers.receipts.ReceiptService)."""

    def __init__(
        self, log: ReceiptLog, keys: KeyRing, engine: AsyncEngine, *, issuer: str, policy_version: str
    ) -> None:
        self.log = log
        self.keys = keys
        self.engine = engine
        self.issuer = issuer
        self.policy_version = policy_version

    def payload(self, draft: ReceiptDraft) -> dict[str, Any]:
        """Everything but `log_index` and `data_version`, which the log adds as it numbers the receipt."""
        principal, operation = draft.principal, draft.operation
        payload: dict[str, Any] = {
            "v": FORMAT_VERSION,
            "rid": draft.rid or new_rid(),
            "iat": int(time.time()),
            "iss": self.issuer,
            "kind": draft.kind,
            "sub": principal.username,
            "agency": principal.agency_code,
            "roles": sorted(principal.roles),
            "basis": list(draft.basis),
            "operation": {"type": operation.type, "name": operation.name},
            "query_sha256": sha256_hex(operation.query.encode()),
            "variables_sha256": canonical_sha256(operation.variables or {}),
            "data_sha256": draft.data_sha256,
            "officials": {"count": len(draft.official_ids), "ids_sha256": ids_sha256(draft.official_ids)},
            "policy_version": self.policy_version,
        }
        if draft.export is not None:
            payload["export"] = draft.export
        return payload

    async def issue(self, draft: ReceiptDraft, *, conn: AsyncConnection | None = None) -> IssuedReceipt:
        return await self.append(self.payload(draft), draft, conn=conn)

    async def append(
        self, payload: dict[str, Any], draft: ReceiptDraft, *, conn: AsyncConnection | None = None
    ) -> IssuedReceipt:
        if conn is not None:
            return await self.log.append_in(conn, payload, account_id=draft.principal.account_id)
        return await self.log.append(payload, account_id=draft.principal.account_id)

    async def verify(self, receipt: str, data: Any | None) -> ReceiptCheck:
        check = verify_receipt(receipt, self.keys.public_keys(), data=data)
        if check.payload is None:
            return check
        async with self.engine.connect() as conn:
            entry = await receipt_rows.get_by_rid(conn, str(check.payload.get("rid")))
        logged = entry is not None and entry.receipt == receipt.strip()
        problems = check.problems + (() if logged else ("The receipt is not in this gateway's log",))
        return replace(check, valid=check.valid and logged, problems=problems, logged=logged)

    async def public_view(self, rid: str) -> dict[str, Any] | None:
        """What anyone holding a receipt's id (printed on a CV, say) may learn of it: that this gateway
        logged and signed it, when, of what kind, and the SHA-256 of the data it covers, to compare with
        the copy in hand. Not who asked, on what basis, nor whom it is about: that is the receipt's
        holder's to show (the receipt itself, `ccvc receipts verify`)."""
        async with self.engine.connect() as conn:
            entry = await receipt_rows.get_by_rid(conn, rid)
        if entry is None:
            return None
        check = verify_receipt(entry.receipt, self.keys.public_keys())
        payload = check.payload or {}
        export = payload.get("export") if isinstance(payload.get("export"), dict) else None
        return {
            "rid": rid,
            "valid": check.valid,
            "problems": list(check.problems),
            "issuer": payload.get("iss"),
            "issuedAt": payload.get("iat"),
            "kind": payload.get("kind"),
            "dataSha256": payload.get("data_sha256"),
            "export": None if export is None else {"format": export.get("format"), "bytes": export.get("bytes")},
            "logIndex": entry.leaf_index,
            "dataVersion": payload.get("data_version"),
            "kid": check.kid,
            "keyStatus": check.key_status,
        }


def verify_receipt(receipt: str, keys: PublicKeys, *, data: Any | None = None) -> ReceiptCheck:
    """Signature, payload form, and (when given) the data: for a response receipt the `data` member of
    the response as a JSON value; for an export receipt the file, as bytes or as its text."""
    try:
        kid, raw = keys.verify_compact(receipt.strip(), typ=RECEIPT_TYP)
    except InvalidSignature as error:
        return ReceiptCheck(valid=False, problems=(error.message,), signature_valid=False)
    payload = _json_object(raw)
    if payload is None:
        return ReceiptCheck(valid=False, problems=("The signed payload is not a JSON object",), signature_valid=True)
    problems: list[str] = []
    if canonical_json(payload) != raw:
        problems.append("The signed payload is not in RFC 8785 canonical form")
    if payload.get("v") != FORMAT_VERSION:
        problems.append(f"Unknown receipt format version {payload.get('v')!r}")
    matches = None if data is None else _data_sha256(payload, data) == payload.get("data_sha256")
    if matches is False:
        problems.append("The data does not match the receipt's `data_sha256`")
    return ReceiptCheck(
        valid=not problems,
        problems=tuple(problems),
        signature_valid=True,
        kid=kid,
        key_status=keys.status(kid),
        payload=payload,
        data_matches=matches,
    )


def _json_object(raw: bytes) -> dict[str, Any] | None:
    value = _json_value(raw)
    return value if isinstance(value, dict) else None


def _data_sha256(payload: Mapping[str, Any], data: Any) -> str | None:
    if payload.get("kind") == "export":
        if isinstance(data, str):
            try:
                data = data.encode()
            except UnicodeEncodeError:  # a lone surrogate: no file's text
                return None
        return hashlib.sha256(data).hexdigest() if isinstance(data, bytes) else None
    if isinstance(data, bytes):
        data = _json_value(data)
    try:
        return canonical_sha256(data)
    except Exception:  # not JSON (rfc8785 raises its own errors for NaN, huge ints, odd types)
        return None


def _json_value(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None


def verify_checkpoint(checkpoint: Any, keys: PublicKeys, *, name: str = "checkpoint") -> list[str]:
    """A signed tree head is valid when its signature verifies and signs exactly its other members."""
    if not isinstance(checkpoint, Mapping) or not isinstance(checkpoint.get("signature"), str):
        return [f"The {name} is not an object with a `signature`"]
    try:
        _, raw = keys.verify_compact(checkpoint["signature"], typ=CHECKPOINT_TYP)
    except InvalidSignature as error:
        return [f"The {name}'s signature: {error.message}"]
    if _json_object(raw) != checkpoint_body(dict(checkpoint)):
        return [f"The {name}'s members differ from what its signature covers"]
    return []


def _hashes(values: Any) -> list[bytes] | None:
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        return None
    try:
        hashes = [bytes.fromhex(v) for v in values]
    except ValueError:
        return None
    return hashes if all(len(h) == merkle.HASH_SIZE for h in hashes) else None


def verify_inclusion_proof(
    receipt: str, proof: Any, keys: PublicKeys, *, trusted: Mapping[str, Any] | None = None
) -> list[str]:
    """The receipt is leaf `log_index` of the tree whose signed head the proof carries; with `trusted`
    (a checkpoint the verifier already holds), that head must be the trusted one."""
    if not isinstance(proof, Mapping):
        return ["The proof is not a JSON object"]
    checkpoint = proof.get("checkpoint")
    problems = verify_checkpoint(checkpoint, keys)
    path, index, size = _hashes(proof.get("audit_path")), proof.get("leaf_index"), proof.get("tree_size")
    root = _hashes([proof.get("root_hash")])
    if path is None or root is None or not isinstance(index, int) or not isinstance(size, int):
        return [*problems, "The proof is malformed (leaf_index, tree_size, audit_path, root_hash)"]
    if isinstance(checkpoint, Mapping) and (checkpoint.get("tree_size"), checkpoint.get("root_hash")) != (
        size,
        proof.get("root_hash"),
    ):
        problems.append("The proof's tree size or root differs from its checkpoint's")
    payload = _unverified_payload(receipt)
    if payload is None or payload.get("log_index") != index:
        problems.append("The proof is for another leaf than the receipt's `log_index`")
    if payload is not None and isinstance(checkpoint, Mapping) and checkpoint.get("log_id") != payload.get("iss"):
        problems.append("The checkpoint is of another log than the receipt's issuer (`log_id` is not `iss`)")
    if not merkle.verify_inclusion(merkle.leaf_hash(receipt.strip().encode()), index, size, path, root[0]):
        problems.append("The inclusion proof does not lead from the receipt to the root")
    if trusted is not None:
        problems += verify_checkpoint(trusted, keys, name="trusted checkpoint")
        if not isinstance(trusted, Mapping):
            return problems
        if (trusted.get("tree_size"), trusted.get("root_hash")) != (size, proof.get("root_hash")):
            problems.append(
                f"The proof is for tree size {size}, the trusted checkpoint for {trusted.get('tree_size')}: "
                f"fetch the proof with ?tree_size={trusted.get('tree_size')}"
            )
    return problems


def verify_consistency_proof(old: Any, new: Any, proof: Any, keys: PublicKeys) -> list[str]:
    """The log at checkpoint `new` extends the log at checkpoint `old` (RFC 9162 §2.1.4): nothing in
    the first `old.tree_size` receipts was changed, removed or reordered."""
    problems = verify_checkpoint(old, keys, name="old checkpoint") + verify_checkpoint(new, keys, name="new checkpoint")
    if problems:
        return problems
    hashes = _hashes(proof.get("proof") if isinstance(proof, Mapping) else proof)
    old_root, new_root = _hashes([old.get("root_hash")]), _hashes([new.get("root_hash")])
    old_size, new_size = old.get("tree_size"), new.get("tree_size")
    if hashes is None or old_root is None or new_root is None:
        return ["The consistency proof or a checkpoint's root is malformed"]
    if not isinstance(old_size, int) or not isinstance(new_size, int):
        return ["A checkpoint's tree size is not an integer"]
    if not merkle.verify_consistency(old_size, new_size, old_root[0], new_root[0], hashes):
        return [f"The log at size {new_size} does not extend the log at size {old_size}: it was rewritten"]
    return []


def _unverified_payload(receipt: str) -> dict[str, Any] | None:
    """The payload of a receipt without checking it (the caller checks the signature separately)."""
    parts = receipt.strip().split(".")
    if len(parts) != 3:
        return None
    try:
        raw = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
    except ValueError:
        return None
    return _json_object(raw)
