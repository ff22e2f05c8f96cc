"""Approving a month's batch in tests, as an approver does: a key of their own registered with
`ccvc keys register`, the batch's digest signed offline, sent in the window (tests/conftest.Writable's
clock)."""

from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from evidence.crypto import APPROVAL_TYP, sign_registered
from gateway.config import Settings
from resolvers.changes import approval_payload
from tests.cli.runner import ccvc
from tests.conftest import Writable

BATCH = """query($unit: ID!, $period: String!) {
  approvalBatch(unitId: $unit, period: $period) {
    id digest period document signingPayload window { firstDay lastDay open } changes { id officialId }
  }
}"""
APPROVE = """mutation($id: ID!, $sig: String!) {
  approveBatch(batchId: $id, signature: $sig) { id period digest kid approvedBy changeCount unit { code } }
}"""


def register_approver(settings: Settings, folder: Path, account: str = "approver.BNV") -> bytes:
    """A new private key for `account` (PEM), its public half registered with `ccvc keys register`."""
    private = ec.generate_private_key(ec.SECP256R1())
    public = folder / f"{account}.pub.pem"
    public.write_bytes(
        private.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    ran = ccvc(settings, "keys", "register", "--account", account, "--public-key", str(public))
    assert ran.returncode == 0, ran.stderr
    return private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def sign(key: bytes, digest: str) -> str:
    return sign_registered(key, approval_payload(digest), typ=APPROVAL_TYP)


def approve(
    writable: Writable, key: bytes, unit: str, period: str, at: datetime, approver: str = "approver.BNV"
) -> dict[str, Any]:
    """The unit's batch of `period`, signed and approved at `at` (in its window)."""
    api = writable.api
    batch = api.data(BATCH, as_user=approver, variables={"unit": unit, "period": period})["approvalBatch"]
    writable.clock.now = at
    signature = sign(key, batch["digest"])
    return dict(api.data(APPROVE, as_user=approver, variables={"id": batch["id"], "sig": signature})["approveBatch"])
