"""The name filter, against a reference in Python: a word of the folded name starts with the folded
needle. LIKE's wildcards and escape characters are matched as themselves, and a needle longer than any
name is refused as bad input, never an internal error (SQLite refuses LIKE patterns past 50,000 bytes)."""

from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from db.text import fold
from resolvers.officials import MAX_NAME_FILTER
from tests.conftest import Api
from tests.examples import examples

SEARCH = """query($n: String) {
  officials(first: 100, filter: {name: $n}, orderBy: {field: CODE}) { totalCount nodes { id } }
}"""
EVERYONE = "query($after: String) { officials(first: 100, after: $after, orderBy: {field: CODE}) { pageInfo { hasNextPage endCursor } nodes { id code fullName } } }"


@pytest.fixture(scope="module")
def names(api: Api) -> list[tuple[str, str, str]]:
    """Every official's (code, id, full name), in code order."""
    found: list[tuple[str, str, str]] = []
    after = None
    while True:
        page = api.data(EVERYONE, variables={"after": after})["officials"]
        found += [(n["code"], n["id"], n["fullName"]) for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            return found
        after = page["pageInfo"]["endCursor"]


def expected(names: list[tuple[str, str, str]], needle: str) -> list[str]:
    word = fold(needle)
    return [i for _, i, name in names if f" {word}" in f" {fold(name)}"]


def needles() -> st.SearchStrategy[str]:
    wildcards = st.text(alphabet="%_\\/ aAn", max_size=6)
    # Pieces of real names, in any case and with or without accents: these do match.
    pieces = st.sampled_from(["Nguyễn", "Văn", "Thị", "An", "nguyen van", "Trần Thị", "ĐỨC", "hoa", "Lê "])
    long = st.text(min_size=MAX_NAME_FILTER - 2, max_size=MAX_NAME_FILTER + 40)
    return st.one_of(wildcards, pieces, st.text(max_size=12), long)


@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@example(needle="%")
@example(needle="_")
@example(needle="\\")
@example(needle="%%%")
@example(needle="/")
@example(needle="Nguyễn")
@example(needle="x" * (MAX_NAME_FILTER + 1))
@given(needle=needles())
def test_a_name_filter_matches_exactly_the_names_with_a_word_starting_with_it(
    api: Api, names: list[tuple[str, str, str]], needle: str
) -> None:
    body: dict[str, Any] = api.post(SEARCH, variables={"n": needle})
    if len(needle) > MAX_NAME_FILTER or "\x00" in needle:
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body
        return
    assert "errors" not in body, body
    matched = expected(names, needle)
    result = body["data"]["officials"]
    assert result["totalCount"] == len(matched)
    assert [n["id"] for n in result["nodes"]] == matched[:100]


def test_a_name_filter_past_what_sqlite_can_match_is_bad_input_not_an_internal_error(api: Api) -> None:
    for needle in ("a" * 60_000, "Đ" * 30_000):
        error = api.post(SEARCH, variables={"n": needle})["errors"][0]
        assert error["extensions"]["code"] == "BAD_USER_INPUT" and f"longer than {MAX_NAME_FILTER}" in error["message"]
