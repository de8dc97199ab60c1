from rnalm.errors import InvalidSequenceError, cli_spelling, option, spelled


def test_options_are_spelled_as_the_entry_point_in_force():
    assert option("seq_column") == "seq_column="
    assert option("unknown", "mask") == "unknown='mask'"
    with spelled(cli_spelling):
        assert option("seq_column") == "--seq-column"
        assert option("unknown", "mask") == "--unknown mask"
    assert option("seq_column") == "seq_column="


def test_invalid_letter_error_names_the_option_in_cli_spelling():
    with spelled(cli_spelling):
        msg = str(InvalidSequenceError("r1", 3, "!", "rna", "ACGU"))
    assert "--unknown mask" in msg and "unknown=" not in msg
