"""Complementary suppression on any table: no line (buckets equal but in one dimension) shows exactly
one hidden count, or hidden counts that add up to less than k, next to a total one could know."""

from hypothesis import given, settings
from hypothesis import strategies as st

from resolvers.aggregates import protect

K = 5

TABLES = st.dictionaries(
    st.tuples(st.integers(0, 3), st.integers(0, 4), st.integers(0, 2)), st.integers(1, 40), min_size=1, max_size=40
)


@settings(max_examples=300, deadline=None)
@given(TABLES, st.integers(1, 3))
def test_every_line_hides_nothing_or_enough(table: dict[tuple[int, int, int], int], width: int) -> None:
    merged: dict[tuple[int, ...], int] = {}
    for full, count in table.items():
        merged[full[:width]] = merged.get(full[:width], 0) + count
    counts = list(merged.items())
    hidden, left_out = protect(counts, K)
    assert {i for i, (_, n) in enumerate(counts) if n < K} <= hidden
    assert left_out <= hidden
    for axis in range(width):
        lines: dict[tuple[int, ...], list[int]] = {}
        for i, (keys, _) in enumerate(counts):
            lines.setdefault(keys[:axis] + keys[axis + 1 :], []).append(i)
        for line in lines.values():
            # A total minus the visible buckets: the hidden ones, shown suppressed or left out, never one alone.
            secret = [counts[i][1] for i in line if i in hidden]
            if secret and any(i not in hidden for i in line):
                assert len(secret) >= 2 and sum(secret) >= K
            if secret and all(i in hidden for i in line) and (len(line) < 2 or sum(secret) < K):
                assert set(line) <= left_out  # its total would tell: the whole line is left out
