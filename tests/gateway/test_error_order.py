"""Errors come in the order their paths stand in the answer, however the resolvers finished: the items
of a list each read with statements of their own complete in any order."""

from typing import Any

from graphql import GraphQLError
from hypothesis import given
from hypothesis import strategies as st

from gateway.graphql import in_answer_order

DATA: dict[str, Any] = {
    "units": [
        {"code": "A", "officials": {"nodes": [{"religion": None, "name": "x"}, {"religion": None, "name": "y"}]}},
        {"code": "B", "officials": {"nodes": [{"religion": None, "name": "z"}]}},
    ],
    "me": None,
}
# Every path an error may carry in DATA, in the answer's own order (a depth-first walk).
PATHS: list[list[str | int]] = [
    ["units", 0, "officials", "nodes", 0, "religion"],
    ["units", 0, "officials", "nodes", 1, "religion"],
    ["units", 1, "officials", "nodes", 0, "religion"],
    ["me"],
    ["me", "health"],  # below a null: after its parent
]


@given(st.permutations(range(len(PATHS))))
def test_errors_are_listed_in_the_answers_order_however_they_arrived(arrival: list[int]) -> None:
    errors = [GraphQLError(f"error {i}", path=PATHS[i]) for i in arrival]
    request_error = GraphQLError("no path")
    ordered = in_answer_order([*errors, request_error], DATA)
    assert [error.path for error in ordered] == [None, *PATHS]
