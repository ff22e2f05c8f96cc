"""Domain errors. Each carries the stable `code` that the API puts in `extensions.code`.

They live in the lowest layer so that every layer can raise them without importing upward; the
GraphQL layer maps them to errors and masks anything that is not one of them.
"""


class DomainError(Exception):
    code = "INTERNAL"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadInput(DomainError):
    code = "BAD_USER_INPUT"


class NotFound(DomainError):
    code = "NOT_FOUND"


class Unauthenticated(DomainError):
    code = "UNAUTHENTICATED"


class Forbidden(DomainError):
    code = "FORBIDDEN"


class ForbiddenField(DomainError):
    """The caller may read the row but not this field of it (or may not filter or sort by it)."""

    code = "FORBIDDEN_FIELD"
