"""Deputy lists as offices keep them: XLSX/CSV with their own headers, names, no 编号."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy.orm import Session, sessionmaker

from storage.directory import (
    DirectoryImportError,
    ImportReport,
    export_directory,
    import_directory,
)
from storage.directory.roster import roster_table, write_roster

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "directory.yaml"
OFFICE_HEADER = ["序号", "姓名", "性别", "手机号", "所属联络站", "钉钉ID", "备注"]
VALID = "dh01 东湖镇人大代表联络站, gm01 东湖镇光明社区代表联络点, xs01 西山乡人大代表联络站"

Sessions = sessionmaker[Session]


def run_import(sessions: Sessions, path: Path, **kwargs: Any) -> ImportReport:
    with sessions.begin() as session:
        return import_directory(session, path, **kwargs)


def refused(sessions: Sessions, path: Path) -> list[str]:
    with sessions.begin() as session, pytest.raises(DirectoryImportError) as caught:
        import_directory(session, path)
    return [str(e) for e in caught.value.report.errors]


def dump(sessions: Sessions) -> dict[str, Any]:
    with sessions() as session:
        return export_directory(session)


def deputies(sessions: Sessions) -> dict[str, dict[str, Any]]:
    return {d["code"]: d for d in dump(sessions)["deputies"]}


def office_xlsx(path: Path, rows: list[list[Any]], header: list[str] = OFFICE_HEADER) -> Path:
    """A sheet the way an office makes one: a title row, its own columns, names not codes."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "代表名单"
    sheet.append(["青溪县东湖镇人大代表联系名单（2026年12月）"])
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


@pytest.fixture()
def directory(sessions: Sessions) -> Sessions:
    """The example county (stations dh01, gm01, xs01; deputies d001–d006)."""
    run_import(sessions, EXAMPLE)
    return sessions


def test_office_sheet_imports_new_deputies_with_station_names(
    directory: Sessions, tmp_path: Path
) -> None:
    path = office_xlsx(
        tmp_path / "名单.xlsx",
        [
            [1, "孙悦", "女", 13900000011, "东湖镇人大代表联络站", "dt_sunyue", "新任"],
            [2, "钱进", "男", "139 0000 0012", "gm01、西山乡人大代表联络站", "dt_qianjin", None],
        ],
    )
    report = run_import(directory, path)
    assert report.created == {"deputies": 2} and report.warnings == []  # 性别/备注: no warning
    added = {d["name"]: d for d in deputies(directory).values() if d["code"] not in EXISTING}
    assert {d["code"] for d in added.values()} == {"d007", "d008"}  # next free codes
    assert added["孙悦"]["stations"] == ["dh01"] and added["孙悦"]["phone"] == "13900000011"
    assert added["钱进"]["stations"] == ["gm01", "xs01"] and added["钱进"]["phone"] == "13900000012"
    # the same sheet again: the rows are the same people, matched by DingTalk id and phone
    again = run_import(directory, path)
    assert again.unchanged == {"deputies": 2} and again.changed == 0


EXISTING = {f"d00{n}" for n in range(1, 7)}


def test_rows_without_code_update_the_deputy_with_that_dingtalk_id_or_phone(
    directory: Sessions, tmp_path: Path
) -> None:
    path = office_xlsx(
        tmp_path / "更新.xlsx",
        [
            [1, "张明", "男", "13911112222", "东湖镇人大代表联络站", "dt_zhangming", None],
            [2, "李芳", "女", "13800000002", "gm01", "", None],  # no DingTalk id: by phone
        ],
    )
    report = run_import(directory, path)
    assert report.updated == {"deputies": 2} and report.created == {"deputies": 0}
    after = deputies(directory)
    assert after["d001"]["phone"] == "13911112222" and after["d001"]["stations"] == ["dh01"]
    assert after["d002"]["stations"] == ["gm01"]


def test_wrong_station_name_names_row_value_and_valid_stations(
    directory: Sessions, tmp_path: Path
) -> None:
    before = dump(directory)
    path = office_xlsx(
        tmp_path / "错站.xlsx",
        [
            [1, "孙悦", "女", "13900000011", "东湖镇人大代表联络站", "dt_sunyue", None],
            [2, "钱进", "男", "13900000012", "东湖联络站", "dt_qianjin", None],
        ],
    )
    assert refused(directory, path) == [
        f"deputies row 4: stations: unknown station '东湖联络站' (valid: {VALID})"
    ]
    assert dump(directory) == before  # not even the good row


def test_same_people_under_other_codes_are_refused_as_duplicates(
    directory: Sessions, tmp_path: Path
) -> None:
    before = dump(directory)
    path = office_xlsx(
        tmp_path / "重编号.xlsx",
        [
            ["A-001", "张明", "13800000001", "dh01", "dt_zhangming"],
            ["A-002", "李芳", "13800000002", "dh01", "dt_lifang_new"],  # same phone only
        ],
        header=["编号", "姓名", "手机号", "联络站", "钉钉账号"],
    )
    errors = refused(directory, path)
    assert errors == [
        "deputies row 3: code: duplicate: 'A-001' is a new 编号, but this person is already "
        "deputy 'd001' (张明) (same 钉钉ID 'dt_zhangming' and phone '13800000001'); "
        "use 编号 'd001' or leave 编号 empty",
        "deputies row 4: code: duplicate: 'A-002' is a new 编号, but this person is already "
        "deputy 'd002' (李芳) (same phone '13800000002'); use 编号 'd002' or leave 编号 empty",
    ]
    assert dump(directory) == before


def test_a_row_matching_two_stored_deputies_is_ambiguous(
    directory: Sessions, tmp_path: Path
) -> None:
    path = office_xlsx(
        tmp_path / "歧义.xlsx",
        [[1, "张明", "男", "13800000002", "dh01", "dt_zhangming", None]],  # 李芳's phone
    )
    (error,) = refused(directory, path)
    assert error.startswith("deputies row 3: ambiguous: this row matches more than one")
    assert "'d001' (张明)" in error and "'d002' (李芳)" in error and "give its 编号" in error


def test_bad_phone_is_refused_with_its_row(directory: Sessions, tmp_path: Path) -> None:
    path = office_xlsx(
        tmp_path / "电话.xlsx", [[1, "孙悦", "女", "1390000001X", "dh01", "dt_sunyue", None]]
    )
    (error,) = refused(directory, path)
    assert error.startswith("deputies row 3: phone: '1390000001X' is not a phone number")


def test_two_rows_for_one_new_person_are_refused(directory: Sessions, tmp_path: Path) -> None:
    path = office_xlsx(
        tmp_path / "重复行.xlsx",
        [
            [1, "孙悦", "女", "13900000011", "dh01", "dt_sunyue", None],
            [2, "孙悦", "女", "13900000011", "dh01", "dt_sunyue2", None],
        ],
    )
    (error,) = refused(directory, path)
    assert error == "deputies row 4: phone: '13900000011' is also used by 'd007' (row 3)"


def test_unknown_column_is_ignored_with_a_warning(directory: Sessions, tmp_path: Path) -> None:
    path = office_xlsx(
        tmp_path / "多列.xlsx",
        [["d001", "张明", "13800000001", "县人大常委会"]],
        header=["编号", "姓名", "联系电话", "所在单位"],
    )
    report = run_import(directory, path)
    assert report.unchanged == {"deputies": 1}
    assert [str(w) for w in report.warnings] == [
        "多列.xlsx row 2: unknown column '所在单位' ignored (known: code/编号/代表编号, "
        "name/姓名/代表姓名, dingtalk_user_id/钉钉ID/钉钉账号, level/层级/代表层级, "
        "phone/手机号/手机, stations/所属联络站/联络站, duty/值班/值班安排, active/是否在任/在任)"
    ]


def test_gbk_csv_office_sheet(directory: Sessions, tmp_path: Path) -> None:
    text = (
        "序号,姓名,性别,联系电话,联络站,钉钉账号,职务,代表层级\r\n"
        "1,孙悦,女,13900000011,西山乡人大代表联络站,dt_sunyue,村委会主任,乡镇\r\n"
    )
    path = tmp_path / "名单.csv"
    path.write_bytes(text.encode("gbk"))
    assert run_import(directory, path).created == {"deputies": 1}
    (new,) = [d for c, d in deputies(directory).items() if c not in EXISTING]
    assert (new["name"], new["stations"], new["level"]) == ("孙悦", ["xs01"], "township")


def test_dry_run_reports_changes_and_writes_nothing(directory: Sessions, tmp_path: Path) -> None:
    before = dump(directory)
    path = office_xlsx(
        tmp_path / "试.xlsx",
        [
            [1, "孙悦", "女", "13900000011", "dh01", "dt_sunyue", None],
            [2, "张明", "男", "13911112222", "dh01", "dt_zhangming", None],
        ],
    )
    report = run_import(directory, path, dry_run=True)
    assert (report.created, report.updated) == ({"deputies": 1}, {"deputies": 1})
    assert report.changes[0] == "create deputy 'd007' (孙悦)"
    assert report.changes[1].startswith("update deputy 'd001' (张明): phone 13800000001 → ")
    assert dump(directory) == before


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_export_then_import_changes_nothing(
    directory: Sessions, tmp_path: Path, suffix: str
) -> None:
    with directory() as session:
        table = roster_table(session)
    assert table[0] == [
        "序号",
        "编号",
        "姓名",
        "手机号",
        "所属联络站",
        "钉钉ID",
        "层级",
        "值班",
        "是否在任",
    ]
    assert table[1] == [
        "1",
        "d001",
        "张明",
        "13800000001",
        "东湖镇人大代表联络站、东湖镇光明社区代表联络点",
        "dt_zhangming",
        "县级",
        "东湖镇人大代表联络站:周一,周三;东湖镇光明社区代表联络点:周五",
        "是",
    ]
    assert table[4][7] == "周一,周二,周三,周四"  # one station: just the days
    path = tmp_path / f"export{suffix}"
    write_roster(table, path)
    before = dump(directory)
    report = run_import(directory, path)
    assert report.unchanged == {"deputies": 6} and report.changed == 0
    assert report.warnings == [] and dump(directory) == before


def test_station_names_that_would_not_read_back_are_exported_as_codes(
    directory: Sessions, tmp_path: Path
) -> None:
    extra = tmp_path / "extra.yaml"
    extra.write_text(
        "stations:\n"
        "  - {code: hb01, name: 东湖镇 湖滨联络点, region: donghu}\n"
        "  - {code: hb02, name: 东湖镇人大代表联络站, region: donghu}\n"  # dh01's name again
        "deputies:\n"
        "  - {code: d010, name: 何欣, dingtalk_user_id: dt_hexin, stations: [hb01, hb02],\n"
        "     duty: {hb01: [周一], hb02: [周二]}}\n",
        "utf-8",
    )
    run_import(directory, extra)
    with directory() as session:
        table = roster_table(session)
    (row,) = [r for r in table if r[1] == "d010"]
    assert (row[4], row[7]) == ("hb01、hb02", "hb01:周一;hb02:周二")
    path = tmp_path / "back.csv"
    write_roster(table, path)
    assert run_import(directory, path).unchanged == {"deputies": 7}
