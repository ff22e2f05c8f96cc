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
