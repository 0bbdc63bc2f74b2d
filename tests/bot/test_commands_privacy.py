"""`lianxin mask`: the JSONL contract, bad lines, stdin, and the masking log filter."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from bot.logmask import MaskingFilter, install

LINES = [
    {"id": 1, "text": "我叫王建华，手机13812345678"},
    {"id": "b", "text": "订单号13812345678，王阿姨说的"},
    {"id": [3, "x"], "text": "住阳光花园3幢2单元501室"},
]


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[dict], str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, [json.loads(ln) for ln in captured.out.splitlines()], captured.err


def test_mask_input_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in LINES), "utf-8")
    code, out, err = _run(capsys, "mask", "--input", str(src))
    assert code == 0 and err == ""
    assert [o["id"] for o in out] == [1, "b", [3, "x"]]
    assert out[0] == {
        "id": 1,
        "masked": "我叫王**，手机138****5678",
        "spans": [
            {"start": 2, "end": 5, "type": "name"},
            {"start": 8, "end": 19, "type": "mobile"},
        ],
    }
    assert out[1]["masked"] == LINES[1]["text"] and out[1]["spans"] == []
    assert out[2]["masked"] == "住阳光花园3幢2单元***室"


def test_masked_output_fed_back_in_comes_out_unchanged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the two texts the idempotence property found; the contract's shape holds for both passes
    texts = ["手机一五九一二三四五六七八村12-2-601", "0号012-2-601"]
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"id": n, "text": t}) + "\n" for n, t in enumerate(texts)))
    code, first, _ = _run(capsys, "mask", "--input", str(src))
    assert code == 0 and all(set(o) == {"id", "masked", "spans"} for o in first)
    assert [(sp["type"], sp["start"], sp["end"]) for sp in first[0]["spans"]] == [
        ("mobile", 2, 13),
        ("address", 13, 22),
    ]
    again = tmp_path / "again.jsonl"
    again.write_text(
        "".join(json.dumps({"id": o["id"], "text": o["masked"]}) + "\n" for o in first)
    )
    code, second, _ = _run(capsys, "mask", "--input", str(again))
    assert code == 0
    assert [o["masked"] for o in second] == [o["masked"] for o in first]
    assert all(o["spans"] == [] for o in second)


def test_mask_output_is_not_ascii_escaped(capsys: pytest.CaptureFixture[str]) -> None:
    main(["mask", "--text", "我叫王建华"])
    assert "王**" in capsys.readouterr().out


def test_mask_text_is_one_line_of_the_same_contract(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "mask", "--text", "我叫王建华，手机13812345678")
    assert code == 0 and err == ""
    assert out == [
        {
            "id": None,
            "masked": "我叫王**，手机138****5678",
            "spans": [
                {"start": 2, "end": 5, "type": "name"},
                {"start": 8, "end": 19, "type": "mobile"},
            ],
        }
    ]


def test_many_lines_keep_their_input_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # every type, and clean lines between them: one output line per input line, same order
    texts = [
        "手机13812345678",
        "订单号13812345678",
        "座机0579-85236617",
        "身份证440305195907210499",
        "车牌浙A·12345",
        "我叫李秀英",
        "住阳光花园3幢2单元501室",
        "卡号6217007777412157",
        "邮箱zhangsan@qq.com",
        "王阿姨说的",
    ] * 30
    src = tmp_path / "in.jsonl"
    lines = [json.dumps({"id": i, "text": t}, ensure_ascii=False) for i, t in enumerate(texts)]
    src.write_text("\n".join(lines) + "\n", "utf-8")
    code, out, _ = _run(capsys, "mask", "--input", str(src))
    assert code == 0 and [o["id"] for o in out] == list(range(len(texts)))
    kinds = [[sp["type"] for sp in o["spans"]] for o in out[:10]]
    assert kinds == [["mobile"], [], ["landline"], ["id_card"], ["plate"], ["name"],
                     ["address"], ["bank_card"], ["email"], []]  # fmt: skip
    for o, t in zip(out, texts, strict=True):
        assert all(t[sp["start"] : sp["end"]] for sp in o["spans"])
        assert len(o["masked"]) == len(t)


def test_bad_lines_are_reported_and_skipped(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    src = tmp_path / "in.jsonl"
    good = json.dumps(LINES[0], ensure_ascii=False)
    src.write_text(f'{good}\nnot json\n{{"id": 2}}\n\n[1]\n{good}\n', "utf-8")
    code, out, err = _run(capsys, "mask", "--input", str(src))
    assert code == 1
    assert len(out) == 2 and all(o["id"] == 1 for o in out)
    assert "line 2: not valid JSON" in err
    assert 'line 3: no string "text"' in err
    assert "line 5: not a JSON object" in err
    assert "3 bad line(s)" in err


def test_missing_file_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    code, out, err = _run(capsys, "mask", "--input", str(tmp_path / "none.jsonl"))
    assert code == 2 and out == [] and "cannot read" in err


def test_mask_reads_stdin_in_a_subprocess(tmp_path: Path) -> None:
    data = "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in LINES)
    proc = subprocess.run(
        [sys.executable, "-m", "bot.cli", "mask", "--input", "-"],
        input=data.encode(),
        capture_output=True,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    out = [json.loads(ln) for ln in proc.stdout.decode().splitlines()]
    assert [o["id"] for o in out] == [1, "b", [3, "x"]]
    assert out[0]["masked"] == "我叫王**，手机138****5678"


def test_log_lines_are_masked(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("lianxin.test.logmask")
    handler = caplog.handler
    install([handler])
    install([handler])  # idempotent: one filter per handler
    assert sum(isinstance(f, MaskingFilter) for f in handler.filters) == 1
    with caplog.at_level(logging.INFO, logger="lianxin.test.logmask"):
        logger.info("callback from %s: %s", "13812345678", "我叫王建华")
        try:
            raise ValueError("bad id 440305195907210499")
        except ValueError:
            logger.exception("failed for %s", "15867231094")
    text = caplog.text
    assert "13812345678" not in text and "138****5678" in text
    assert "王建华" not in text and "王**" in text
    assert "440305195907210499" not in text and "15867231094" not in text
    handler.filters = [f for f in handler.filters if not isinstance(f, MaskingFilter)]


def test_cli_logging_setup_installs_the_filter(capsys: pytest.CaptureFixture[str]) -> None:
    main(["mask", "--text", "无"])
    capsys.readouterr()
    root = logging.getLogger().handlers
    assert any(isinstance(f, MaskingFilter) for h in root for f in h.filters)
    for h in root:
        h.filters = [f for f in h.filters if not isinstance(f, MaskingFilter)]
