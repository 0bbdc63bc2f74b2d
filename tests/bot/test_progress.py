"""The stderr progress bar: redrawn in place on a terminal, one line per phase otherwise."""

from __future__ import annotations

import io

from bot.progress import ProgressBar


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_the_bar_is_redrawn_and_each_phase_ends_its_line():
    out = Terminal()
    bar = ProgressBar({"check": "checking", "write": "writing"}, stream=out, width=10)
    bar("check", 0, 100)
    bar("check", 50, 100)
    bar("write", 100, 100)
    bar.finish()
    text = out.getvalue()
    assert text.startswith("\rchecking [----------] 0/100   0%")
    assert "\rchecking [#####-----] 50/100  50%" in text
    lines = text.split("\n")
    assert len(lines) == 3 and lines[2] == ""  # two phases, two finished lines
    assert "writing [##########] 100/100 100%" in lines[1]


def test_without_a_terminal_only_one_line_per_phase_is_written():
    out = io.StringIO()
    bar = ProgressBar({"check": "checking"}, stream=out)
    for done in range(0, 10_001, 200):
        bar("check", done, 10_000)
    bar.finish()
    bar.finish()  # idempotent
    lines = out.getvalue().splitlines()
    assert len(lines) == 1 and "10,000/10,000 100%" in lines[0] and "\r" not in out.getvalue()


def test_an_unknown_total_shows_the_count_and_more_than_the_total_is_capped():
    out = io.StringIO()
    bar = ProgressBar({}, stream=out)
    bar("check", 1234, None)
    bar("write", 120, 100)
    bar.finish()
    first, second = out.getvalue().splitlines()
    assert first.startswith("check: 1,234 rows")
    assert "100/100 100%" in second
