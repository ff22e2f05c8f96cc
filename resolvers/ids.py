from db.errors import BadInput


def parse_id(value: str | int, what: str) -> int:
    """IDs are opaque strings to callers; here they must be positive integers."""
    try:
        parsed = int(value)
    except (TypeError, ValueError):
        raise BadInput(f"'{value}' is not a valid {what} id") from None
    if parsed <= 0:
        raise BadInput(f"'{value}' is not a valid {what} id")
    return parsed
