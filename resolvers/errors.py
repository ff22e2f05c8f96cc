"""The resolvers' own errors: what a caller may not do or read, and a request over its cost."""

from db.errors import DomainError


class Unauthenticated(DomainError):
    """No valid token: none, a bad one, or one expired (a WebSocket's subscriptions end with it)."""

    code = "UNAUTHENTICATED"


class Forbidden(DomainError):
    code = "FORBIDDEN"


class ForbiddenField(DomainError):
    """The caller may read the row but not this field of it (or may not filter or sort by it)."""

    code = "FORBIDDEN_FIELD"


class CostExceeded(DomainError):
    """The request's static cost (schema/cost.py) is over a maximum: refused before any statement runs."""

    code = "MAX_COST_EXCEEDED"


class IntrospectionDisabled(DomainError):
    """A partner asked for `__schema` or `__type` where introspection is off for it (production, unless
    its agreement allows it): refused while the document is validated, before anything runs."""

    code = "INTROSPECTION_DISABLED"
