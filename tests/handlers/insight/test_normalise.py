"""WeChat input: width, stickers, emoji, voice fillers and input slips."""

from __future__ import annotations

import pytest

from handlers.insight.normalise import compact, normalise


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("路灯坏了[捂脸][捂脸]", "路灯坏了"),
        ("太吵了😡😡🙏", "太吵了"),
        ("２号楼，电梯坏了！！！", "2号楼 电梯坏了"),
        ("反应一下无业不管的问题", "反映一下物业不管的问题"),
        ("红路灯坏了 燥音很大 以经一周了 投拆", "红绿灯坏了 噪音很大 已经一周了 投诉"),
        ("那个 嗯 小区门口 就是 垃圾没人收", "小区门口 垃圾没人收"),
        ("今朝落雨 阿拉困觉困不着", "今天下雨 我们睡觉困不着"),
        ("娃儿上学咋个办嘛", "孩子上学怎么办"),
        ("好好好好好吵", "好好吵"),
    ],
)
def test_normalise(raw: str, clean: str) -> None:
    assert normalise(raw) == clean


def test_compact_drops_spaces_and_is_idempotent() -> None:
    text = "那个 东门菜场  [发怒] 臭死了。。。"
    assert compact(text) == "东门菜场臭死了"
    assert normalise(normalise(text)) == normalise(text)


def test_fillers_inside_words_are_kept() -> None:
    # 就是 inside a clause is a word of the sentence, not a pause filler
    assert normalise("这就是问题") == "这就是问题"
