"""Accent-insensitive forms of Vietnamese text, for search and for a stable sort key."""

import unicodedata

# NFD does not decompose đ/Đ (it is a letter of its own, not d plus a mark), so it is mapped by hand.
_EXTRA = str.maketrans({"đ": "d", "Đ": "d"})


def fold(text: str) -> str:
    """Lower-case, strip diacritics, collapse white space: "Nguyễn  Văn Ánh" -> "nguyen van anh"."""
    decomposed = unicodedata.normalize("NFD", text.translate(_EXTRA))
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(bare.lower().split())


def name_sort_key(full_name: str) -> str:
    """Vietnamese lists sort by given name (the last word), then by the whole name."""
    folded = fold(full_name)
    given = folded.rsplit(" ", 1)[-1]
    return f"{given} {folded}"
