"""Header rows of hotline exports: aliases, a title row above, repeats and missing columns."""

from __future__ import annotations

from handlers.hotline.columns import find_header, resolve


def test_aliases_of_each_field_are_recognised():
    cols = resolve(
        ["工单号", "受理时间", "来电内容", "事发地址", "所属街道", "诉求分类", "办理性质",
         "办理单位", "工单状态", "办结时间", "办理结果", "解决情况", "满意度", "来电人姓名",
         "来电号码"],
        1,
    )  # fmt: skip
    assert not cols.problems and not cols.ignored
    assert set(cols.index) == {
        "ticket_no", "called_at", "content", "address", "region", "category", "nature",
        "handling_unit", "status", "closed_at", "answer", "resolved", "satisfied",
        "caller_name", "caller_phone",
    }  # fmt: skip


def test_headers_compare_without_spaces_bom_or_bracket_width():
    cols = resolve(["\ufeff工单 编号", "来电时间", "诉求内容", "所属乡镇／街道"], 1)
    assert cols.index == {"ticket_no": 0, "called_at": 1, "content": 2, "region": 3}


def test_the_header_is_found_below_title_rows_and_unknown_columns_are_ignored():
    rows: list[list[object]] = [
        ["青溪县12345热线工单导出"],
        [None],
        ["序号", "工单编号", "来电时间", "诉求内容", "身份证号", "备注"],
    ]
    cols = find_header(rows)
    assert cols is not None and cols.header_row == 3
    assert cols.ignored == ["序号", "身份证号", "备注"]
    assert cols.index == {"ticket_no": 1, "called_at": 2, "content": 3}


def test_repeated_and_missing_required_columns_are_problems():
    cols = resolve(["工单编号", "工单号", "诉求内容"], 1)
    assert "column '工单号' repeats 工单编号" in cols.problems
    assert "no 来电时间 column" in cols.problems


def test_no_header_row_at_all():
    assert find_header([["a", "b"], ["c"]]) is None
