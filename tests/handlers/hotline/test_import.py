"""Importing 12345 work orders into the database: masked, idempotent, never worked on here."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from handlers import escalation, hotline, rating, texts
from handlers.hotline.caller import caller_hash
from handlers.stats import Window, build_report
from handlers.workcal import WorkCalendar
from storage.models import Case, CaseEvent, HotlineTicket, OutboxItem, Rating
from tests.handlers.world import World

KEY = b"hotline-test-key-0123"
TZ = ZoneInfo("Asia/Shanghai")
HEADER = ["工单编号", "来电时间", "来电人", "联系电话", "诉求内容", "诉求地址", "所属乡镇/街道",
          "问题分类", "工单性质", "承办单位", "办理状态", "办结时间", "答复内容", "是否解决",
          "是否满意"]  # fmt: skip
ROWS = [
    ["W-001", "2026-11-02 09:15", "李建华", "13905791234",
     "李建华来电反映新坝镇幸福小区路灯不亮，电话13905791234，身份证330702198803154411",
     "幸福小区5幢1单元302室", "新坝镇", "城乡建设->市政设施->路灯", "主办", "新坝镇人民政府",
     "办理中", "", "", "", ""],
    ["W-002", "2026-11-03 14:00", "王秀英", "0518-85236617", "解放路井盖缺失，请尽快处理",
     "解放路与人民路交叉口", "海州区", "城乡建设->市政设施->井盖", "协办", "区住建局",
     "已办结", "2026-11-05 10:00", "已补装井盖，已电话告知王秀英", "是", "满意"],
    ["W-003", "2026-11-04 08:30", "", "", "建议增加公交班次", "", "",
     "农业农村->农田水利", "", "", "待回访", "", "已转交公交公司研究", "", ""],
]  # fmt: skip


def write_csv(path: Path, rows: list[list[str]], encoding: str = "utf-8-sig") -> Path:
    with path.open("w", encoding=encoding, newline="") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        w.writerows(rows)
    return path


def run(
    sessions: sessionmaker[Session], path: Path, now: datetime, workers: int = 1
) -> hotline.HotlineReport:
    with sessions() as session:
        regions = hotline.load_regions(session)
    prepared = hotline.prepare(
        path,
        mapping=hotline.load_mapping(None),
        regions=regions,
        hash_key=KEY,
        tz=TZ,
        workers=workers,
        parallel_from=0,
    )
    with prepared, sessions.begin() as session:
        return hotline.write(session, prepared, now=now)


def imported(sessions: sessionmaker[Session]) -> list[tuple[HotlineTicket, Case]]:
    with sessions() as session:
        rows = session.execute(
            select(HotlineTicket, Case)
            .join(Case, Case.id == HotlineTicket.case_id)
            .order_by(HotlineTicket.ticket_no)
        ).all()
        session.expunge_all()
        return [(t, c) for t, c in rows]


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gb18030"])
def test_import_masks_and_maps(world: World, tmp_path: Path, encoding: str):
    report = run(world.sessions, write_csv(tmp_path / "wo.csv", ROWS, encoding), world.now)
    assert report.written is not None and report.written.created == 3
    assert dict(report.unmapped) == {"农业农村->农田水利": 1}
    got = imported(world.sessions)
    (t1, c1), (t2, c2), (t3, c3) = got
    assert {c.source for _, c in got} == {"12345"}
    assert (c1.status, c2.status, c3.status) == ("accepted", "closed", "replied")
    assert c1.category == "市政设施(路灯/井盖)" and c3.category is None
    assert t3.raw_category == "农业农村->农田水利"
    assert c1.created_at == datetime(2026, 11, 2, 1, 15, tzinfo=UTC)
    assert c2.closed_at == datetime(2026, 11, 5, 2, 0, tzinfo=UTC)
    assert (t2.nature, t2.handling_unit, t2.resolved, t2.satisfied) == ("协办", "区住建局", "yes",
                                                                        "satisfied")  # fmt: skip
    assert c2.rating == "satisfied"
    assert c1.region_id is not None and c3.region_id is None
    stored = " ".join(
        str(v) for t, c in got for v in (c.text, c.answer, t.address, c.location_label)
    )
    for raw in ("13905791234", "330702198803154411", "李建华", "王秀英", "85236617"):
        assert raw not in stored
    assert "302室" not in (t1.address or "")  # a household's room number is personal data
    assert t2.address == "解放路与人民路交叉口"  # a street corner is not
    assert t1.caller_hash == caller_hash(KEY, "139 0579 1234") and t3.caller_hash is None


def test_reimport_updates_status_and_dates_without_duplicates(world: World, tmp_path: Path):
    run(world.sessions, write_csv(tmp_path / "a.csv", ROWS), world.now)
    before = {t.ticket_no: c.id for t, c in imported(world.sessions)}
    again = run(world.sessions, write_csv(tmp_path / "b.csv", ROWS), world.now)
    assert again.written is not None
    assert (again.written.created, again.written.updated, again.written.unchanged) == (0, 0, 3)
    changed = [list(r) for r in ROWS]
    changed[0][10:14] = ["已办结", "2026-11-06 16:30", "路灯已修复", "是"]
    later = world.now + timedelta(days=1)
    third = run(world.sessions, write_csv(tmp_path / "c.csv", changed), later)
    assert third.written is not None
    assert (third.written.created, third.written.updated, third.written.unchanged) == (0, 1, 2)
    got = {t.ticket_no: (t, c) for t, c in imported(world.sessions)}
    assert {k: c.id for k, (_, c) in got.items()} == before
    t1, c1 = got["W-001"]
    assert c1.status == "closed" and c1.closed_at == datetime(2026, 11, 6, 8, 30, tzinfo=UTC)
    assert c1.answer == "路灯已修复" and t1.resolved == "yes" and c1.updated_at == later
    with world.sessions() as session:
        kinds = session.execute(
            select(CaseEvent.kind, CaseEvent.from_status, CaseEvent.to_status)
            .where(CaseEvent.case_id == c1.id)
            .order_by(CaseEvent.id)
        ).all()
    assert [tuple(k) for k in kinds] == [("imported", None, "accepted"),
                                         ("import_update", "accepted", "closed")]  # fmt: skip


def test_a_bad_row_names_its_row_and_nothing_is_imported(world: World, tmp_path: Path):
    bad = [list(r) for r in ROWS]
    bad[1][1] = "十一月三日"
    bad[2][6] = "北湖镇"
    with pytest.raises(hotline.HotlineImportError) as caught:
        run(world.sessions, write_csv(tmp_path / "bad.csv", bad), world.now)
    errors = [str(e) for e in caught.value.report.errors]
    assert errors[0] == "row 3: 来电时间 '十一月三日' is not a date and time"
    assert errors[1].startswith("row 4: 所属乡镇/街道 '北湖镇' is not one of our regions (known: ")
    assert len(errors) == 2
    with world.sessions() as session:
        assert session.scalar(select(func.count(HotlineTicket.id))) == 0
        assert session.scalar(select(func.count(Case.id))) == 0


def test_an_unreadable_file_is_a_source_error(world: World, tmp_path: Path):
    f = tmp_path / "x.xlsx"
    f.write_bytes(b"not a zip")
    with pytest.raises(hotline.SourceError):
        run(world.sessions, f, world.now)
    g = tmp_path / "x.csv"
    g.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(hotline.SourceError, match="工单编号"):
        run(world.sessions, g, world.now)


def test_imported_cases_are_never_escalated_expired_routed_or_acted_on(
    world: World, tmp_path: Path
):
    run(world.sessions, write_csv(tmp_path / "wo.csv", ROWS), world.now)
    numbers = [c.id for _, c in imported(world.sessions)]
    with world.sessions() as session, session.begin():
        for n in numbers:  # overdue by every clock, as if they were ours
            case = session.get(Case, n)
            assert case is not None
            past = world.now - timedelta(days=60)
            case.claim_due_at = case.answer_due_at = case.close_due_at = past
            case.rating_due_at = past
    world.now += timedelta(days=30)
    assert world.run(escalation.run_due) == 0
    assert world.run(rating.expire_unrated) == 0
    assert world.new_outbox() == []
    n = numbers[0]
    out = world.text("u-liu", f"#{n} 办结")
    assert [s.payload.get("text") for s in out] == [texts.imported_read_only(n)]
    assert world.case(n).status == "accepted"
    shown = world.text("u-liu", f"#{n}")
    assert shown and "13905791234" not in str(shown[0].payload)
    with world.sessions() as session:
        kinds = {k for (k,) in session.execute(select(OutboxItem.kind))}
        assert "card" not in kinds  # no card was ever posted for a work order


def ratings_of(sessions: sessionmaker[Session]) -> dict[str, tuple[str, datetime]]:
    with sessions() as session:
        rows = session.execute(
            select(HotlineTicket.ticket_no, Rating.value, Rating.created_at).join(
                Rating, Rating.case_id == HotlineTicket.case_id
            )
        ).all()
    return {no: (value, at) for no, value, at in rows}


def test_satisfaction_becomes_one_rating_dated_at_closing_and_follows_reimports(
    world: World, tmp_path: Path
):
    run(world.sessions, write_csv(tmp_path / "a.csv", ROWS), world.now)
    assert ratings_of(world.sessions) == {
        "W-002": ("satisfied", datetime(2026, 11, 5, 2, 0, tzinfo=UTC))
    }
    changed = [list(r) for r in ROWS]
    changed[1][14] = "不满意"
    changed[0][10:15] = ["已办结", "2026-11-06 16:30", "路灯已修复", "是", "基本满意"]
    run(world.sessions, write_csv(tmp_path / "b.csv", changed), world.now)
    assert ratings_of(world.sessions) == {
        "W-001": ("basic", datetime(2026, 11, 6, 8, 30, tzinfo=UTC)),
        "W-002": ("unsatisfied", datetime(2026, 11, 5, 2, 0, tzinfo=UTC)),
    }
    changed[1][14] = ""
    run(world.sessions, write_csv(tmp_path / "c.csv", changed), world.now)
    assert set(ratings_of(world.sessions)) == {"W-001"}


def test_statistics_show_imported_work_orders_separately_by_source(world: World, tmp_path: Path):
    world.enter("s1")
    world.say("新问题 小区门口路灯坏了")  # one case of our own, opened at world.now
    run(world.sessions, write_csv(tmp_path / "a.csv", ROWS), world.now)
    window = Window(date(2026, 11, 1), date(2026, 11, 30), TZ)
    with world.sessions() as session:
        report = build_report(
            session, region_code=None, window=window, calendar=WorkCalendar(), by="source"
        )
    groups = {g.key: g.figures for g in report.groups}
    assert groups["12345"]["collected"].value == 3 and groups["bot"]["collected"].value == 1
    rate = groups["12345"]["satisfaction_rate"]
    assert (rate.numerator, rate.denominator) == (1, 1)


@pytest.mark.slow  # spawning workers that load the masker's model takes a while
def test_worker_processes_mask_exactly_as_this_process_does(world: World, tmp_path: Path):
    many = [[f"W-{i:03d}", *ROWS[i % 3][1:]] for i in range(600)]  # three batches
    with world.sessions() as session:
        regions = hotline.load_regions(session)
    f = write_csv(tmp_path / "many.csv", many)
    results = []
    for workers in (1, 2):
        prepared = hotline.prepare(
            f, mapping=hotline.load_mapping(None), regions=regions, hash_key=KEY, tz=TZ,
            workers=workers, parallel_from=0,
        )  # fmt: skip
        with prepared:
            results.append(list(prepared.records()))
    assert len(results[0]) == 600 and results[0] == results[1]
    assert [r.ticket_no for r in results[1]] == [f"W-{i:03d}" for i in range(600)]
    assert "13905791234" not in results[1][0].text
