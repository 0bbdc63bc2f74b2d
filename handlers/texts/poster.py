"""What constituents read on printed QR posters and door-plate stickers."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

WEEKDAY_NAMES = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")

POSTER_HEADLINE = "有事找代表  扫码来反映"
POSTER_STEPS: Sequence[tuple[str, str]] = (
    ("扫码", "用微信扫一扫上方的二维码"),
    ("描述问题", "用文字、照片或位置说清楚是什么事、在哪里"),
    ("收到编号和答复", "马上收到诉求编号，代表办理后在微信里答复您"),
)
POSTER_DEPUTIES_HEAD = "本站代表"
POSTER_NO_DEPUTIES = "代表名单以联络站公布为准"
STICKER_HINT = "微信扫码，向人大代表反映问题"


def duty_days(weekdays: Iterable[int]) -> str:
    """Duty weekdays as 周一、周三 or 周一至周四 (runs of three or more become a range)."""
    days = sorted(set(weekdays))
    if not days:
        return "不定期接待"
    runs: list[list[int]] = []
    for day in days:
        if runs and day == runs[-1][-1] + 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    parts: list[str] = []
    for run in runs:
        if len(run) >= 3:
            parts.append(f"{WEEKDAY_NAMES[run[0]]}至{WEEKDAY_NAMES[run[-1]]}")
        else:
            parts.extend(WEEKDAY_NAMES[d] for d in run)
    return "、".join(parts)


def poster_footer(body: str, address: str | None) -> str:
    """The poster's last line: who runs the station and where it is."""
    return f"{body}　{address}" if address else body


def sticker_label(plate: str) -> str:
    """A door-plate sticker's label: the household it stands for."""
    return plate
