"""The RFC 9162 Merkle log against a reference transcribed straight from the RFC's recursive definitions."""

import hashlib
import random
from collections.abc import Callable, Iterator, Mapping, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evidence.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    Node,
    consistency_nodes,
    consistency_path,
    frontier_nodes,
    inclusion_nodes,
    inclusion_path,
    leaf_hash,
    new_nodes,
    node_hash,
    range_nodes,
    root_hash,
    root_nodes,
    verify_consistency,
    verify_inclusion,
)
from tests.examples import examples

SMALL_SIZES = list(range(1, 71))
LARGE_SIZES = [1000, 1023, 1024, 1025]


class Reference:
    """MTH, PATH and PROOF/SUBPROOF of RFC 9162 §2.1 over D[lo:hi], memoised so a 1025-entry log stays quick."""

    def __init__(self, entries: Sequence[bytes]) -> None:
        self.entries = entries
        self._mth: dict[tuple[int, int], bytes] = {}

    @staticmethod
    def split(n: int) -> int:
        k = 1
        while k * 2 < n:
            k *= 2
        return k

    def mth(self, lo: int, hi: int) -> bytes:
        if (lo, hi) not in self._mth:
            n = hi - lo
            if n == 0:
                value = hashlib.sha256(b"").digest()
            elif n == 1:
                value = hashlib.sha256(b"\x00" + self.entries[lo]).digest()
            else:
                k = self.split(n)
                value = hashlib.sha256(b"\x01" + self.mth(lo, lo + k) + self.mth(lo + k, hi)).digest()
            self._mth[(lo, hi)] = value
        return self._mth[(lo, hi)]

    def path(self, m: int, lo: int, hi: int) -> list[bytes]:
        n = hi - lo
        if n == 1:
            return []
        k = self.split(n)
        if m < k:
            return self.path(m, lo, lo + k) + [self.mth(lo + k, hi)]
        return self.path(m - k, lo + k, hi) + [self.mth(lo, lo + k)]

    @classmethod
    def path_route(cls, m: int, n: int) -> list[str]:
        """PATH(m, D[n])'s shape: on which side each sibling sits, leaf end first."""
        if n == 1:
            return []
        k = cls.split(n)
        return cls.path_route(m, k) + ["right"] if m < k else cls.path_route(m - k, n - k) + ["left"]

    @classmethod
    def proof_route(cls, m: int, n: int, b: bool = True) -> list[str]:
        """SUBPROOF(m, D[n], b)'s shape, element by element."""
        if m == n:
            return [] if b else ["old"]
        k = cls.split(n)
        return cls.proof_route(m, k, b) + ["right"] if m <= k else cls.proof_route(m - k, n - k, False) + ["left"]

    def proof(self, m: int, n: int) -> list[bytes]:
        return self.subproof(m, 0, n, True)

    def subproof(self, m: int, lo: int, hi: int, b: bool) -> list[bytes]:
        n = hi - lo
        if m == n:
            return [] if b else [self.mth(lo, hi)]
        k = self.split(n)
        if m <= k:
            return self.subproof(m, lo, lo + k, b) + [self.mth(lo + k, hi)]
        return self.subproof(m - k, lo + k, hi, False) + [self.mth(lo, lo + k)]


class OnlyThese(Mapping[Node, bytes]):
    """A node store that refuses any key the `_nodes` twin did not name, and records what was read."""

    def __init__(self, store: Mapping[Node, bytes], allowed: Sequence[Node]) -> None:
        assert len(set(allowed)) == len(allowed), "the _nodes twin returned duplicates"
        self._store = store
        self._allowed = set(allowed)
        self.read: set[Node] = set()

    def __getitem__(self, key: Node) -> bytes:
        if key not in self._allowed:
            raise KeyError(f"{key} was read but not named by the _nodes twin")
        self.read.add(key)
        return self._store[key]

    def __iter__(self) -> Iterator[Node]:
        return iter(self._allowed)

    def __len__(self) -> int:
        return len(self._allowed)


def entries_of(size: int, tag: bytes = b"") -> list[bytes]:
    return [tag + i.to_bytes(4, "big") for i in range(size)]


def completed_nodes(start: int, end: int) -> set[Node]:
    """Every (L, i), L >= 1, whose leaf range ends in (start, end]: (i + 1) * 2**L in (start, end]."""
    return {(level, i) for level in range(1, end.bit_length() + 1) for i in range(start >> level, end >> level)}


def build(entries: Sequence[bytes], rng: random.Random, max_chunk: int = 9) -> dict[Node, bytes]:
    """The node store a database would hold after appending `entries` in random chunks through new_nodes."""
    store: dict[Node, bytes] = {}
    start = 0
    while start < len(entries):
        end = min(len(entries), start + rng.randint(1, max_chunk))
        leaves = [leaf_hash(e) for e in entries[start:end]]
        frontier = OnlyThese(store, frontier_nodes(start))
        made = new_nodes(start, leaves, frontier)
        assert set(made) == completed_nodes(start, end)
        assert frontier.read == set(frontier_nodes(start))
        assert not set(made) & set(store), "new_nodes recomputed a node that was already stored"
        store.update(made)
        store.update({(0, start + i): h for i, h in enumerate(leaves)})
        start = end
    return store


def strictly(nodes_of: Callable[..., list[Node]], store: Mapping[Node, bytes], *args: int) -> OnlyThese:
    return OnlyThese(store, nodes_of(*args))


def flip(data: bytes, position: int, mask: int = 0x01) -> bytes:
    return data[:position] + bytes([data[position] ^ mask]) + data[position + 1 :]


# --- known answers -------------------------------------------------------------------------------------

# certificate-transparency's merkle_tree_test vectors (RFC 6962 hashing, identical to RFC 9162 §2.1).
CT_LEAVES = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


def test_roots_match_the_certificate_transparency_test_vectors_for_sizes_one_to_eight() -> None:
    store = build([bytes.fromhex(leaf) for leaf in CT_LEAVES], random.Random(0), max_chunk=3)
    assert [root_hash(size, store).hex() for size in range(1, 9)] == CT_ROOTS


def test_the_empty_tree_root_is_the_sha256_of_nothing() -> None:
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert root_nodes(0) == [] and root_hash(0, {}) == EMPTY_ROOT


def test_leaf_and_node_hashes_are_domain_separated_sha256() -> None:
    assert leaf_hash(b"x") == hashlib.sha256(b"\x00x").digest()
    assert node_hash(b"a" * 32, b"b" * 32) == hashlib.sha256(b"\x01" + b"a" * 32 + b"b" * 32).digest()
    assert len(leaf_hash(b"")) == HASH_SIZE


# --- agreement with the reference ----------------------------------------------------------------------


@pytest.mark.parametrize("size", SMALL_SIZES + LARGE_SIZES)
def test_root_of_a_log_built_in_random_chunks_equals_the_reference_mth(size: int) -> None:
    entries = entries_of(size)
    store = build(entries, random.Random(size))
    assert root_hash(size, strictly(root_nodes, store, size)) == Reference(entries).mth(0, size)


@pytest.mark.parametrize("size", SMALL_SIZES + LARGE_SIZES)
def test_every_inclusion_path_equals_the_reference_path_and_verifies(size: int) -> None:
    entries = entries_of(size)
    store, ref = build(entries, random.Random(size)), Reference(entries)
    root = ref.mth(0, size)
    for index in range(size):
        view = strictly(inclusion_nodes, store, index, size)
        path = inclusion_path(index, size, view)
        assert view.read == set(inclusion_nodes(index, size))
        assert path == ref.path(index, 0, size)
        assert verify_inclusion(leaf_hash(entries[index]), index, size, path, root)


@pytest.mark.parametrize("new_size", SMALL_SIZES)
def test_every_consistency_proof_equals_the_reference_proof_and_verifies(new_size: int) -> None:
    entries = entries_of(new_size)
    store, ref = build(entries, random.Random(new_size)), Reference(entries)
    for old_size in range(new_size + 1):
        view = strictly(consistency_nodes, store, old_size, new_size)
        proof = consistency_path(old_size, new_size, view)
        assert view.read == set(consistency_nodes(old_size, new_size))
        expected = ref.proof(old_size, new_size) if 0 < old_size < new_size else []
        assert proof == expected
        assert verify_consistency(old_size, new_size, ref.mth(0, old_size), ref.mth(0, new_size), proof)


@settings(max_examples=examples(100), deadline=None)
@given(st.data(), st.integers(min_value=1, max_value=300))
def test_proofs_for_random_sizes_and_chunkings_agree_with_the_reference(data: st.DataObject, size: int) -> None:
    entries = entries_of(size, tag=b"h")
    store = build(entries, random.Random(data.draw(st.integers(0, 2**32))), max_chunk=data.draw(st.integers(1, 64)))
    ref = Reference(entries)
    index = data.draw(st.integers(0, size - 1))
    old_size = data.draw(st.integers(0, size))
    assert root_hash(size, strictly(root_nodes, store, size)) == ref.mth(0, size)
    path = inclusion_path(index, size, strictly(inclusion_nodes, store, index, size))
    assert path == ref.path(index, 0, size)
    assert verify_inclusion(leaf_hash(entries[index]), index, size, path, ref.mth(0, size))
    proof = consistency_path(old_size, size, strictly(consistency_nodes, store, old_size, size))
    assert proof == (ref.proof(old_size, size) if 0 < old_size < size else [])
    assert verify_consistency(old_size, size, ref.mth(0, old_size), ref.mth(0, size), proof)


def test_range_nodes_splits_an_aligned_range_into_perfect_subtrees_largest_first() -> None:
    assert range_nodes(8, 15) == [(2, 2), (1, 6), (0, 14)]
    assert root_nodes(13) == [(3, 0), (2, 2), (0, 12)]
    assert frontier_nodes(13) == root_nodes(13)


def test_new_nodes_continues_a_tree_whose_frontier_came_from_the_database() -> None:
    entries = entries_of(37)
    store = build(entries[:21], random.Random(1))
    frontier = {key: store[key] for key in frontier_nodes(21)}
    made = new_nodes(21, [leaf_hash(e) for e in entries[21:]], frontier)
    store.update(made)
    store.update({(0, i): leaf_hash(entries[i]) for i in range(21, 37)})
    assert root_hash(37, store) == Reference(entries).mth(0, 37)
    assert new_nodes(21, [], frontier) == {}


# --- tampering: inclusion ------------------------------------------------------------------------------

TAMPER_SIZE = 13


@pytest.fixture(scope="module")
def small_log() -> tuple[list[bytes], dict[Node, bytes], bytes]:
    entries = entries_of(TAMPER_SIZE)
    store = build(entries, random.Random(7))
    return entries, store, root_hash(TAMPER_SIZE, store)


def inclusion_cases(
    small_log: tuple[list[bytes], dict[Node, bytes], bytes],
) -> Iterator[tuple[int, bytes, list[bytes]]]:
    entries, store, _ = small_log
    for index in range(TAMPER_SIZE):
        yield index, leaf_hash(entries[index]), inclusion_path(index, TAMPER_SIZE, store)


def test_inclusion_proof_fails_when_any_byte_of_the_path_is_flipped(
    small_log: tuple[list[bytes], dict[Node, bytes], bytes],
) -> None:
    root = small_log[2]
    for index, leaf, path in inclusion_cases(small_log):
        for i, element in enumerate(path):
            for position in range(HASH_SIZE):
                bad = [*path[:i], flip(element, position), *path[i + 1 :]]
                assert not verify_inclusion(leaf, index, TAMPER_SIZE, bad, root)


def test_inclusion_proof_fails_when_any_bit_of_the_leaf_or_the_root_is_flipped(
    small_log: tuple[list[bytes], dict[Node, bytes], bytes],
) -> None:
    root = small_log[2]
    for index, leaf, path in inclusion_cases(small_log):
        for position in range(HASH_SIZE):
            for bit in range(8):
                assert not verify_inclusion(flip(leaf, position, 1 << bit), index, TAMPER_SIZE, path, root)
                assert not verify_inclusion(leaf, index, TAMPER_SIZE, path, flip(root, position, 1 << bit))


def test_inclusion_proof_fails_for_any_other_index(small_log: tuple[list[bytes], dict[Node, bytes], bytes]) -> None:
    root = small_log[2]
    for index, leaf, path in inclusion_cases(small_log):
        for other in range(-1, TAMPER_SIZE + 2):
            if other != index:
                assert not verify_inclusion(leaf, other, TAMPER_SIZE, path, root)


def test_inclusion_proof_fails_for_any_other_size_that_routes_the_leaf_differently(
    small_log: tuple[list[bytes], dict[Node, bytes], bytes],
) -> None:
    """The §2.1.3.2 algorithm reads only the left/right route of the leaf from the size, so a size sharing that
    route (e.g. 9 and 13 for leaf 0) is accepted too; the signed tree head (§4.10) is what binds size to root."""
    root = small_log[2]
    for index, leaf, path in inclusion_cases(small_log):
        route = Reference.path_route(index, TAMPER_SIZE)
        for size in range(-1, 2 * TAMPER_SIZE):
            same_route = 0 <= index < size and Reference.path_route(index, size) == route
            assert verify_inclusion(leaf, index, size, path, root) == same_route
        assert not verify_inclusion(leaf, index, TAMPER_SIZE + 2 ** len(path), path, root)


def test_inclusion_proof_fails_when_the_path_is_truncated_or_extended(
    small_log: tuple[list[bytes], dict[Node, bytes], bytes],
) -> None:
    root = small_log[2]
    for index, leaf, path in inclusion_cases(small_log):
        for cut in range(len(path)):
            assert not verify_inclusion(leaf, index, TAMPER_SIZE, path[:cut], root)
        assert not verify_inclusion(leaf, index, TAMPER_SIZE, [*path, path[-1]], root)
        assert not verify_inclusion(leaf, index, TAMPER_SIZE, [*path, EMPTY_ROOT], root)
        assert not verify_inclusion(leaf, index, TAMPER_SIZE, [EMPTY_ROOT, *path], root)


def test_inclusion_verification_returns_false_for_hashes_of_the_wrong_length(
    small_log: tuple[list[bytes], dict[Node, bytes], bytes],
) -> None:
    root = small_log[2]
    index, leaf, path = next(inclusion_cases(small_log))
    assert not verify_inclusion(leaf[:-1], index, TAMPER_SIZE, path, root)
    assert not verify_inclusion(leaf, index, TAMPER_SIZE, path, root + b"\x00")
    assert not verify_inclusion(leaf, index, TAMPER_SIZE, [path[0][:16], *path[1:]], root)
    assert verify_inclusion(leaf, 0, 1, [], leaf)  # a one-leaf tree: its root is the leaf, the path empty
    assert not verify_inclusion(leaf, 0, 0, [], leaf)


# --- tampering: consistency ----------------------------------------------------------------------------

CONSISTENCY_NEW = 21


@pytest.fixture(scope="module")
def growing_log() -> tuple[dict[Node, bytes], Reference]:
    entries = entries_of(CONSISTENCY_NEW)
    return build(entries, random.Random(3)), Reference(entries)


def consistency_cases(
    growing_log: tuple[dict[Node, bytes], Reference],
) -> Iterator[tuple[int, bytes, bytes, list[bytes]]]:
    store, ref = growing_log
    for old_size in range(1, CONSISTENCY_NEW):
        proof = consistency_path(old_size, CONSISTENCY_NEW, store)
        yield old_size, ref.mth(0, old_size), ref.mth(0, CONSISTENCY_NEW), proof


def test_consistency_proof_fails_when_any_byte_of_the_proof_is_flipped(
    growing_log: tuple[dict[Node, bytes], Reference],
) -> None:
    for old_size, old_root, new_root, proof in consistency_cases(growing_log):
        for i, element in enumerate(proof):
            for position in range(HASH_SIZE):
                bad = [*proof[:i], flip(element, position), *proof[i + 1 :]]
                assert not verify_consistency(old_size, CONSISTENCY_NEW, old_root, new_root, bad)


def test_consistency_proof_fails_when_any_bit_of_either_root_is_flipped(
    growing_log: tuple[dict[Node, bytes], Reference],
) -> None:
    for old_size, old_root, new_root, proof in consistency_cases(growing_log):
        for position in range(HASH_SIZE):
            for bit in range(8):
                mask = 1 << bit
                assert not verify_consistency(
                    old_size, CONSISTENCY_NEW, flip(old_root, position, mask), new_root, proof
                )
                assert not verify_consistency(
                    old_size, CONSISTENCY_NEW, old_root, flip(new_root, position, mask), proof
                )


def test_consistency_proof_fails_for_any_other_old_size(growing_log: tuple[dict[Node, bytes], Reference]) -> None:
    for old_size, old_root, new_root, proof in consistency_cases(growing_log):
        for other_old in range(-1, CONSISTENCY_NEW + 2):
            if other_old != old_size:
                assert not verify_consistency(other_old, CONSISTENCY_NEW, old_root, new_root, proof)


def test_consistency_proof_fails_for_any_other_new_size_that_routes_the_proof_differently(
    growing_log: tuple[dict[Node, bytes], Reference],
) -> None:
    """As with inclusion, §2.1.4.2 reads only the route from the sizes; the signed tree head binds size to root."""
    for old_size, old_root, new_root, proof in consistency_cases(growing_log):
        route = Reference.proof_route(old_size, CONSISTENCY_NEW)
        for new_size in range(-1, 2 * CONSISTENCY_NEW):
            same_route = old_size < new_size and Reference.proof_route(old_size, new_size) == route
            assert verify_consistency(old_size, new_size, old_root, new_root, proof) == same_route


def test_consistency_proof_fails_when_the_proof_is_truncated_or_extended(
    growing_log: tuple[dict[Node, bytes], Reference],
) -> None:
    for old_size, old_root, new_root, proof in consistency_cases(growing_log):
        for cut in range(len(proof)):
            assert not verify_consistency(old_size, CONSISTENCY_NEW, old_root, new_root, proof[:cut])
        assert not verify_consistency(old_size, CONSISTENCY_NEW, old_root, new_root, [*proof, proof[-1]])
        assert not verify_consistency(old_size, CONSISTENCY_NEW, old_root, new_root, [*proof, EMPTY_ROOT])
        assert not verify_consistency(old_size, CONSISTENCY_NEW, old_root, new_root, [EMPTY_ROOT, *proof])


def test_consistency_verification_returns_false_for_hashes_of_the_wrong_length(
    growing_log: tuple[dict[Node, bytes], Reference],
) -> None:
    old_size, old_root, new_root, proof = next(consistency_cases(growing_log))
    assert not verify_consistency(old_size, CONSISTENCY_NEW, old_root[:31], new_root, proof)
    assert not verify_consistency(old_size, CONSISTENCY_NEW, old_root, new_root + b"!", proof)
    assert not verify_consistency(old_size, CONSISTENCY_NEW, old_root, new_root, [proof[0] + b"!", *proof[1:]])
    assert not verify_consistency(CONSISTENCY_NEW, CONSISTENCY_NEW, b"x", b"x", [])


@pytest.mark.parametrize("shared", [1, 2, 3, 4, 5, 8, 13, 16, 17])
def test_consistency_proof_from_a_log_to_its_fork_fails(shared: int) -> None:
    """Two logs agree on the first `shared` entries, then diverge: neither log can prove the other extends it."""
    honest, forked = entries_of(30, tag=b"a"), entries_of(shared, tag=b"a") + entries_of(30 - shared, tag=b"b")
    honest_store, forked_store = build(honest, random.Random(shared)), build(forked, random.Random(-shared))
    for old_size in range(shared + 1, 30):
        old_root = root_hash(old_size, honest_store)
        forked_root = root_hash(30, forked_store)
        assert not verify_consistency(old_size, 30, old_root, forked_root, consistency_path(old_size, 30, forked_store))
        assert not verify_consistency(old_size, 30, old_root, forked_root, consistency_path(old_size, 30, honest_store))
    # Up to the fork point the logs really are consistent.
    assert verify_consistency(
        shared,
        30,
        root_hash(shared, honest_store),
        root_hash(30, forked_store),
        consistency_path(shared, 30, forked_store),
    )


def test_consistency_with_equal_sizes_holds_only_for_equal_roots_and_an_empty_proof() -> None:
    root = leaf_hash(b"r")
    assert verify_consistency(5, 5, root, root, [])
    assert not verify_consistency(5, 5, root, leaf_hash(b"s"), [])
    assert not verify_consistency(5, 5, root, root, [root])


def test_every_tree_is_consistent_with_the_empty_tree_given_an_empty_proof() -> None:
    root = leaf_hash(b"r")
    assert verify_consistency(0, 9, EMPTY_ROOT, root, [])
    assert verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    assert not verify_consistency(0, 9, EMPTY_ROOT, root, [root])
    assert consistency_path(0, 9, {}) == [] and consistency_nodes(0, 9) == []
    assert consistency_path(9, 9, {}) == [] and consistency_nodes(9, 9) == []


@settings(max_examples=examples(100), deadline=None)
@given(
    st.integers(-3, 40),
    st.integers(-3, 40),
    st.binary(max_size=40),
    st.binary(max_size=40),
    st.lists(st.binary(max_size=40), max_size=8),
)
def test_verification_never_raises_on_garbage(old: int, new: int, a: bytes, b: bytes, proof: list[bytes]) -> None:
    assert verify_consistency(old, new, a, b, proof) in (True, False)
    assert verify_inclusion(a, old, new, proof, b) in (True, False)


# --- argument validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: inclusion_nodes(0, 0), "outside a tree of size 0"),
        (lambda: inclusion_path(5, 5, {}), "leaf index 5 is outside"),
        (lambda: inclusion_nodes(-1, 5), "leaf index -1 is outside"),
        (lambda: inclusion_nodes(0, -1), "size must not be negative"),
        (lambda: consistency_nodes(6, 5), "old size 6 is larger than new size 5"),
        (lambda: consistency_path(-1, 5, {}), "old_size must not be negative"),
        (lambda: consistency_nodes(1, -5), "new_size must not be negative"),
        (lambda: root_nodes(-1), "size must not be negative"),
        (lambda: root_hash(-2, {}), "size must not be negative"),
        (lambda: range_nodes(3, 2), "before its start"),
        (lambda: range_nodes(2, 6), "not aligned"),
        (lambda: range_nodes(-1, 0), "start must not be negative"),
        (lambda: frontier_nodes(-1), "start must not be negative"),
        (lambda: new_nodes(-1, [], {}), "start must not be negative"),
        (lambda: new_nodes(0, [b"short"], {}), "leaf hash for index 0 is not 32 bytes"),
    ],
)
def test_impossible_arguments_raise_a_value_error_naming_the_problem(call: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()
