"""RFC 9162 (Certificate Transparency v2) Merkle tree log, section 2.1: pure functions, no I/O.

The log is stored as perfect subtree nodes keyed `(level, index)`: the root hash of leaves
[index * 2**level, (index + 1) * 2**level); level 0 holds the leaf hashes. Every computation comes as a
pair so the database can fetch everything in one query: `..._nodes(...)` names exactly the keys the
twin function will read, and the twin takes those keys as a `Mapping[Node, bytes]`.
"""

import hashlib
from collections.abc import Mapping, Sequence
from typing import Final

Node = tuple[int, int]
HASH_SIZE: Final = 32
_LEAF_PREFIX: Final = b"\x00"
_NODE_PREFIX: Final = b"\x01"
_Range = tuple[int, int]


def leaf_hash(entry: bytes) -> bytes:
    """Hash of one log entry; the 0x00 prefix keeps leaves from posing as interior nodes (RFC 9162 §2.1.1)."""
    return hashlib.sha256(_LEAF_PREFIX + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Hash of an interior node; the 0x01 prefix separates it from leaves (RFC 9162 §2.1.1)."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


# RFC 9162 §2.1.1: MTH({}) = HASH() — the root of a log with no entries.
EMPTY_ROOT: Final = hashlib.sha256(b"").digest()


def _split(size: int) -> int:
    """k of RFC 9162 §2.1.1: the largest power of two strictly smaller than `size` (> 1)."""
    return 1 << ((size - 1).bit_length() - 1)


def _check_size(name: str, value: int) -> None:
    if value < 0:
        raise ValueError(f"{name} must not be negative, got {value}")


def range_nodes(start: int, end: int) -> list[Node]:
    """Perfect subtrees, left to right, whose right fold is MTH(D[start:end]).

    Only ranges that RFC 9162 §2.1.1's recursion produces are allowed: `start` must be a multiple of
    the largest power of two in `end - start`, otherwise the range is not made of stored nodes.
    """
    _check_size("start", start)
    if end < start:
        raise ValueError(f"range end {end} is before its start {start}")
    size = end - start
    if size and start % (1 << (size.bit_length() - 1)):
        raise ValueError(f"range [{start}, {end}) is not aligned to its largest perfect subtree")
    nodes: list[Node] = []
    for level in reversed(range(size.bit_length())):
        if size >> level & 1:
            nodes.append((level, start >> level))
            start += 1 << level
    return nodes


def _range_hash(start: int, end: int, nodes: Mapping[Node, bytes]) -> bytes:
    """MTH(D[start:end]) folded from the right, mirroring MTH(D[n]) = HASH(0x01 || MTH(D[0:k]) || MTH(D[k:n]))."""
    keys = range_nodes(start, end)
    if not keys:
        return EMPTY_ROOT
    result = nodes[keys[-1]]
    for key in reversed(keys[:-1]):
        result = node_hash(nodes[key], result)
    return result


def _flatten(ranges: Sequence[_Range]) -> list[Node]:
    return list(dict.fromkeys(key for start, end in ranges for key in range_nodes(start, end)))


def root_nodes(size: int) -> list[Node]:
    """[0, size) as perfect subtrees, largest first: all a tree head needs."""
    _check_size("size", size)
    return range_nodes(0, size)


def root_hash(size: int, nodes: Mapping[Node, bytes]) -> bytes:
    """MTH(D[size]) of RFC 9162 §2.1.1 from the nodes `root_nodes(size)` names."""
    _check_size("size", size)
    return _range_hash(0, size, nodes)


def _inclusion_ranges(index: int, size: int) -> list[_Range]:
    """The subtrees whose MTHs make up PATH(index, D[size]) of RFC 9162 §2.1.3.1, leaf end first."""
    _check_size("size", size)
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is outside a tree of size {size}")
    start, end, ranges = 0, size, []
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:  # PATH(m, D[0:k]) : MTH(D[k:n])
            ranges.append((start + k, end))
            end = start + k
        else:  # PATH(m - k, D[k:n]) : MTH(D[0:k])
            ranges.append((start, start + k))
            start += k
    return ranges[::-1]


def inclusion_nodes(index: int, size: int) -> list[Node]:
    """Keys `inclusion_path(index, size, ...)` reads."""
    return _flatten(_inclusion_ranges(index, size))


def inclusion_path(index: int, size: int, nodes: Mapping[Node, bytes]) -> list[bytes]:
    """PATH(index, D[size]) of RFC 9162 §2.1.3.1: proves leaf `index` is in the tree of `size` leaves."""
    return [_range_hash(start, end, nodes) for start, end in _inclusion_ranges(index, size)]


def _consistency_ranges(old_size: int, new_size: int) -> list[_Range]:
    """The subtrees whose MTHs make up PROOF(old_size, D[new_size]) of RFC 9162 §2.1.4.1, deepest first."""
    _check_size("old_size", old_size)
    _check_size("new_size", new_size)
    if old_size > new_size:
        raise ValueError(f"old size {old_size} is larger than new size {new_size}")
    if old_size in (0, new_size):  # §2.1.4.1 defines PROOF only for 0 < m < n; nothing to prove otherwise
        return []
    start, end, ranges, complete = 0, new_size, [], True
    while old_size != end:  # SUBPROOF(m, D[n], b) for m < n
        k = _split(end - start)
        if old_size <= start + k:  # SUBPROOF(m, D[0:k], b) : MTH(D[k:n])
            ranges.append((start + k, end))
            end = start + k
        else:  # SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k])
            ranges.append((start, start + k))
            start, complete = start + k, False
    if not complete:  # SUBPROOF(m, D[m], false) = {MTH(D[m])}
        ranges.append((start, end))
    return ranges[::-1]


def consistency_nodes(old_size: int, new_size: int) -> list[Node]:
    """Keys `consistency_path(old_size, new_size, ...)` reads."""
    return _flatten(_consistency_ranges(old_size, new_size))


def consistency_path(old_size: int, new_size: int, nodes: Mapping[Node, bytes]) -> list[bytes]:
    """PROOF(old_size, D[new_size]) of RFC 9162 §2.1.4.1: proves the log only appended since `old_size`."""
    return [_range_hash(start, end, nodes) for start, end in _consistency_ranges(old_size, new_size)]


def _hashes_ok(*hashes: bytes) -> bool:
    return all(isinstance(h, bytes) and len(h) == HASH_SIZE for h in hashes)


def _skip_right_edge(fn: int, sn: int) -> tuple[int, int]:
    """Shift fn and sn right until LSB(fn) is set or fn is 0 (RFC 9162 §2.1.3.2 step 4.b.ii, §2.1.4.2 6.b.iii)."""
    while fn and not fn & 1:
        fn, sn = fn >> 1, sn >> 1
    return fn, sn


def verify_inclusion(leaf: bytes, index: int, size: int, path: Sequence[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2: does `path` prove leaf hash `leaf` sits at `index` under `root`? Never raises."""
    if not 0 <= index < size or not _hashes_ok(leaf, root, *path):  # step 1
        return False
    fn, sn, r = index, size - 1, leaf  # steps 2-3
    for p in path:  # step 4
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            fn, sn = _skip_right_edge(fn, sn)
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root  # step 5


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]) -> bool:
    """RFC 9162 §2.1.4.2: does `proof` show the `new_size` tree appends to the `old_size` one? Never raises."""
    if not 0 <= old_size <= new_size or not _hashes_ok(old_root, new_root, *proof):
        return False
    if old_size == 0:  # §2.1.4.1: every tree is consistent with the empty tree; the proof is empty
        return not proof
    if old_size == new_size:  # §2.1.4.1: PROOF(m, D[m]) is empty; the heads must simply agree
        return not proof and old_root == new_root
    if not proof:  # step 1
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # step 2: a power-of-two old tree is itself a node of the new one
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1  # step 3
    while fn & 1:  # step 4
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]  # step 5
    for c in path[1:]:  # step 6
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            fn, sn = _skip_right_edge(fn, sn)
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return fr == old_root and sr == new_root and sn == 0  # step 7


def frontier_nodes(start: int) -> list[Node]:
    """Keys `new_nodes(start, ...)` reads: the only complete nodes a node finished later can have as left child."""
    _check_size("start", start)
    return range_nodes(0, start)


def new_nodes(start: int, leaves: Sequence[bytes], frontier: Mapping[Node, bytes]) -> dict[Node, bytes]:
    """Every node of level >= 1 that appending leaf hashes `leaves` at `start` completes, in O(len(leaves)).

    A stack of (level, index, hash) holds the perfect subtrees of the growing tree, largest first; a new
    leaf merges with equal-level neighbours exactly as a binary counter carries.
    """
    _check_size("start", start)
    for offset, leaf in enumerate(leaves):
        if not _hashes_ok(leaf):
            raise ValueError(f"leaf hash for index {start + offset} is not {HASH_SIZE} bytes")
    stack = [(level, index, frontier[(level, index)]) for level, index in frontier_nodes(start)]
    made: dict[Node, bytes] = {}
    for offset, leaf in enumerate(leaves):
        stack.append((0, start + offset, leaf))
        while len(stack) > 1 and stack[-2][0] == stack[-1][0]:
            right, left = stack.pop(), stack.pop()
            merged = (left[0] + 1, left[1] >> 1, node_hash(left[2], right[2]))
            made[(merged[0], merged[1])] = merged[2]
            stack.append(merged)
    return made
