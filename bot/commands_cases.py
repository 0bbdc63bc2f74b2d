"""`lianxin cases list|show`: the office's view of cases, in Chinese and the service's time.

Statuses, actions and event kinds print as their Chinese labels, people and places by name,
times in `settings.sla.timezone` with their date, and each message a constituent sent with its
text. Options are validated by argparse types, so a bad value exits 2 with the allowed values.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Settings
from handlers import texts
from storage.models import Case, Department, Deputy, Message, Staff, Station

SUMMARY_CHARS = 36
_MEDIA = {"image": "[图片]", "voice": "[语音]", "video": "[视频]", "file": "[文件]"}


def status_arg(value: str) -> str:
    """argparse type of --status: a status code or its Chinese label, as the code."""
    value = value.strip()
    if value in texts.STATUS_LABELS:
        return value
    for code, label in texts.STATUS_LABELS.items():
        if value == label:
            return code
    raise argparse.ArgumentTypeError(texts.bad_status(value))


def case_number_arg(value: str) -> int:
    """argparse type of a case number: 123 or #123."""
    digits = value.strip().lstrip("#＃")
    if not digits.isdigit() or int(digits) <= 0:
        raise argparse.ArgumentTypeError(texts.bad_case_number(value))
    return int(digits)


def positive_int_arg(value: str) -> int:
    """argparse type of --limit."""
    if not value.strip().isdigit() or int(value) <= 0:
        raise argparse.ArgumentTypeError(f"「{value}」不是正整数，例如 30。")
    return int(value)


def add_parsers(sub: Any, sessions: Callable[[Settings], sessionmaker[Session]]) -> None:
    """Add `cases list` and `cases show` to the `lianxin` parser (`sub`: its subparsers)."""
    cases = sub.add_parser("cases", help="查看诉求").add_subparsers(metavar="ACTION")
    ls = cases.add_parser("list", help="最近的诉求", description="最近的诉求，新的在前")
    ls.add_argument(
        "--status",
        type=status_arg,
        metavar="状态",
        help="只看这一状态（中文或代码）：" + "、".join(texts.STATUS_LABELS.values()),
    )
    ls.add_argument("--limit", type=positive_int_arg, default=30, metavar="N", help="最多几条")
    ls.set_defaults(func=lambda a, s: cmd_cases_list(a, s, sessions(s)))
    show = cases.add_parser("show", help="一件诉求的详情和经过")
    show.add_argument("number", type=case_number_arg, metavar="编号", help="例如 123 或 #123")
    show.set_defaults(func=lambda a, s: cmd_cases_show(a, s, sessions(s)))
    masks = cases.add_parser(
        "mask-texts",
        help="为尚无脱敏文本的诉求生成并保存脱敏文本",
        description="预先生成诉求内容的脱敏文本（新诉求在受理时已生成；导出和工作台读取保存的文本）",
    )
    masks.add_argument(
        "--all", action="store_true", help="检查全部诉求（脱敏规则更新后，重新生成过期的文本）"
    )
    masks.add_argument("--batch", type=positive_int_arg, default=500, metavar="N", help="每批几件")
    masks.set_defaults(func=lambda a, s: cmd_cases_mask_texts(a, s, sessions(s)))


@dataclass(frozen=True)
class Names:
    """Names of the directory's stations, deputies, staff and departments by id."""

    stations: dict[int, str]
    deputies: dict[int, str]
    staff: dict[int, str]
    departments: dict[int, str]

    @staticmethod
    def load(session: Session) -> Names:
        """Read every name once: a county directory is a few hundred rows."""

        def of(model: Any) -> dict[int, str]:
            return {i: n for i, n in session.execute(select(model.id, model.name))}

        return Names(of(Station), of(Deputy), of(Staff), of(Department))

    def handler(self, case: Case) -> str:
        """Who holds the case: a deputy, a staff member, a department or nobody yet."""
        if case.assignee_deputy_id is not None:
            return self.deputies.get(case.assignee_deputy_id, f"代表{case.assignee_deputy_id}")
        if case.assignee_staff_id is not None:
            return self.staff.get(case.assignee_staff_id, f"工作人员{case.assignee_staff_id}")
        if case.department_id is not None:
            return self.departments.get(case.department_id, f"部门{case.department_id}")
        return "未分派"

    def station(self, station_id: int | None) -> str:
        """The station's name, or 未定 before routing."""
        if station_id is None:
            return "未定"
        return self.stations.get(station_id, f"联络站{station_id}")


def cmd_cases_list(
    args: argparse.Namespace, settings: Settings, sessions: sessionmaker[Session]
) -> int:
    """List recent cases, newest first."""
    tz = ZoneInfo(settings.sla.timezone)
    with sessions() as session:
        stmt = select(Case).order_by(Case.id.desc()).limit(args.limit)
        if args.status:
            stmt = stmt.where(Case.status == args.status)
        rows = list(session.scalars(stmt))
        names = Names.load(session)
    if not rows:
        print(texts.no_cases(args.status))
        return 0
    print("  ".join(texts.CASE_COLUMNS))
    for case in rows:
        print(
            f"#{case.id:<5} {texts.status_label(case.status):<6} "
            f"{texts.local_time(case.created_at, tz)}  {names.station(case.station_id)}  "
            f"{names.handler(case)}  {_shorten(case.text, SUMMARY_CHARS)}"
        )
    return 0


def cmd_cases_show(
    args: argparse.Namespace, settings: Settings, sessions: sessionmaker[Session]
) -> int:
    """Show one case: its fields, the constituent's messages and its event log."""
    from handlers.caselog import events_of

    tz = ZoneInfo(settings.sla.timezone)
    with sessions() as session:
        case = session.get(Case, args.number)
        if case is None:
            print(texts.case_not_found_cli(args.number), file=sys.stderr)
            return 1
        names = Names.load(session)
        messages = list(
            session.scalars(select(Message).where(Message.case_id == case.id).order_by(Message.id))
        )
        for line in _fields(case, names, tz):
            print(line)
        by_id = {m.id: m for m in messages}
        print(f"群众消息（{len(messages)} 条）：")
        for msg in messages:
            print(f"  {texts.local_time(msg.created_at, tz)}  {_message_text(msg)}")
        print("经过：")
        for ev in events_of(session, case.id):
            print("  " + _event_line(ev, by_id, tz))
    return 0


def _fields(case: Case, names: Names, tz: ZoneInfo) -> Iterable[str]:
    label = texts.CARD_FIELD_LABELS
    yield f"#{case.id}  {texts.status_label(case.status)}"
    yield f"  {label['opened_at']}：{texts.local_time(case.created_at, tz)}"
    yield f"  {label['station']}：{names.station(case.station_id)}"
    yield f"  {label['handler']}：{names.handler(case)}"
    if case.department_id is not None:
        yield f"  {label['department']}：{names.departments.get(case.department_id, '')}"
    if case.category:
        yield f"  {label['category']}：{case.category}"
    if case.plate:
        yield f"  门牌：{case.plate}"
    if case.location_label:
        yield f"  {label['location']}：{case.location_label}"
    for what, due in (
        ("claim", case.claim_due_at),
        ("answer", case.answer_due_at),
        ("close", case.close_due_at),
    ):
        if due is not None:
            yield f"  {texts.SLA_LABELS[what]}时限：{texts.local_time(due, tz)}"
    if case.rework_count:
        yield f"  重新办理：{case.rework_count} 次"
    yield f"  {label['summary']}：{case.text}"
    if case.answer:
        yield f"  {label['answer']}：{case.answer}"
    if case.rating:
        yield f"  {label['rating']}：{texts.rating_label(case.rating)}"


def _message_text(msg: Message) -> str:
    if msg.kind == "location":
        return f"[位置] {msg.text or ''}".rstrip()
    if msg.kind in _MEDIA:
        return _MEDIA[msg.kind] + (f" {msg.text}" if msg.text else "")
    return msg.text or f"[{msg.kind}]"


def _event_line(ev: Any, messages: dict[int, Message], tz: ZoneInfo) -> str:
    payload = dict(ev.payload or {})
    who = texts.actor_label(ev.actor_kind, payload.pop("actor_name", None))
    if ev.kind == "transition" and ev.action:
        what = texts.action_label(ev.action)
        move = (
            f"{texts.status_label(ev.from_status or '')}→{texts.status_label(ev.to_status or '')}"
        )
        head = f"{what}（{move}）"
    else:
        head = texts.event_kind_label(ev.kind)
    detail = ""
    msg = messages.get(payload.pop("message_id", None) or -1)
    if msg is not None:
        payload.pop("message_kind", None)
        detail = "：" + _shorten(_message_text(msg), 60)
    extra = " ".join(f"{k}={_shorten(str(v), 30)}" for k, v in payload.items())
    when = texts.local_time(ev.at, tz)
    return f"{when}  {head}  {who} 经{texts.channel_label(ev.channel)}{detail}  {extra}".rstrip()


def _shorten(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def cmd_cases_mask_texts(
    args: argparse.Namespace, settings: Settings, sessions: sessionmaker[Session]
) -> int:
    """Store the masked text of every case without a valid one, one transaction per batch."""
    del settings
    from handlers.workbench.masked import case_ids_to_mask, store_masks

    after, checked, stored = 0, 0, 0
    while True:
        with sessions() as session, session.begin():
            ids = case_ids_to_mask(session, after, args.batch, every=args.all)
            if not ids:
                break
            stored += store_masks(session, ids)
        after, checked = ids[-1], checked + len(ids)
    print(f"检查 {checked} 件诉求，新保存脱敏文本 {stored} 件")
    return 0
