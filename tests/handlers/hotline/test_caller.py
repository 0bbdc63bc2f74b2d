"""Callers: the keyed hash of the normalised phone and scrubbing the caller's own details."""

from __future__ import annotations

import pytest

from handlers.hotline.caller import caller_hash, normalise_phone, scrub_known

KEY = b"test-key-0123456789"


@pytest.mark.parametrize(
    "raw", ["13812345678", "138 1234 5678", "138-1234-5678", "+86 13812345678", "008613812345678",
            "１３８１２３４５６７８"],
)  # fmt: skip
def test_one_phone_written_many_ways_hashes_the_same(raw: str):
    assert normalise_phone(raw) == "13812345678"
    assert caller_hash(KEY, raw) == caller_hash(KEY, "13812345678")


def test_the_hash_is_keyed_and_hides_the_number():
    h = caller_hash(KEY, "13812345678")
    assert h is not None and len(h) == 64 and "13812345678" not in h
    assert caller_hash(b"another-key-0123456", "13812345678") != h
    assert caller_hash(KEY, "13812345679") != h


def test_no_digits_means_no_hash():
    assert caller_hash(KEY, "无") is None
    assert caller_hash(KEY, "-") is None


def test_landlines_keep_their_area_code():
    assert normalise_phone("0579-85236617") == "057985236617"


def test_scrub_stars_the_callers_phone_however_spaced_and_their_name():
    text = "张伟来电，电话 138 1234 5678，请回电张伟。另一个号码13900001111不是他的。"
    out = scrub_known(text, "张伟", "13812345678")
    assert "138 **** 5678" in out and "张*来电" in out and "请回电张*" in out
    assert "1234" not in out.replace("13900001111", "")
    assert "13900001111" in out  # only the caller's own number: the masker handles others


def test_scrub_leaves_text_alone_without_caller_details():
    assert scrub_known("路灯坏了", "", "") == "路灯坏了"
    assert scrub_known("编号12345678901234", "", "12345") == "编号12345678901234"
