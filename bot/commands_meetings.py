"""`lianxin meeting …` and `lianxin doc …`: meeting notices, 签到 codes, attendance, 阅文."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from urllib.parse import quote

import yaml

from bot.config import Settings


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `lianxin meeting` and `lianxin doc`."""
    meeting = sub.add_parser("meeting", help="meeting notices, 签到 codes and attendance")
    msub = meeting.add_subparsers(metavar="ACTION")
    create = msub.add_parser("create", help="send a meeting notice described in a YAML file")
    create.add_argument("file", type=Path)
    create.set_defaults(func=cmd_meeting_create)
    att = msub.add_parser("attendance", help="报名 / 请假 / 签到 of every invited deputy")
    att.add_argument("id", type=int)
    att.set_defaults(func=cmd_meeting_attendance)
    qr = msub.add_parser("qrcode", help="the venue's 签到 QR code (PNG)")
    qr.add_argument("id", type=int)
    qr.add_argument("--out", type=Path, required=True, metavar="FILE.png")
    qr.add_argument(
        "--dtmd",
        action="store_true",
        help="encode the dtmd:// message link instead of the H5 page (default without public_url)",
    )
    qr.set_defaults(func=cmd_meeting_qrcode)

    doc = sub.add_parser("doc", help="阅文: send a document, read receipts")
    dsub = doc.add_subparsers(metavar="ACTION")
    send = dsub.add_parser("send", help="send a document described in a YAML file")
    send.add_argument("file", type=Path)
    send.set_defaults(func=cmd_doc_send)
    rec = dsub.add_parser("receipts", help="who opened and who confirmed a document")
    rec.add_argument("id", type=int)
    rec.set_defaults(func=cmd_doc_receipts)


def _fail(message: str) -> int:
    print(f"lianxin: {message}", file=sys.stderr)
    return 1


def _load(path: Path) -> object:
    return yaml.safe_load(path.read_text("utf-8"))


def cmd_meeting_create(args: argparse.Namespace, settings: Settings) -> int:
    """Create a meeting from YAML and queue its notice."""
    from bot.commands import _runtime
    from bot.pipeline.context import handler_context
    from bot.pipeline.outbox_jobs import enqueue_send
    from bot.workcal_config import service_zone
    from handlers.duties import meeting
    from handlers.duties.spec import SpecError
    from storage.outbox import take_new_outbox_ids

    try:
        spec = meeting.parse_meeting(_load(args.file), service_zone(settings))
    except (OSError, yaml.YAMLError, SpecError) as exc:
        return _fail(f"{args.file}: {exc}")
    rt = _runtime(settings)
    try:
        with rt.sessions.begin() as session:
            m = meeting.create(session, handler_context(rt, session), spec, "cli")
            number = m.id
            new_ids = take_new_outbox_ids(session)
    except (LookupError, ValueError) as exc:
        return _fail(f"nothing sent: {exc.args[0] if exc.args else exc}")
    for outbox_id in new_ids:
        enqueue_send(rt, outbox_id)
    print(f"meeting #{number} queued; print its 签到 code: lianxin meeting qrcode {number} --out …")
    return 0


def cmd_meeting_attendance(args: argparse.Namespace, settings: Settings) -> int:
    """Print the attendance list."""
    from bot.commands import _sessions
    from handlers.duties import meeting
    from handlers.texts import fmt_when

    labels = {"invited": "未回复", "registered": "已报名", "excused": "请假"}
    with _sessions(settings)() as session:
        try:
            m, rows = meeting.attendance(session, args.id)
        except LookupError as exc:
            return _fail(str(exc))
        print(f"#{m.id} {m.title} {fmt_when(m.starts_at)} {m.place}")
    for r in rows:
        came = f"签到 {fmt_when(r.checked_in_at)} ({r.via})" if r.checked_in_at else "未签到"
        reason = f" 理由：{r.reason}" if r.reason else ""
        print(f"  {r.deputy_code} {r.deputy_name} {r.station} {labels[r.status]}{reason} {came}")
    signed = sum(r.checked_in_at is not None for r in rows)
    excused = sum(r.status == "excused" for r in rows)
    print(f"invited {len(rows)}, checked in {signed}, excused {excused}")
    return 0


def cmd_meeting_qrcode(args: argparse.Namespace, settings: Settings) -> int:
    """Write the venue's 签到 QR code: the H5 check-in page, or the dtmd `#签到<id> <token>`."""
    import qrcode

    from bot.commands import _sessions
    from handlers.duties import meeting
    from storage.models import Meeting

    with _sessions(settings)() as session:
        m = session.get(Meeting, args.id)
        if m is None:
            return _fail(f"no meeting {args.id}")
        text, path = meeting.checkin_text(m), meeting.checkin_path(m)
    public = settings.web.public_url.rstrip("/")
    if public and not args.dtmd:  # the page opens in DingTalk and logs in with 免登
        link = public + path
    else:
        link = f"dtmd://dingtalkclient/sendMessage?content={quote(text, safe='')}"
    qrcode.make(link).save(str(args.out))
    print(f"wrote {args.out}: {link.split('?')[0] if link.startswith('dtmd') else link}")
    return 0


def cmd_doc_send(args: argparse.Namespace, settings: Settings) -> int:
    """Send a document for 阅文."""
    from bot.commands import _runtime
    from bot.pipeline.context import handler_context
    from bot.pipeline.outbox_jobs import enqueue_send
    from handlers.duties import reading
    from handlers.duties.spec import SpecError
    from storage.outbox import take_new_outbox_ids

    try:
        spec = reading.parse_document(_load(args.file))
    except (OSError, yaml.YAMLError, SpecError) as exc:
        return _fail(f"{args.file}: {exc}")
    rt = _runtime(settings)
    try:
        with rt.sessions.begin() as session:
            number = reading.send_document(session, handler_context(rt, session), spec).id
            new_ids = take_new_outbox_ids(session)
    except LookupError as exc:
        return _fail(f"nothing sent: {exc.args[0] if exc.args else exc}")
    for outbox_id in new_ids:
        enqueue_send(rt, outbox_id)
    print(f"document #{number} queued")
    return 0


def cmd_doc_receipts(args: argparse.Namespace, settings: Settings) -> int:
    """Print who opened and who confirmed a document."""
    from bot.commands import _sessions
    from handlers.duties import reading
    from handlers.texts import fmt_when

    with _sessions(settings)() as session:
        try:
            doc, rows = reading.receipts(session, args.id)
        except LookupError as exc:
            return _fail(str(exc))
        print(f"#{doc.id} {doc.title}")
    for r in rows:
        opened = fmt_when(r.opened_at) if r.opened_at else "未打开"
        confirmed = fmt_when(r.confirmed_at) if r.confirmed_at else "未确认"
        print(f"  {r.deputy_code} {r.deputy_name} 打开 {opened} 已阅 {confirmed}")
    done = sum(r.confirmed_at is not None for r in rows)
    print(f"sent {len(rows)}, opened {sum(r.opened_at is not None for r in rows)}, read {done}")
    return 0
