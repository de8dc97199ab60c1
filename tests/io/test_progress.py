import io

from rnalm.io.progress import Progress, summary, wanted


def test_summary_line_counts_time_and_rate():
    assert summary(1090, 66.2) == "1090 records in 66.2 s (16.5 records/s)"
    assert summary(1, 0.5) == "1 record in 0.5 s (2.0 records/s)"


def test_bar_only_on_a_terminal_unless_asked():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    assert not wanted(None, io.StringIO())
    assert wanted(None, Tty())
    assert wanted(True, io.StringIO())
    assert not wanted(False, Tty())


def test_progress_counts_without_drawing_when_hidden():
    out = io.StringIO()
    with Progress(3, "fold", show=False, stream=out) as p:
        p.update(2)
        p.update()
    assert p.count == 3 and out.getvalue() == ""
    assert p.summary().startswith("3 records in ")


def test_progress_draws_when_forced():
    out = io.StringIO()
    with Progress(2, "predict", show=True, stream=out) as p:
        p.update(2)
    assert "predict" in out.getvalue() and "2/2" in out.getvalue()
