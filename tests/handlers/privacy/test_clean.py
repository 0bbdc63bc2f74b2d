"""Ordinary complaint sentences full of surname characters: nothing in them is masked."""

from __future__ import annotations

from pathlib import Path

from handlers.privacy import find_spans

SENTENCES = Path(__file__).resolve().parents[2] / "fixtures" / "privacy" / "clean_sentences.txt"


def test_no_personal_data_in_ordinary_sentences() -> None:
    lines = SENTENCES.read_text("utf-8").splitlines()
    sentences = [ln for ln in lines if ln and not ln.startswith("#")]
    assert len(sentences) > 150
    touched = {t: [t[s.start : s.end] for s in find_spans(t)] for t in sentences}
    assert {t: v for t, v in touched.items() if v} == {}
