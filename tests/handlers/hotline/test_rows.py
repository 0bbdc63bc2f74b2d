"""Row checks: dates in Beijing time, statuses, regions, answers; every refusal names the row."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from handlers.hotline.mapping import default_mapping
from handlers.hotline.rows import Regions, RowChecker, RowError, Ticket
from handlers.hotline.values import local_datetime

TZ = ZoneInfo("Asia/Shanghai")
REGIONS = Regions.of([(1, "donghu", "东湖镇"), (2, "xishan", "西山乡"), (3, "xc1", "新城街道"),
                      (4, "xc2", "新城街道")])  # fmt: skip


def checker() -> RowChecker:
    return RowChecker(default_mapping(), REGIONS, TZ)


def cells(**over: object) -> dict[str, object]:
    base: dict[str, object] = {
        "ticket_no": "T-1",
        "called_at": "2026-10-08 09:30:00",
        "content": "路灯坏了",
        "status": "已办结",
        "closed_at": "2026/10/9 17:00",
        "region": "东湖镇",
        "category": "城乡建设/市政设施/路灯",
        "resolved": "是",
        "satisfied": "基本满意",
        "caller_name": "张伟",
        "caller_phone": "13812345678",
    }
    base.update(over)
    return base


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-10-08 09:30:00", datetime(2026, 10, 8, 1, 30, tzinfo=UTC)),
        ("2026/10/8 9:30", datetime(2026, 10, 8, 1, 30, tzinfo=UTC)),
        ("2026年10月8日 9时30分", datetime(2026, 10, 8, 1, 30, tzinfo=UTC)),
        ("2026-10-08", datetime(2026, 10, 7, 16, 0, tzinfo=UTC)),
        ("20261008093000", datetime(2026, 10, 8, 1, 30, tzinfo=UTC)),
        ("2026-10-08T09:30:00+08:00", datetime(2026, 10, 8, 1, 30, tzinfo=UTC)),
        (datetime(2026, 10, 8, 9, 30), datetime(2026, 10, 8, 1, 30, tzinfo=UTC)),
        (46303.5, datetime(2026, 10, 8, 4, 0, tzinfo=UTC)),  # an Excel serial date, 12:00
        ("", None),
        (None, None),
    ],
)
def test_local_times_become_utc(value: object, expected: datetime | None):
    assert local_datetime(value, TZ) == expected


@pytest.mark.parametrize("value", ["明天", "2026-13-01", "13812345678", 12.0, True])
def test_non_dates_are_refused(value: object):
    with pytest.raises(ValueError):
        local_datetime(value, TZ)


def test_a_good_row_becomes_a_ticket():
    t = checker().check(5, cells())
    assert isinstance(t, Ticket)
    assert t.row == 5 and t.ticket_no == "T-1" and t.status == "closed" and t.raw_status == "已办结"
    assert t.called_at == datetime(2026, 10, 8, 1, 30, tzinfo=UTC)
    assert t.closed_at == datetime(2026, 10, 9, 9, 0, tzinfo=UTC)
    assert t.region_id == 1 and t.raw_category == "城乡建设->市政设施->路灯"
    assert t.category == "市政设施(路灯/井盖)"
    assert (t.resolved, t.satisfied) == ("yes", "basic")


def test_an_unmapped_path_keeps_the_path_and_no_category():
    t = checker().check(2, cells(category="农业农村->农田水利"))
    assert isinstance(t, Ticket) and t.raw_category == "农业农村->农田水利" and t.category is None


def test_without_a_status_a_closing_date_means_closed():
    t = checker().check(2, cells(status=""))
    assert isinstance(t, Ticket) and t.status == "closed"
    t = checker().check(2, cells(status="", closed_at=""))
    assert isinstance(t, Ticket) and t.status == "accepted"


def test_a_region_code_or_a_mapped_name_is_accepted_a_blank_one_is_none():
    assert getattr(checker().check(2, cells(region="xishan")), "region_id", None) == 2
    mapping = default_mapping().extended({"regions": {"东湖街道": "donghu"}})
    got = RowChecker(mapping, REGIONS, TZ).check(2, cells(region="东湖街道"))
    assert isinstance(got, Ticket) and got.region_id == 1
    got = checker().check(2, cells(region=""))
    assert isinstance(got, Ticket) and got.region_id is None


@pytest.mark.parametrize(
    ("over", "needle"),
    [
        ({"ticket_no": ""}, "工单编号 is empty"),
        ({"ticket_no": "x" * 65}, "longer than 64"),
        ({"called_at": ""}, "来电时间 is empty"),
        ({"called_at": "昨天下午"}, "来电时间 '昨天下午' is not a date and time"),
        ({"closed_at": "2026-10-01"}, "办结时间 is earlier than 来电时间"),
        ({"content": ""}, "诉求内容 is empty"),
        ({"status": "神秘状态"}, "办理状态 '神秘状态' is unknown (known: 待受理"),
        ({"region": "北湖镇"}, "'北湖镇' is not one of our regions (known: 东湖镇、西山乡"),
        ({"region": "新城街道"}, "names more than one region"),
        ({"resolved": "也许"}, "是否解决 '也许' is unknown"),
        ({"satisfied": "还行吧"}, "是否满意 '还行吧' is unknown"),
        ({"nature": "主办协办转办督办交办直办" * 2}, "longer than 16"),
    ],
)
def test_bad_rows_say_why(over: dict[str, object], needle: str):
    got = checker().check(7, cells(**over))
    assert isinstance(got, RowError) and got.row == 7
    assert needle in got.reason and str(got).startswith("row 7: ")


def test_a_repeated_ticket_number_names_the_first_row():
    c = checker()
    assert isinstance(c.check(3, cells()), Ticket)
    got = c.check(9, cells())
    assert isinstance(got, RowError) and got.reason == "工单编号 'T-1' is already on row 3"


def test_a_map_to_an_unknown_region_code_is_a_row_error():
    mapping = default_mapping().extended({"regions": {"东湖街道": "nowhere"}})
    got = RowChecker(mapping, REGIONS, TZ).check(4, cells(region="东湖街道"))
    assert isinstance(got, RowError) and "'nowhere', which is not a region code" in got.reason


def test_values_quoted_in_messages_are_masked():
    got = checker().check(4, cells(called_at="13812345678"))
    assert isinstance(got, RowError) and "13812345678" not in got.reason
