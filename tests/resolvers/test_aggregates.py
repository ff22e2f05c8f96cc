"""Complementary suppression on any table: no line (buckets equal but in one dimension) shows exactly
one hidden count, or hidden counts that add up to less than k, next to a total one could know."""

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from db.models.officials import RECORD_KEYS
from resolvers.aggregates import protect, rounded

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


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 400), st.integers(1, 7), st.integers(0, 10**9))
def test_rounding_is_to_a_multiple_of_the_base_within_it_and_unbiased(count: int, base: int, keys: int) -> None:
    shown = rounded(count, keys, base)
    assert shown % base == 0 and abs(shown - count) < base and rounded(count, keys, base) == shown
    # Over every draw of the key, the mean is the count (to the key's resolution).
    mean = sum(rounded(count, draw, base) for draw in range(RECORD_KEYS)) / RECORD_KEYS
    assert abs(mean - count) <= base / RECORD_KEYS


def _subtraction(rng: random.Random, base: int) -> tuple[int, list[int]]:
    """One unit's own officials of some value (a small cell its own answer suppresses) and what an
    attacker learns of them from the unit's whole-subtree answer minus its subunits' answers, each count
    shown where it is at least k: (the truth, the values the published counts leave possible)."""
    own, own_keys = rng.randint(1, K - 1), rng.randrange(RECORD_KEYS * K)
    children = [(rng.randint(K, 60), rng.randrange(RECORD_KEYS * 60)) for _ in range(rng.randint(1, 4))]
    whole = rounded(own + sum(n for n, _ in children), own_keys + sum(k for _, k in children), base)
    shown = [rounded(n, k, base) for n, k in children]
    # Each shown count c means a true count in (c - base, c + base), and at least k (else it was suppressed).
    low = whole - base + 1 - sum(c + base - 1 for c in shown)
    high = whole + base - 1 - sum(max(K, c - base + 1) for c in shown)
    return own, [value for value in range(1, K) if low <= value <= high]


def test_a_subtraction_across_answers_rarely_tells_a_suppressed_count() -> None:
    """The attack found by review: a unit's subtree minus its subunits' leaves its own officials' cell.
    With exact counts it tells every such cell. Rounded by cell keys, nearly always every value from 1 to
    k-1 stays possible; one value alone needs a rare alignment of several roundings (none in these 20,000
    draws: a residual risk the module's text names, bounded here at 1 in 1,000)."""
    rng = random.Random(7)
    exact = [_subtraction(rng, 1) for _ in range(2_000)]
    assert all(possible == [own] for own, possible in exact)
    trials = [_subtraction(rng, K) for _ in range(20_000)]
    assert all(own in possible for own, possible in trials)
    pinned = sum(len(possible) == 1 for _, possible in trials)
    assert pinned <= len(trials) // 1_000, pinned
    assert sum(len(possible) == K - 1 for _, possible in trials) >= 0.95 * len(trials)
