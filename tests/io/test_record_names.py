from rnalm.io.record_names import MAX_FILE_NAME_BYTES, file_name, record_name


def test_ordinary_ids_keep_their_names_and_separators_are_escaped():
    assert record_name("utr_1") == "utr_1"
    assert record_name("a/b") == "a%2Fb"
    assert record_name("..") == "%2E%2E"


def test_long_ids_are_shortened_with_a_hash():
    name = file_name("x" * 500)
    assert len(name.encode()) <= MAX_FILE_NAME_BYTES and "~" in name
    assert file_name("x" * 500) != file_name("x" * 499 + "y")
