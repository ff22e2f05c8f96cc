"""Codes with their labels, as the API returns them."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache

from db.codes import CODE_LISTS
from db.errors import BadInput


@dataclass(frozen=True, slots=True)
class CodeValue:
    code: str
    label: str


@cache
def _values(list_name: str) -> dict[str, CodeValue]:
    return {code: CodeValue(code, label) for code, label in CODE_LISTS[list_name].items()}


def labeller(list_name: str) -> Callable[[str | None], CodeValue | None]:
    """A function from a stored code to its (shared, pre-built) CodeValue.

    A code missing from the list is returned with itself as label rather than dropped: data that
    predates a list change must still be readable.
    """
    values = _values(list_name)

    def label(code: str | None) -> CodeValue | None:
        if code is None:
            return None
        return values.get(code) or CodeValue(code, code)

    return label


def resolve_code_list(name: str) -> list[CodeValue]:
    if name not in CODE_LISTS:
        raise BadInput(f"Unknown code list '{name}'; known lists: {', '.join(sorted(CODE_LISTS))}")
    return list(_values(name).values())


def check_codes(list_name: str, codes: Sequence[str] | None, argument: str) -> frozenset[str]:
    known = CODE_LISTS[list_name]
    unknown = sorted(set(codes or ()) - known.keys())
    if unknown:
        raise BadInput(f'`{argument}` has unknown codes {unknown}; see codeList(name: "{list_name}")')
    return frozenset(codes or ())
