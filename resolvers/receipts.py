"""The receipt service as the resolvers see it (the gateway plugs it into the request's context), and
`verifyReceipt`. What a receipt records is evidence/records.py."""

from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from db.errors import BadInput
from evidence.records import IssuedReceipt, ReceiptCheck, ReceiptDraft

if TYPE_CHECKING:
    from resolvers.context import RequestContext  # which imports this module


class ReceiptService(Protocol):
    async def issue(self, draft: ReceiptDraft, *, conn: AsyncConnection | None = None) -> IssuedReceipt:
        """Sign and log a receipt; with `conn`, inside that connection's transaction (it is logged
        exactly if that transaction commits), otherwise in a group-committed batch of its own."""
        ...

    async def verify(self, receipt: str, data: Any | None) -> ReceiptCheck: ...


MAX_RECEIPT_CHARS = 16_384


async def resolve_verify_receipt(ctx: "RequestContext", receipt: str, data: Any | None) -> ReceiptCheck:
    """Verify a receipt here: the signature against the gateway's keys (retired ones too), the data
    when given, and that the log holds this exact receipt."""
    if len(receipt) > MAX_RECEIPT_CHARS:
        raise BadInput(f"A receipt is at most {MAX_RECEIPT_CHARS} characters")
    if ctx.receipts is None:
        raise BadInput("Receipts are not available here")
    return await ctx.receipts.verify(receipt, data)
