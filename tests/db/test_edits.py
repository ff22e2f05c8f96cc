"""Proposed values, checked against the catalog and the tables: every wrong value is named, nothing
else escapes, and what passes can be written and read back in the same JSON form."""

from datetime import date
from decimal import Decimal
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from db.catalog import EDITABLE, OFFICIAL, RECORD_FIELDS
from db.codes import CODE_LISTS
from db.edits import column_values, normalized, record_kinds, record_rows
from db.errors import InvalidFields

TODAY = date(2026, 11, 10)

ANYTHING = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.text(max_size=300),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.dates(),
    st.lists(
        st.one_of(st.text(max_size=20), st.integers(), st.dictionaries(st.text(max_size=10), st.integers())), max_size=4
    ),
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from([f.name for f in EDITABLE] + ["code", "version", "nope"]), ANYTHING, max_size=6))
def test_any_input_is_either_taken_or_refused_with_every_wrong_field_named(changes: dict[str, Any]) -> None:
    try:
        out = normalized(changes, today=TODAY)
    except InvalidFields as error:
        named = {path.split("[")[0].split(".")[0] for path, _ in error.problems}
        assert named <= set(changes) | {"changes"}
        return
    assert set(out) == set(changes)
    orjson.dumps(out)  # the JSON form is JSON
    column_values(out)
    for kind, entries in record_kinds(out).items():
        record_rows(kind, entries, official_id=1)


def _valid(name: str) -> Any:
    """A value each editable field takes."""
    field = OFFICIAL[name]
    if field.kind == "records":
        assert field.records is not None
        return [{c.name: _valid_column(c.value, c.codes, c.bounds) for c in RECORD_FIELDS[field.records]}]
    if field.kind in ("unit", "position"):
        return 7
    if field.pattern is not None:
        return {"personalId": "001090012345", "socialInsuranceNumber": "0123456789", "bloodGroup": "AB"}[name]
    return _valid_column(field.value, field.codes, field.bounds)


def _valid_column(value: str, codes: str | None, bounds: tuple[str, str] | None) -> Any:
    if codes is not None:
        return next(iter(CODE_LISTS[codes]))
    low = bounds[0] if bounds is not None else None
    match value:
        case "int":
            return int(low) if low is not None else 1
        case "decimal":
            return Decimal(low) if low is not None else Decimal("1.00")
        case "date":
            return date(1980, 5, 17)
        case "texts":
            return ["Bí thư Chi bộ"]
    return "Giá trị hợp lệ"


@pytest.mark.parametrize("name", [f.name for f in EDITABLE])
def test_every_field_a_change_may_set_takes_a_valid_value_and_writes_it_back(name: str) -> None:
    out = normalized({name: _valid(name)}, today=TODAY)
    assert list(out) == [name]
    if OFFICIAL[name].kind != "records":
        # A name also sets the columns it is searched and sorted by.
        derived = ["name_search", "name_sort"] if name == "fullName" else []
        assert list(column_values(out)) == [OFFICIAL[name].column, *derived]


def test_fields_nobody_declares_are_refused() -> None:
    with pytest.raises(InvalidFields) as refused:
        normalized({"code": "SH1", "version": 9, "topUnit": 1, "updatedAt": "x"}, today=TODAY)
    assert {path for path, _ in refused.value.problems} == {"code", "version", "topUnit", "updatedAt"}


def test_a_required_field_cannot_be_emptied_and_an_optional_one_can() -> None:
    with pytest.raises(InvalidFields):
        normalized({"fullName": None}, today=TODAY)
    assert normalized({"otherName": None}, today=TODAY) == {"otherName": None}


def test_an_official_must_be_fifteen_and_dates_are_not_in_the_future() -> None:
    with pytest.raises(InvalidFields):
        normalized({"birthDate": date(2012, 1, 1)}, today=TODAY)
    with pytest.raises(InvalidFields):
        normalized({"recruitmentDate": date(2027, 1, 1)}, today=TODAY)
    assert normalized({"birthDate": date(2011, 11, 10)}, today=TODAY) == {"birthDate": "2011-11-10"}
