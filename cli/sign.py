"""`ccvc sign --key FILE --digest HEX`: an approver signs a batch's digest with their own private key.

It needs no database and no gateway: the approver runs it on their own machine, reads the digest from
`approvalBatch` (after checking the batch), and sends what it prints to `approveBatch`.
"""

import argparse
import re

from cli._common import CommandError, Commands, read_file
from evidence.crypto import APPROVAL_TYP, sign_registered
from gateway.config import Settings
from resolvers.changes import approval_payload

_DIGEST = re.compile(r"[0-9a-f]{64}")


def cmd_sign(_: Settings, args: argparse.Namespace) -> int:
    digest = args.digest.strip().lower()
    if not _DIGEST.fullmatch(digest):
        raise CommandError("--digest must be the batch's 64 hex digits (ApprovalBatch.digest)")
    print(sign_registered(read_file(args.key, "the private key"), approval_payload(digest), typ=APPROVAL_TYP))
    return 0


def register(commands: Commands) -> None:
    signing = commands.add_parser(
        "sign",
        help="sign a batch's digest with an approver's private key (for approveBatch)",
        description='Print the JWS (ES256, typ ccvc-approval+jws) over {"digest": DIGEST} that approveBatch '
        "takes, signed with the approver's EC P-256 private key, whose public half is registered with `ccvc "
        "keys register`. Runs offline.",
    )
    signing.add_argument("--key", required=True, metavar="FILE", help="the approver's EC P-256 private key (PEM)")
    signing.add_argument("--digest", required=True, help="ApprovalBatch.digest: 64 hex digits")
    signing.set_defaults(run=cmd_sign)
