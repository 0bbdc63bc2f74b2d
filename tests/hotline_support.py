"""Fictional 12345 exports for tests and bench/hotline_import.py: every person is made up.

Phones and resident ID numbers are random but well-formed (ID numbers carry a valid MOD 11-2
check character and birth date), so the masker has real work to do and the tests can look for
every one of them in the database afterwards.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import openpyxl

HEADER = [
    "序号",
    "工单编号",
    "来电时间",
    "来电人",
    "联系电话",
    "身份证号",
    "诉求内容",
    "诉求地址",
    "所属乡镇/街道",
    "问题分类",
    "工单性质",
    "承办单位",
    "办理状态",
    "办结时间",
    "答复内容",
    "是否解决",
    "是否满意",
]
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰建国志红"
_ESTATES = ("阳光花园", "湖滨新村", "锦绣家园", "东湖人家", "西山公寓")
_PATHS = (
    ("城乡建设->市政设施->路灯", "小区门口的路灯坏了好几天，晚上很黑"),
    ("城乡建设->市政设施->井盖", "路口井盖松动，车一过就咣当响"),
    ("城市管理->市容环卫", "垃圾桶满了没人清运，味道很大"),
    ("生态环境->噪声污染", "夜里施工噪音太大，影响休息"),
    ("城乡建设->物业管理", "物业电梯经常坏，业主投诉无人理"),
    ("交通运输->公交", "公交班次太少，早上等车要半小时"),
    ("农业农村->农田水利", "水渠堵塞，田里积水"),  # not in the default mapping
)
_REGIONS = ("东湖镇", "西山乡", "东湖街道")  # 东湖街道: the hotline's name, mapped by --mapping
_WEIGHTS = (0.6, 0.3, 0.1)
STATUS_V1 = ("办理中", "已办结", "待回访", "已派单")


@dataclass
class Export:
    """What went into a generated file: every raw personal value, for looking for leaks."""

    path: Path
    rows: int
    phones: set[str] = field(default_factory=set)
    id_numbers: set[str] = field(default_factory=set)
    names: set[str] = field(default_factory=set)
    statuses: dict[str, str] = field(default_factory=dict)  # ticket_no → 办理状态


def mobile(rng: random.Random) -> str:
    """A fictional mobile number (1[3-9] and nine digits)."""
    return "1" + rng.choice("3456789") + "".join(rng.choice("0123456789") for _ in range(9))


def id_number(rng: random.Random) -> str:
    """A fictional 18-character resident ID with a valid birth date and check character."""
    born = datetime(1950, 1, 1) + timedelta(days=rng.randrange(0, 365 * 55))
    body = f"3303{rng.randrange(10, 99)}{born:%Y%m%d}{rng.randrange(0, 999):03d}"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    check = "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]
    return body + check


def ticket_no(i: int) -> str:
    """The 工单编号 of row i."""
    return f"QX12345-2026-{i:06d}"


def write_export(
    path: Path,
    rows: int,
    *,
    seed: int = 7,
    version: int = 1,
    title_row: bool = True,
) -> Export:
    """Write a fictional export; version 2 moves every 办理中 work order to 已办结."""
    rng = random.Random(seed)
    out = Export(path, rows)
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("工单")
    if title_row:
        sheet.append(["青溪县12345政务服务便民热线 工单导出（虚构数据）"])
    sheet.append(HEADER)
    start = datetime(2026, 10, 1, 8, 0)
    for i in range(1, rows + 1):
        values = _row(rng, i, start, version, out)
        sheet.append(values)
    book.save(path)
    return out


def _row(rng: random.Random, i: int, start: datetime, version: int, out: Export) -> list[object]:
    name = rng.choice(_SURNAMES) + "".join(rng.choice(_GIVEN) for _ in range(rng.choice((1, 2))))
    phone, other, idno = mobile(rng), mobile(rng), id_number(rng)
    out.phones.update((phone, other))
    out.id_numbers.add(idno)
    out.names.add(name)
    path, problem = rng.choice(_PATHS)
    estate = rng.choice(_ESTATES)
    floor, unit, block = rng.randrange(1, 20), rng.randrange(1, 4), rng.randrange(1, 30)
    room = f"{block}幢{unit}单元{floor}0{rng.randrange(1, 4)}室"
    content = rng.choice(
        (
            f"来电人{name}反映：{estate}{problem}。联系电话{phone}。",
            f"市民反映{estate}{problem}，请尽快处理。本人身份证号{idno}，电话{phone}。",
            f"{problem}，邻居的电话是{other}，可以一起联系。",
            f"我叫{name}，住{estate}{room}，{problem}。",
        )
    )
    called = start + timedelta(minutes=7 * i + rng.randrange(0, 5))
    status = rng.choice(STATUS_V1)
    # draw everything whatever the version, so both versions share every other value
    took, solved = timedelta(days=rng.randrange(1, 10)), rng.choice(("是", "否", "部分解决"))
    rated = rng.choice(("满意", "基本满意", "不满意", "未评价"))
    if version == 2 and status == "办理中":
        status = "已办结"
    closed = called + took if status == "已办结" else None
    out.statuses[ticket_no(i)] = status
    answer = (
        f"经核实，已安排维修。已电话联系{name}（{phone}）告知结果。" if status != "已派单" else ""
    )
    return [
        i,
        ticket_no(i),
        called,
        name,
        phone,
        idno,  # a column lianxin does not read: it must never be stored
        content,
        f"{estate}{room}",
        rng.choices(_REGIONS, _WEIGHTS)[0],
        path,
        rng.choice(("主办", "协办", "转办")),
        rng.choice(("东湖镇人民政府", "县住建局", "县城管局")),
        status,
        closed,
        answer,
        solved if closed else "",
        rated if closed else "",
    ]


def mapping_file(path: Path) -> Path:
    """A --mapping file: the hotline's 东湖街道 is our 东湖镇 (code donghu)."""
    path.write_text("regions:\n  东湖街道: donghu\n", encoding="utf-8")
    return path
