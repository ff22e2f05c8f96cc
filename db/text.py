"""Vietnamese text as the database needs it: an accent-insensitive form for search, and a sort key in
Vietnamese alphabetical order (the order of a printed list of officials)."""

import unicodedata
from typing import Final

# NFD does not decompose đ/Đ (it is a letter of its own, not d plus a mark), so it is mapped by hand.
_EXTRA = str.maketrans({"đ": "d", "Đ": "d"})

# The Vietnamese alphabet, with the Latin letters it lacks (f, j, w, z) where Latin puts them. A, Ă, Â
# are three letters: "Hằng" comes after every "Hạnh", "Đông" after every "Dũng".
_ALPHABET: Final = (
    "a",
    "ă",
    "â",
    "b",
    "c",
    "d",
    "đ",
    "e",
    "ê",
    "f",
    "g",
    "h",
    "i",
    "j",
    "k",
    "l",
    "m",
    "n",
    "o",
    "ô",
    "ơ",
    "p",
    "q",
    "r",
    "s",
    "t",
    "u",
    "ư",
    "v",
    "w",
    "x",
    "y",
    "z",
)
# Each letter as one printable ASCII character above the digits, in alphabet order.
_LETTER_CODE: Final = {letter: chr(ord("A") + index) for index, letter in enumerate(_ALPHABET)}
# Tones, compared only between names whose letters are the same: ngang, huyền, hỏi, ngã, sắc, nặng.
_TONE_CODE: Final = {"\u0300": "1", "\u0309": "2", "\u0303": "3", "\u0301": "4", "\u0323": "5"}
_TONE_MARKS: Final = frozenset(_TONE_CODE)
# Below every character of a primary key (a space included): a shorter name sorts first.
_LEVELS: Final = "\x01"
NAME_SORT_LENGTH: Final = 160  # the column's width


def fold(text: str) -> str:
    """Lower-case, strip diacritics, collapse white space: "Nguyễn  Văn Ánh" -> "nguyen van anh"."""
    decomposed = unicodedata.normalize("NFD", text.translate(_EXTRA))
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(bare.lower().split())


def _letters(text: str) -> tuple[str, str]:
    """(letters, tones) of a text: each letter's code, and the tone mark it carries ("0" for none)."""
    letters, tones = [], []
    for char in " ".join(text.lower().split()):
        decomposed = unicodedata.normalize("NFD", char)
        tone = next((_TONE_CODE[mark] for mark in decomposed if mark in _TONE_MARKS), "0")
        letter = unicodedata.normalize("NFC", "".join(mark for mark in decomposed if mark not in _TONE_MARKS))
        letters.append(_LETTER_CODE.get(letter, letter))
        if letter in _LETTER_CODE:
            tones.append(tone)
    return "".join(letters), "".join(tones)


def vietnamese_key(text: str) -> str:
    """A key whose plain byte order is Vietnamese alphabetical order: letters first (ă after a, đ after
    d), tones only to order names whose letters are equal."""
    letters, tones = _letters(text)
    return f"{letters}{_LEVELS}{tones}"


def name_sort_key(full_name: str) -> str:
    """Vietnamese lists sort by given name (the last word), then by the whole name, each in Vietnamese
    alphabetical order; tones decide only between names spelt with the same letters."""
    words = full_name.split()
    given_letters, given_tones = _letters(words[-1] if words else "")
    letters, tones = _letters(full_name)
    return f"{given_letters} {letters}{_LEVELS}{given_tones} {tones}"[:NAME_SORT_LENGTH]
