"""Proposed values for an official's record: checked, and kept in one JSON form until they are applied.

Everything here derives from the one field catalog (db/catalog.py: which fields a change may set, their
kind, value, code list, pattern, bounds) and from the tables (a text's length limit, whether a value may
be empty): a field added to the catalog can be proposed with no change here. Every wrong value is named
(`InvalidFields`), not just the first.

The JSON form, per catalog value: text and codes as strings, int as numbers, dates as "YYYY-MM-DD",
decimals as strings with two places ("4.65", exact), lists of texts as lists, a unit or position as its
id, a child-record field as the full list of its entries (it replaces the list), each an object keyed
by the record type's API names. `column_values` and `record_rows` turn it back into column values.
"""

import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any, Final

from sqlalchemy import Column as SqlColumn
from sqlalchemy import String, Table

from db.catalog import OFFICIAL, RECORD_FIELDS, Column, Field, RecordKind
from db.codes import CODE_LISTS
from db.errors import InvalidFields
from db.models import Official, table_of
from db.queries.records import table_of_kind
from db.text import fold, name_sort_key

OFFICIAL_TABLE: Final = table_of(Official)
MAX_TEXTS: Final = 20  # entries of a list of texts (concurrent titles)
MAX_RECORDS: Final = 200  # entries of one kind of child record
EARLIEST: Final = date(1900, 1, 1)
_TODAY_MINUS = re.compile(r"today-([0-9]{1,2})y")

Json = Any  # what orjson writes: str, int, list, dict, None


class _Wrong(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def normalized(changes: Mapping[str, object], *, today: date) -> dict[str, Json]:
    """The changes in their JSON form, keyed by API name; every wrong value named (InvalidFields).
    A unit or position is given as its id (the caller resolves codes, which needs the database)."""
    problems: list[tuple[str, str]] = []
    out: dict[str, Json] = {}
    for name, value in changes.items():
        field = OFFICIAL.get(name)
        if field is None or not field.editable:
            problems.append((name, "is not a field a change may set"))
            continue
        try:
            out[name] = _field_value(field, value, today, problems)
        except _Wrong as wrong:
            problems.append((name, wrong.message))
    if not out and not problems:
        problems.append(("changes", "must set at least one field"))
    if problems:
        raise InvalidFields(problems)
    return out


def _field_value(field: Field, value: object, today: date, problems: list[tuple[str, str]]) -> Json:
    if field.kind == "records":
        assert field.records is not None
        return _records(field.name, field.records, value, today, problems)
    column = OFFICIAL_TABLE.c[field.column]
    if value is None:
        if not column.nullable:
            raise _Wrong("cannot be empty")
        return None
    if field.kind in ("unit", "position"):
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise _Wrong(f"must be a {field.kind}")
        return value
    return _value(
        field.value, value, column, codes=field.codes, pattern=field.pattern, bounds=field.bounds, today=today
    )


def _records(
    name: str, kind: RecordKind, value: object, today: date, problems: list[tuple[str, str]]
) -> list[dict[str, Json]]:
    if not isinstance(value, list):
        raise _Wrong("must be a list of entries")
    if len(value) > MAX_RECORDS:
        raise _Wrong(f"may hold at most {MAX_RECORDS} entries")
    table, _ = table_of_kind(kind)
    entries: list[dict[str, Json]] = []
    for index, entry in enumerate(value):
        if not isinstance(entry, Mapping):
            problems.append((f"{name}[{index}]", "must be an object"))
            continue
        entries.append(_entry(f"{name}[{index}]", kind, table, entry, today, problems))
    return entries


def _entry(
    path: str, kind: RecordKind, table: Table, entry: Mapping[str, object], today: date, problems: list[tuple[str, str]]
) -> dict[str, Json]:
    columns = {c.name: c for c in RECORD_FIELDS[kind]}
    for unknown in sorted(set(entry) - set(columns)):
        problems.append((f"{path}.{unknown}", "is not a field of this entry"))
    out: dict[str, Json] = {}
    for name, spec in columns.items():
        column = table.c[spec.column]
        value = entry.get(name)
        try:
            if value is None:
                if not column.nullable:
                    raise _Wrong("is required")
                out[name] = None
            else:
                out[name] = _value(
                    spec.value, value, column, codes=spec.codes, pattern=None, bounds=spec.bounds, today=today
                )
        except _Wrong as wrong:
            problems.append((f"{path}.{name}", wrong.message))
    if "fromDate" in out and isinstance(out.get("toDate"), str) and isinstance(out["fromDate"], str):
        if out["toDate"] < out["fromDate"]:
            problems.append((f"{path}.toDate", "is before `fromDate`"))
    return out


def _value(  # noqa: PLR0911 - one branch per kind of value
    kind: str,
    value: object,
    column: SqlColumn[Any],
    *,
    codes: str | None,
    pattern: str | None,
    bounds: tuple[str, str] | None,
    today: date,
) -> Json:
    if codes is not None:
        return _code(codes, value)
    match kind:
        case "text" | "id":
            return _text(value, column, pattern)
        case "texts":
            if not isinstance(value, list) or len(value) > MAX_TEXTS:
                raise _Wrong(f"must be a list of at most {MAX_TEXTS} texts")
            return [_text(item, _TITLE, None) for item in value]
        case "int":
            if not isinstance(value, int) or isinstance(value, bool):
                raise _Wrong("must be a whole number")
            _within(value, bounds, int)
            return value
        case "decimal":
            number = _decimal(value)
            _within(number, bounds, Decimal)
            return f"{number:.2f}"
        case "date":
            if not isinstance(value, date) or isinstance(value, datetime):
                raise _Wrong("must be a date (YYYY-MM-DD)")
            _date_within(value, bounds, today)
            return value.isoformat()
    raise _Wrong(f"cannot be set ({kind} values are not proposed)")


# A concurrent title is as long as a job title (official.job_title).
_TITLE: Final = OFFICIAL_TABLE.c["job_title"]


def _text(value: object, column: SqlColumn[Any], pattern: str | None) -> str:
    if not isinstance(value, str):
        raise _Wrong("must be text")
    text = value.strip()
    if not text:
        raise _Wrong("cannot be blank")
    if any(not ch.isprintable() for ch in text):
        raise _Wrong("contains control characters")
    length = column.type.length if isinstance(column.type, String) else None
    if length is not None and len(text) > length:
        raise _Wrong(f"is longer than {length} characters")
    if pattern is not None and not re.fullmatch(pattern, text):
        raise _Wrong(f"must match {pattern}")
    return text


def _code(codes: str, value: object) -> str:
    known = CODE_LISTS[codes]
    if not isinstance(value, str) or value not in known:
        shown = ", ".join(list(known)[:12]) + (", …" if len(known) > 12 else "")
        raise _Wrong(f"must be a code of the list '{codes}' ({shown}; codeList(name: \"{codes}\") has them all)")
    return value


def _decimal(value: object) -> Decimal:
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        raise _Wrong("must be a number with at most two decimals") from None
    try:
        exact = number.is_finite() and number == number.quantize(Decimal("0.01"))
    except InvalidOperation:  # past the context's precision (1e400): not a coefficient anyway
        exact = False
    if isinstance(value, bool) or not exact:
        raise _Wrong("must be a number with at most two decimals")
    return number


def _within(value: Any, bounds: tuple[str, str] | None, kind: type) -> None:
    if bounds is None:
        return
    low, high = kind(bounds[0]), kind(bounds[1])
    if not low <= value <= high:
        raise _Wrong(f"must be from {bounds[0]} to {bounds[1]}")


def _date_within(value: date, bounds: tuple[str, str] | None, today: date) -> None:
    low, high = (EARLIEST, today) if bounds is None else (_day(bounds[0], today), _day(bounds[1], today))
    if not low <= value <= high:
        raise _Wrong(f"must be from {low.isoformat()} to {high.isoformat()}")


def _day(bound: str, today: date) -> date:
    if bound == "today":
        return today
    back = _TODAY_MINUS.fullmatch(bound)
    if back is not None:
        years = int(back.group(1))
        # 29 February, years back, is 28 February in a common year.
        return today.replace(year=today.year - years, day=min(today.day, 28 if today.month == 2 else today.day))
    return date.fromisoformat(bound)


# -- back to columns ---------------------------------------------------------------------------------


def column_values(changes: Mapping[str, Json]) -> dict[str, Any]:
    """The official row's columns a change sets, as the table takes them (child records apart), with
    the columns derived from them: a new name is searched and sorted by its new form (db.text)."""
    values = {
        OFFICIAL[name].column: _to_column(OFFICIAL[name].value, value)
        for name, value in changes.items()
        if OFFICIAL[name].kind != "records"
    }
    if "full_name" in values:
        values["name_search"] = fold(values["full_name"])
        values["name_sort"] = name_sort_key(values["full_name"])
    return values


def record_kinds(changes: Mapping[str, Json]) -> dict[RecordKind, list[dict[str, Json]]]:
    """The kinds of child record a change replaces, with their new entries."""
    kinds: dict[RecordKind, list[dict[str, Json]]] = {}
    for name, value in changes.items():
        kind = OFFICIAL[name].records
        if kind is not None:
            kinds[kind] = value
    return kinds


def record_rows(kind: RecordKind, entries: Sequence[Mapping[str, Json]], official_id: int) -> list[dict[str, Any]]:
    """Entries of a child record in the JSON form, as rows of its table."""
    columns = _columns_of(kind)
    return [
        {"official_id": official_id, **{spec.column: _to_column(spec.value, entry.get(name)) for name, spec in columns}}
        for entry in entries
    ]


def json_value(field: Field, value: Any) -> Json:
    """A column's value in the JSON form (what a version keeps as the value a change replaced)."""
    return _from_column(field.value, value)


def record_json(kind: RecordKind, rows: Sequence[Any]) -> list[dict[str, Json]]:
    """Rows of a child table in the JSON form."""
    return [
        {name: _from_column(spec.value, getattr(row, spec.column)) for name, spec in _columns_of(kind)} for row in rows
    ]


@cache
def _columns_of(kind: RecordKind) -> tuple[tuple[str, Column], ...]:
    return tuple((spec.name, spec) for spec in RECORD_FIELDS[kind])


def _to_column(kind: str, value: Json) -> Any:
    if value is None:
        return None
    if kind == "date":
        return date.fromisoformat(value)
    if kind == "decimal":
        return Decimal(value)
    return value


def _from_column(kind: str, value: Any) -> Json:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if kind == "texts":
        return list(value)
    return value
