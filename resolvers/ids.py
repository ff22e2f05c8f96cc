import re

from db.errors import BadInput

# Ids are INTEGER columns on both back ends: anything past 2^31-1 would overflow in the driver.
_ID = re.compile(r"[1-9][0-9]{0,9}")
MAX_ID = 2**31 - 1


def parse_id(value: str | int, what: str) -> int:
    """IDs are opaque strings to callers; here they must be positive 32-bit integers, written plainly."""
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(text, str) or not _ID.fullmatch(text) or int(text) > MAX_ID:
        raise BadInput(f"'{value}' is not a valid {what} id")
    return int(text)


def is_id(value: str | int) -> bool:
    """Where an argument takes an id or a code, digits alone are an id and anything else is a code."""
    return isinstance(value, int) or (isinstance(value, str) and value.isascii() and value.isdigit())


def check_text(value: str, argument: str) -> str:
    """PostgreSQL text cannot hold NUL; refuse it as bad input rather than fail in the driver."""
    if "\x00" in value:
        raise BadInput(f"`{argument}` contains a NUL character")
    return value
