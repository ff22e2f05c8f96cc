"""The fast path of canonical JSON must write exactly what the rfc8785 library writes."""

from typing import Any

import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from evidence.canonical import canonical_json
from tests.examples import examples

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5), max_leaves=30
)


@settings(max_examples=examples(500), deadline=None)
@given(json_values)
def test_canonical_json_equals_rfc8785_on_any_json_value(value: Any) -> None:
    assert canonical_json(value) == rfc8785.dumps(value)


def test_the_floats_where_orjson_and_jcs_differ_go_to_the_library() -> None:
    for value in (1.0, -0.0, 1e16, 1e-6, 123456789012345680.0, 5e-324, {"\U0001f600": 1, "\ufb01": 2}):
        assert canonical_json(value) == rfc8785.dumps(value)
