"""Receipts in the API: recording the operation a receipt will describe, and `verifyReceipt`."""

from collections.abc import Iterator

import strawberry
from strawberry.extensions import SchemaExtension
from strawberry.scalars import JSON

from evidence.records import Operation, ReceiptCheck
from resolvers.context import RequestContext
from resolvers.receipts import resolve_verify_receipt
from schema.audit import redact
from schema.common import Ctx, core, field


class RecordOperation(SchemaExtension):
    """Keeps the operation as received (query text, variables, name, type) on the request's context,
    where the gateway reads it to write the response's receipt."""

    def on_execute(self) -> Iterator[None]:
        execution = self.execution_context
        if isinstance(execution.context, RequestContext):
            execution.context.operation = Operation(
                query=execution.query or "",
                variables=execution.variables,
                name=execution.operation_name,
                type=execution.operation_type.value,
            )
            execution.context.audit_variables = redact(
                core(execution.schema), execution.graphql_document, execution.operation_name, execution.variables
            )
        yield


@strawberry.type(description="What checking a receipt found. `valid` only when every check that ran passed.")
class ReceiptVerification:
    valid: bool
    problems: list[str] = strawberry.field(description="Why it is not valid; empty when it is")
    signature_valid: bool = strawberry.field(description="Signed by a key of this gateway (active or retired)")
    kid: str | None
    key_status: str | None = strawberry.field(description="active, or retired (rotated; still verifies)")
    data_matches: bool | None = strawberry.field(description="The data given hashes to `data_sha256`; null: none given")
    logged: bool | None = strawberry.field(description="This exact receipt is in the gateway's receipt log")
    payload: JSON | None = strawberry.field(description="The signed payload (docs/receipts.md)")


def _verification(check: ReceiptCheck) -> ReceiptVerification:
    return ReceiptVerification(
        valid=check.valid,
        problems=list(check.problems),
        signature_valid=check.signature_valid,
        kid=check.kid,
        key_status=check.key_status,
        data_matches=check.data_matches,
        logged=check.logged,
        payload=None if check.payload is None else JSON(check.payload),
    )


@strawberry.type
class ReceiptQueries:
    @field(
        description="Check a receipt (JWS) and, when given, the data it covers: the response's `data` member "
        "for a response receipt, or the file's text for an export receipt. Works offline too: "
        "`ccvc receipts verify`."
    )
    async def verify_receipt(self, info: Ctx, receipt: str, data: JSON | None = None) -> ReceiptVerification:
        return _verification(await resolve_verify_receipt(info.context, receipt, data))
