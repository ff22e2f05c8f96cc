"""Evidence's own errors: a token or a receipt that does not verify, and a log that cannot record."""

from db.errors import DomainError


class InvalidToken(DomainError):
    code = "UNAUTHENTICATED"


class InvalidSignature(DomainError):
    code = "INVALID_RECEIPT"


class SignatureRefused(DomainError):
    """A signature made with a registered signer's own key (an approval) that does not verify."""

    code = "INVALID_SIGNATURE"


class ReceiptUnavailable(DomainError):
    """The log could not record a receipt: the response it belongs to must not leave."""

    code = "RECEIPT_UNAVAILABLE"
