"""Directory import: YAML, CSV, XLSX; upsert by code; all or nothing; idempotent; both DBs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openpyxl
import pytest
import yaml
from sqlalchemy import Engine, func, select
from sqlalchemy import text as sql
from sqlalchemy.orm import Session, sessionmaker

from storage.directory import (
    DirectoryImportError,
    ImportReport,
    RowError,
    export_directory,
    import_directory,
)
from storage.directory.rows import parse_days, parse_duty_text
from storage.models import Deputy, DeputyStation, Leave, Region, RosterSlot, SceneCode, Station

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "directory.yaml"
EXAMPLE_CSV = ROOT / "examples" / "deputies.csv"
FIXTURES = ROOT / "tests" / "fixtures" / "directory"

Sessions = sessionmaker[Session]


def run_import(sessions: Sessions, path: Path, **kwargs: Any) -> ImportReport:
    """Import in one committed transaction, as the CLI does."""
    with sessions.begin() as session:
        return import_directory(session, path, **kwargs)


def failed_import(sessions: Sessions, path: Path) -> list[RowError]:
    """Import a file expected to be refused; the caller's transaction still commits."""
    with sessions.begin() as session, pytest.raises(DirectoryImportError) as caught:
        import_directory(session, path)
    return caught.value.report.errors


def dump(sessions: Sessions) -> dict[str, Any]:
    with sessions() as session:
        return export_directory(session)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def where(errors: list[RowError]) -> list[tuple[str, int | str, int | None]]:
    return [(e.source, e.row, e.line) for e in errors]


# ---------------------------------------------------------------- the example, twice


def test_example_imports_then_reimport_changes_nothing(sessions: Sessions) -> None:
    first = run_import(sessions, EXAMPLE)
    assert first.created == {
        "regions": 4,
        "stations": 3,
        "deputies": 6,
        "leaves": 1,
        "staff": 2,
        "departments": 4,
        "scenes": 4,
    }
    assert sum(first.updated.values()) == 0 and first.errors == []
    exported = dump(sessions)

    second = run_import(sessions, EXAMPLE)
    assert second.unchanged == first.created
    assert second.changed == 0
    assert dump(sessions) == exported


def test_example_lands_in_the_models(sessions: Sessions) -> None:
    run_import(sessions, EXAMPLE)
    with sessions() as s:
        county = s.scalars(select(Region).where(Region.code == "qingxi")).one()
        assert (county.sla_claim_days, county.sla_answer_days, county.sla_close_days) == (1, 3, 15)
        assert county.office_group_id == "cid_qingxi_office=="
        assert county.parent is not None and county.parent.name == "云州市"
        gm01 = s.scalars(select(Station).where(Station.code == "gm01")).one()
        assert (gm01.lat, gm01.lng, gm01.region.code) == (29.0791, 119.9302, "donghu")
        zhang = s.scalars(select(Deputy).where(Deputy.code == "d001")).one()
        assert zhang.phone == "13800000001"  # stays text, never the number 13800000001
        links = s.scalars(select(DeputyStation).where(DeputyStation.deputy_id == zhang.id)).all()
        assert len(links) == 2
        slots = s.execute(
            select(RosterSlot.station_id, RosterSlot.weekday).where(
                RosterSlot.deputy_id == zhang.id
            )
        ).all()
        assert sorted(w for _, w in slots) == [0, 2, 4]
        leave = s.scalars(select(Leave)).one()
        assert str(leave.start_date) == "2025-03-10" and leave.substitute_id is not None
        plate = s.scalars(select(SceneCode).where(SceneCode.plate.is_not(None))).one()
        assert plate.scene == "dp_gm_hubin_12" and plate.station_id == gm01.id
    departments = {d["code"]: d for d in dump(sessions)["departments"]}
    assert departments["qx_zfj"]["aliases"] == ["城管局", "综合执法局", "执法局"]


def test_every_station_has_someone_on_duty_each_weekday(sessions: Sessions) -> None:
    run_import(sessions, EXAMPLE)
    covered: dict[str, set[str]] = {}
    for deputy in dump(sessions)["deputies"]:
        for station, days in deputy["duty"].items():
            covered.setdefault(station, set()).update(days)
    assert covered == {s: {"mon", "tue", "wed", "thu", "fri"} for s in ("dh01", "gm01", "xs01")}


def test_export_reimports_as_unchanged(sessions: Sessions, tmp_path: Path) -> None:
    run_import(sessions, EXAMPLE)
    exported = dump(sessions)
    path = write(tmp_path, "export.yaml", yaml.safe_dump(exported, allow_unicode=True))
    report = run_import(sessions, path)
    assert report.changed == 0 and dump(sessions) == exported


def test_progress_reports_each_section_to_its_end(sessions: Sessions) -> None:
    calls: list[tuple[str, int, int]] = []
    run_import(sessions, EXAMPLE, progress=lambda s, d, t: calls.append((s, d, t)))
    finished = {(s, t) for s, d, t in calls if d == t}
    assert ("deputies", 6) in finished and ("scenes", 4) in finished and len(calls) == 24


# ---------------------------------------------------------------- bad rows: reported, none written


BAD_ROWS = [
    ("regions", 2, 9, "level: Input should be 'city', 'county', 'township' or 'community'"),
    ("stations", 1, 16, "lat: Input should be less than or equal to 90"),
    ("stations", 2, 18, "duplicate station 'ns01' (first at row 1, line 13)"),
    ("deputies", 1, 26, "stations: unknown station 'zz99'"),
    ("deputies", 1, 27, "unknown weekday '周八'"),
    (
        "deputies",
        2,
        28,
        "duplicate: 'd102' is a new 编号, but this person is already deputy 'd001'",
    ),
    ("deputies", 2, 32, "duty at 'gm01', which is not one of this deputy's stations"),
    ("leaves", 1, 37, "ends before it starts"),
    ("staff", 1, 43, "station 'dh01' is in region 'donghu', outside 'xishan'"),
    ("departments", 1, 49, "'住建局' also names department 'qx_zjj'"),
    ("scenes", 1, 52, "a scene may use 0-9 a-z A-Z _ - only"),
    ("scenes", 2, 56, "unknown key 'colour'"),
]


def test_bad_rows_are_all_named_and_nothing_is_written(sessions: Sessions) -> None:
    run_import(sessions, EXAMPLE)
    before = dump(sessions)
    errors = failed_import(sessions, FIXTURES / "bad_rows.yaml")
    assert where(errors) == [(s, r, line) for s, r, line, _ in BAD_ROWS]
    for error, (*_, reason) in zip(errors, BAD_ROWS, strict=True):
        assert reason in error.reason, str(error)
    assert str(errors[3]).startswith(
        "deputies row 1 (line 26): stations: unknown station 'zz99' (valid: dh01 东湖镇"
    )
    assert dump(sessions) == before


def test_one_bad_row_in_an_empty_database_writes_nothing(
    sessions: Sessions, tmp_path: Path
) -> None:
    text = EXAMPLE.read_text(encoding="utf-8").replace(
        "stations: [xs01]\n", "stations: [xs02]\n", 1
    )
    errors = failed_import(sessions, write(tmp_path, "one_bad.yaml", text))
    valid = "dh01 东湖镇人大代表联络站, gm01 东湖镇光明社区代表联络点, xs01 西山乡人大代表联络站"
    assert [(e.source, e.row, e.reason) for e in errors] == [
        ("deputies", 5, f"stations: unknown station 'xs02' (valid: {valid})"),
        ("deputies", 5, "duty: duty at 'xs01', which is not one of this deputy's stations"),
    ]
    assert errors[0].line == text.splitlines().index("    stations: [xs02]") + 1
    with sessions() as s:
        for model in (Region, Station, Deputy, SceneCode):
            assert s.scalar(select(func.count()).select_from(model)) == 0


def test_references_may_point_into_the_database(sessions: Sessions, tmp_path: Path) -> None:
    run_import(sessions, EXAMPLE)
    path = write(
        tmp_path,
        "more.yaml",
        """
stations:
  - {code: dh02, name: 东湖镇湖滨社区代表联络点, region: donghu, lat: 29.09, lng: 119.92}
deputies:
  - {code: d007, name: 何欣, dingtalk_user_id: dt_hexin, stations: [dh02, dh01],
     duty: {dh02: 周一至周五}}
scenes:
  - {scene: st_dh02, station: dh02}
""",
    )
    report = run_import(sessions, path)
    assert report.created == {"stations": 1, "deputies": 1, "scenes": 1}
    d007 = next(d for d in dump(sessions)["deputies"] if d["code"] == "d007")
    assert d007["stations"] == ["dh01", "dh02"]
    assert d007["duty"] == {"dh02": ["mon", "tue", "wed", "thu", "fri"]}
    assert d007["level"] == "county" and d007["active"] is True


def test_parent_cycle_and_level_order(sessions: Sessions, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "cycle.yaml",
        """
regions:
  - {code: a, name: 甲县, level: county, parent: b}
  - {code: b, name: 乙县, level: county, parent: a}
  - {code: c, name: 丙市, level: city, parent: d}
  - {code: d, name: 丁镇, level: township}
  - {code: e, name: 戊镇, level: township, parent: e}
""",
    )
    errors = failed_import(sessions, path)
    assert [(e.row, e.reason) for e in errors] == [
        (1, "parent: parent cycle a → b → a"),
        (2, "parent: parent cycle b → a → b"),
        (3, "parent: a city cannot be under 'd', which is a township"),
        (5, "parent: a region cannot be its own parent"),
    ]


def test_level_change_checked_against_stored_children(sessions: Sessions, tmp_path: Path) -> None:
    run_import(sessions, EXAMPLE)
    path = write(tmp_path, "demote.yaml", "regions:\n  - {code: qingxi, level: 乡镇}\n")
    errors = failed_import(sessions, path)
    assert errors[0].reason.startswith("level: a township cannot have the township 'donghu'")


def test_new_entities_need_their_required_fields(sessions: Sessions, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "thin.yaml",
        "deputies:\n  - code: d900\n    phone: '123'\n  - code: d901\n    name: ''\n",
    )
    errors = failed_import(sessions, path)
    phone = (
        "phone: '123' is not a phone number: give an 11-digit mobile (1xxxxxxxxxx) "
        "or a landline like 0570-1234567"
    )
    assert [(e.row, e.line, e.reason) for e in errors] == [
        (1, 2, "a new deputy needs name, dingtalk_user_id"),
        (1, 3, phone),
        (2, 4, "a new deputy needs dingtalk_user_id"),
        (2, 5, "name: must not be empty"),
    ]


def test_yaml_syntax_and_shape_errors(sessions: Sessions, tmp_path: Path) -> None:
    broken = write(tmp_path, "broken.yaml", "regions:\n  - code: a\n    name: [unclosed\n")
    errors = failed_import(sessions, broken)
    assert errors[0].source == "broken.yaml" and str(errors[0].row).startswith("line ")
    assert "not valid YAML" in errors[0].reason

    shapes = write(
        tmp_path,
        "shapes.yaml",
        "regionz: []\nstations: {code: x}\ndeputies:\n  - just text\n  - {code: d1, code: d2}\n",
    )
    errors = failed_import(sessions, shapes)
    assert [(e.source, e.row) for e in errors] == [
        ("shapes.yaml", "line 1"),
        ("stations", "line 2"),
        ("deputies", 1),
        ("deputies", 2),
    ]
    assert "unknown section 'regionz'" in errors[0].reason
    assert "given twice" in errors[3].reason


def test_nested_duplicate_keys_are_reported(sessions: Sessions, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "dup.yaml",
        "deputies:\n  - code: d1\n    duty:\n      dh01: [mon]\n      dh01: [tue]\n",
    )
    errors = failed_import(sessions, path)
    assert [(e.row, e.line, e.reason) for e in errors] == [
        (1, 2, "key 'dh01' given twice (line 5)")
    ]


REFUSE_SCENE = {
    "sqlite": [
        "CREATE TRIGGER lx_test_refuse BEFORE INSERT ON scene_codes "
        "WHEN NEW.scene = 'st_refused' BEGIN SELECT RAISE(ABORT, 'refused by trigger'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION lx_test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF NEW.scene = 'st_refused' THEN RAISE EXCEPTION 'refused by trigger'; END IF; "
        "RETURN NEW; END $$",
        "CREATE TRIGGER lx_test_refuse BEFORE INSERT ON scene_codes "
        "FOR EACH ROW EXECUTE FUNCTION lx_test_refuse()",
    ],
}
UNREFUSE_SCENE = {
    "sqlite": ["DROP TRIGGER lx_test_refuse"],
    "postgresql": [
        "DROP TRIGGER lx_test_refuse ON scene_codes",
        "DROP FUNCTION lx_test_refuse()",
    ],
}


def test_a_row_the_database_refuses_rolls_back_the_whole_import(
    sessions: Sessions, engine: Engine, tmp_path: Path
) -> None:
    # A real database refusal (a trigger), standing in for anything the checks cannot foresee.
    run_import(sessions, EXAMPLE)
    before = dump(sessions)
    path = write(
        tmp_path,
        "refused.yaml",
        """
stations:
  - {code: dh02, name: 东湖镇湖滨社区代表联络点, region: donghu}
deputies:
  - {code: d001, name: 张明远}
scenes:
  - {scene: st_dh02, station: dh02}
  - {scene: st_refused, station: dh02}
""",
    )
    with engine.begin() as conn:
        for statement in REFUSE_SCENE[engine.dialect.name]:
            conn.execute(sql(statement))
    try:
        with sessions.begin() as session:
            with pytest.raises(DirectoryImportError) as caught:
                import_directory(session, path)
            session.add(Region(code="after", name="导入失败之后", level="county"))
    finally:
        with engine.begin() as conn:
            for statement in UNREFUSE_SCENE[engine.dialect.name]:
                conn.execute(sql(statement))
    [error] = caught.value.report.errors
    assert (error.source, error.row, error.line) == ("scenes", 2, 8)
    assert "the database refused this row" in error.reason and "refused by trigger" in error.reason
    after = dump(sessions)
    assert [r["code"] for r in after["regions"]] == [
        "after",
        "donghu",
        "qingxi",
        "xishan",
        "yunzhou",
    ]
    after["regions"] = [r for r in after["regions"] if r["code"] != "after"]
    assert after == before  # the caller's own work committed; none of the import did


def test_unreadable_files_are_value_errors(sessions: Sessions, tmp_path: Path) -> None:
    with sessions.begin() as s, pytest.raises(ValueError, match="unsupported"):
        import_directory(s, write(tmp_path, "dir.json", "{}"))
    with sessions.begin() as s, pytest.raises(ValueError, match="not a readable .xlsx"):
        import_directory(s, write(tmp_path, "fake.xlsx", "not a zip"))


# ---------------------------------------------------------------- upsert semantics


def test_update_in_place_keeps_ids(sessions: Sessions, tmp_path: Path) -> None:
    run_import(sessions, EXAMPLE)
    with sessions() as s:
        ids = {d.code: d.id for d in s.scalars(select(Deputy))}
    text = EXAMPLE.read_text(encoding="utf-8").replace("name: 张明", "name: 张明远")
    report = run_import(sessions, write(tmp_path, "renamed.yaml", text))
    assert report.updated["deputies"] == 1 and report.unchanged["deputies"] == 5
    assert report.unchanged["stations"] == 3 and report.created["deputies"] == 0
    with sessions() as s:
        assert {d.code: d.id for d in s.scalars(select(Deputy))} == ids
        assert s.scalars(select(Deputy.name).where(Deputy.id == ids["d001"])).one() == "张明远"


def test_given_keys_replace_and_absent_keys_keep(sessions: Sessions, tmp_path: Path) -> None:
    run_import(sessions, EXAMPLE)
    path = write(
        tmp_path,
        "partial.yaml",
        """
deputies:
  - code: d001          # leaves gm01: its duty there goes too; dh01 duty stays
    stations: [dh01]
  - code: d002
    phone:              # empty clears
    duty: {dh01: [周二]}
  - code: d003
    active: false
regions:
  - code: qingxi
    sla: {claim_days: 2}
""",
    )
    report = run_import(sessions, path)
    assert report.updated == {"regions": 1, "deputies": 3}
    after = dump(sessions)
    deputies = {d["code"]: d for d in after["deputies"]}
    assert deputies["d001"]["stations"] == ["dh01"]
    assert deputies["d001"]["duty"] == {"dh01": ["mon", "wed"]}
    assert deputies["d001"]["name"] == "张明" and deputies["d001"]["phone"] == "13800000001"
    assert deputies["d002"]["phone"] is None and deputies["d002"]["duty"] == {"dh01": ["tue"]}
    assert deputies["d002"]["stations"] == ["dh01"]
    assert deputies["d003"]["active"] is False
    county = next(r for r in after["regions"] if r["code"] == "qingxi")
    assert county["sla"] == {"claim_days": 2.0, "answer_days": None, "close_days": None}
    assert county["office_group"] == "cid_qingxi_office=="
    assert run_import(sessions, path).changed == 0


def test_swapping_unique_ids_between_rows(sessions: Sessions, tmp_path: Path) -> None:
    run_import(sessions, EXAMPLE)
    path = write(
        tmp_path,
        "swap.yaml",
        """
deputies:
  - {code: d001, dingtalk_user_id: dt_lifang}
  - {code: d002, dingtalk_user_id: dt_zhangming}
staff:
  - {code: s001, wecom_user_id: wulei}
  - {code: s002, wecom_user_id: zhouxiaoyan}
""",
    )
    report = run_import(sessions, path)
    assert report.updated == {"deputies": 2, "staff": 2}
    deputies = {d["code"]: d["dingtalk_user_id"] for d in dump(sessions)["deputies"]}
    assert deputies["d001"] == "dt_lifang" and deputies["d002"] == "dt_zhangming"


def test_leaves_match_by_deputy_and_start(sessions: Sessions, tmp_path: Path) -> None:
    run_import(sessions, EXAMPLE)
    path = write(
        tmp_path,
        "leaves.yaml",
        """
leaves:
  - {deputy: d002, from: 2025-03-10, to: 2025-03-21, substitute: d001}
  - {deputy: d002, from: 2025-03-20, to: 2025-03-22}
""",
    )
    errors = failed_import(sessions, path)
    assert [(e.row, e.reason) for e in errors] == [
        (2, "from: overlaps the leave 2025-03-10..2025-03-21 at row 1")
    ]
    path.write_text(
        path.read_text().replace("2025-03-20, to: 2025-03-22", "2025-04-01, to: 2025-04-02")
    )
    report = run_import(sessions, path)
    assert (report.updated["leaves"], report.created["leaves"]) == (1, 1)
    assert dump(sessions)["leaves"][0] == {
        "deputy": "d002",
        "from": "2025-03-10",
        "to": "2025-03-21",
        "substitute": "d001",
    }


def test_a_new_leave_may_not_overlap_a_stored_one(sessions: Sessions, tmp_path: Path) -> None:
    run_import(sessions, EXAMPLE)  # stores d002 on leave 2025-03-10..2025-03-14
    path = write(
        tmp_path, "late.yaml", "leaves:\n  - {deputy: d002, from: 2025-03-12, to: 2025-03-18}\n"
    )
    errors = failed_import(sessions, path)
    assert [(e.row, e.reason) for e in errors] == [
        (1, "from: overlaps the stored leave 2025-03-10..2025-03-14")
    ]
    # the same start changes the stored leave instead; a later one does not overlap
    path.write_text(
        "leaves:\n  - {deputy: d002, from: 2025-03-10, to: 2025-03-18}\n"
        "  - {deputy: d002, from: 2025-03-19, to: 2025-03-20}\n"
    )
    report = run_import(sessions, path)
    assert (report.updated["leaves"], report.created["leaves"]) == (1, 1)


def test_rows_describe_each_row_of_the_preview(sessions: Sessions, tmp_path: Path) -> None:
    run_import(sessions, EXAMPLE)
    path = write(
        tmp_path,
        "two.yaml",
        "deputies:\n  - {code: d001, phone: '13900001111'}\n"
        "  - {code: d099, name: 新代表, dingtalk_user_id: dt_new}\n",
    )
    report = run_import(sessions, path)
    first, second = report.rows
    assert (first.key, first.action, [d[0] for d in first.diffs]) == ("d001", "update", ["phone"])
    assert (second.key, second.action, second.name) == ("d099", "create", "新代表")
    again = run_import(sessions, path)
    assert [r.action for r in again.rows] == ["unchanged", "unchanged"]


# ---------------------------------------------------------------- CSV and XLSX deputy lists


def test_example_csv_matches_the_yaml(sessions: Sessions) -> None:
    assert EXAMPLE_CSV.read_bytes().startswith(b"\xef\xbb\xbf")  # as Excel saves "CSV UTF-8"
    run_import(sessions, EXAMPLE)
    before = dump(sessions)
    report = run_import(sessions, EXAMPLE_CSV)
    assert report.unchanged == {"deputies": 6} and report.changed == 0
    assert dump(sessions) == before


def test_csv_with_chinese_headers_bom_and_title_row(sessions: Sessions, tmp_path: Path) -> None:
    run_import(sessions, EXAMPLE)
    text = (
        "青溪县人大代表名单,,,,,,\r\n"
        "序号,编号,姓名,钉钉ID,层级,联络站,值班\r\n"
        "1,d101,孙悦,dt_sunyue,乡镇,dh01、gm01,dh01:周六；gm01：周日\r\n"
        "2,d102,钱进,dt_qianjin,县,xs01,周一至周三\r\n"
        ",,,,,,\r\n"
        "3,d001,张明,dt_zhangming,县级,dh01,\r\n"
    )
    path = tmp_path / "名单.csv"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    report = run_import(sessions, path)
    assert (report.created, report.updated) == ({"deputies": 2}, {"deputies": 1})
    deputies = {d["code"]: d for d in dump(sessions)["deputies"]}
    assert deputies["d101"]["level"] == "township"
    assert deputies["d101"]["duty"] == {"dh01": ["sat"], "gm01": ["sun"]}
    assert deputies["d102"]["duty"] == {"xs01": ["mon", "tue", "wed"]}
    assert deputies["d001"] == {**deputies["d001"], "stations": ["dh01"], "duty": {}}
    assert deputies["d001"]["phone"] == "13800000001"  # no phone column: kept


def test_gbk_csv_from_excel_on_windows(sessions: Sessions, tmp_path: Path) -> None:
    run_import(sessions, EXAMPLE)
    path = tmp_path / "gbk.csv"
    path.write_bytes("编号,姓名,电话\r\nd005,刘洋,0570-0000005\r\n".encode("gbk"))
    assert run_import(sessions, path).updated == {"deputies": 1}
    phones = {d["code"]: d["phone"] for d in dump(sessions)["deputies"]}
    assert phones["d005"] == "0570-0000005"


def test_csv_bad_rows_use_spreadsheet_row_numbers(sessions: Sessions, tmp_path: Path) -> None:
    run_import(sessions, EXAMPLE)
    before = dump(sessions)
    text = (
        "code,name,dingtalk_user_id,stations,duty,钉钉群\n"
        "d201,甲,dt_jia,dh01,dh01:mon\n"
        "d202,乙,dt_yi,dh09,\n"
        'd203,丙,dt_jia,dh01,"dh01:mon, funday"\n'
        "d201,甲二,dt_jia2,dh01,\n"
    )
    with sessions.begin() as session, pytest.raises(DirectoryImportError) as caught:
        import_directory(session, write(tmp_path, "bad.csv", text))
    errors, warnings = caught.value.report.errors, caught.value.report.warnings
    assert [(e.source, e.row, e.line) for e in errors] == [
        ("deputies", 3, None),
        ("deputies", 4, None),
        ("deputies", 4, None),
        ("deputies", 5, None),
    ]
    assert [(w.source, w.row) for w in warnings] == [("bad.csv", 1)]
    assert "unknown column '钉钉群' ignored" in warnings[0].reason  # a warning, not a refusal
    assert errors[0].reason.startswith("stations: unknown station 'dh09' (valid: dh01 ")
    assert "unknown weekday 'funday'" in errors[1].reason
    assert errors[2].reason == "dingtalk_user_id: 'dt_jia' is also used by 'd201' (row 2)"
    assert errors[3].reason.startswith("code: duplicate deputy 'd201' (first at row 2)")
    assert dump(sessions) == before


def test_xlsx_deputy_list(sessions: Sessions, tmp_path: Path) -> None:
    run_import(sessions, EXAMPLE)
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["编号", "姓名", "钉钉ID", "层级", "电话", "联络站", "值班"])
    sheet.append(["d301", "冯涛", "dt_fengtao", "县级", 13800000301, "xs01", "xs01:周六,周日"])
    sheet.append(["d302", "褚玲", "dt_chuling", "乡镇", None, "gm01;dh01", "gm01:周一\ndh01:周二"])
    sheet.append(["d303", "卫东", "dt_weidong", "镇长", None, "gm01", None])
    path = tmp_path / "deputies.xlsx"
    book.save(path)

    errors = failed_import(sessions, path)
    assert [(e.source, e.row) for e in errors] == [("deputies", 4)]
    assert "level" in errors[0].reason and "'镇长'" in errors[0].reason

    sheet.delete_rows(4)
    book.save(path)
    report = run_import(sessions, path)
    assert report.created == {"deputies": 2}
    deputies = {d["code"]: d for d in dump(sessions)["deputies"]}
    assert deputies["d301"]["phone"] == "13800000301"
    assert deputies["d301"]["duty"] == {"xs01": ["sat", "sun"]}
    assert deputies["d302"]["stations"] == ["dh01", "gm01"]
    assert deputies["d302"]["duty"] == {"dh01": ["tue"], "gm01": ["mon"]}
    assert run_import(sessions, path).unchanged == {"deputies": 2}


# ---------------------------------------------------------------- weekday parsing


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("周一,周三", [0, 2]),
        ("星期二、星期四", [1, 3]),
        ("周一至周五", [0, 1, 2, 3, 4]),
        ("mon - wed, Sun", [0, 1, 2, 6]),
        ("周日 周天 礼拜六", [5, 6]),
        (["Monday", "fri"], [0, 4]),
    ],
)
def test_parse_days(text: str | list[str], days: list[int]) -> None:
    assert parse_days(text) == days


def test_parse_days_refuses_numbers_and_backwards_ranges() -> None:
    with pytest.raises(ValueError, match="unknown weekday '1'"):
        parse_days("1,2")
    with pytest.raises(ValueError, match="backwards"):
        parse_days("周五至周一")


def test_parse_duty_text() -> None:
    assert parse_duty_text("dh01:周一,周三;gm01:周五", ["dh01", "gm01"]) == {
        "dh01": [0, 2],
        "gm01": [4],
    }
    assert parse_duty_text("周二", ["xs01"]) == {"xs01": [1]}
    with pytest.raises(ValueError, match="needs a station"):
        parse_duty_text("周二", ["xs01", "dh01"])
