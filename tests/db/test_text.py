from db.text import fold, name_sort_key


def test_fold_strips_diacritics_including_d_stroke() -> None:
    assert fold("Nguyễn  Văn Ánh") == "nguyen van anh"
    assert fold("ĐẶNG Thị Đào") == "dang thi dao"


def test_fold_handles_decomposed_input_the_same_as_composed() -> None:
    import unicodedata

    name = "Trần Thị Hương"
    assert fold(unicodedata.normalize("NFD", name)) == fold(name)


def test_names_sort_by_given_name_first() -> None:
    names = ["Nguyễn Văn Bình", "Trần Thị An", "Lê Văn Anh"]
    assert sorted(names, key=name_sort_key) == ["Trần Thị An", "Lê Văn Anh", "Nguyễn Văn Bình"]


def test_names_sort_in_vietnamese_alphabetical_order() -> None:
    """ă and â come after a, đ after d, ơ after ô after o, ư after u; tones decide only between names
    spelt alike (ngang, huyền, hỏi, ngã, sắc, nặng)."""
    ordered = [
        "Nguyễn Văn Dũng",  # d
        "Nguyễn Hữu Định",  # đ: after every d
        "Nguyễn Xuân Đông",
        "Nguyễn Bích Hạnh",  # a
        "Nguyễn Bích Hằng",  # ă: after every a
        "Lê Thị Hân",  # â
    ]
    assert sorted(reversed(ordered), key=name_sort_key) == ordered
    tones = ["Lê An", "Lê Àn", "Lê Ản", "Lê Ãn", "Lê Án", "Lê Ạn"]
    assert sorted(reversed(tones), key=name_sort_key) == tones
    assert sorted(["Lê Văn Anh", "Lê An"], key=name_sort_key) == ["Lê An", "Lê Văn Anh"]  # a shorter given name first


def test_the_sort_key_fits_its_column_and_is_plain_ascii() -> None:
    key = name_sort_key("Nguyễn " * 60 + "Ánh")
    assert len(key) <= 160 and key.isascii() and "\x00" not in key
