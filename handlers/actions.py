"""Deputy, staff and department actions, from card buttons and from text commands alike.

A card click is turned into the text command it stands for (`#123 接单`) and parsed by
`handlers.commands`, so both take exactly the same path. Only the assignee, the station's
deputies and staff, and staff of enclosing regions may act; once a case is claimed only its
holder (and staff) may work on it. Every refusal is a polite reply and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers import cards, cosign, escalation, notify, queries, rating, texts
from handlers.cards import ReplyTarget
from handlers.caselog import Actor, transition
from handlers.commands import Command, ParseError, Verb, parse_command
from handlers.context import HandlerContext
from handlers.duties import router as duties
from handlers.events import CardAction, StaffText
from handlers.insight import command as insight_command
from handlers.lifecycle import OPEN, Action, InvalidTransition, Status
from handlers.notices import Purpose, ToConstituent, queue_notice
from handlers.queries import Person
from storage.models import Case, Department, Station
from storage.models.cases import BOT_SOURCE

STAFF_ONLY = frozenset({Verb.REASSIGN, Verb.CLOSE})
# Statuses in which a claimed case belongs to its holder: other deputies are refused.
HELD = frozenset({Status.ACCEPTED, Status.REOPENED, Status.NEED_INFO, Status.TRANSFERRED})
_ALREADY_MINE = frozenset({Status.ACCEPTED, Status.NEED_INFO, Status.TRANSFERRED})
CARD_VERBS = frozenset(
    {
        Verb.CLAIM,
        Verb.REPLY,
        Verb.TRANSFER,
        Verb.ASK_INFO,
        Verb.REJECT,
        Verb.REASSIGN,
        Verb.CLOSE,
        Verb.SHOW,
        Verb.COSIGN,
        Verb.UNCOSIGN,
        Verb.CATEGORISE,
    }
)
_ARG_PARAMS = (
    "text",
    "input_text",
    "content",
    "reason",
    "question",
    "department",
    "deputy",
    "note",
    "category",
)

CaseFn = Callable[[Session, Case, Person, Command, ReplyTarget, HandlerContext], None]


# ---------------------------------------------------------------- entry points


def on_staff_text(session: Session, ev: StaffText, ctx: HandlerContext) -> None:
    """A text to the bot from a deputy, staff member or department group."""
    target = ReplyTarget(
        platform=ev.platform,
        user_id=ev.user_id,
        conversation_id=ev.conversation_id,
        conversation_type=ev.conversation_type,
        webhook=ev.reply_webhook,
        webhook_expires_at=ev.reply_webhook_expires_at,
        from_text=True,
    )
    if duties.handles(ev.text):  # 代表履职: #征集3 …, #投票5 …, 登记 … (handlers/duties)
        duties.on_text(session, ev, target, ctx)
        return
    perform(
        session, ev.platform, ev.user_id, ev.conversation_id, parse_command(ev.text), target, ctx
    )


def on_card_action(session: Session, ev: CardAction, ctx: HandlerContext) -> None:
    """A card button click: the same path as the equivalent text command."""
    target = ReplyTarget(
        platform=ev.platform,
        user_id=ev.user_id,
        conversation_id=ev.conversation_id,
        from_text=False,
    )
    if ev.params.get("kind") in duties.CARD_KINDS:  # 代表履职 cards (handlers/duties)
        duties.on_card(session, ev, ctx)
        return
    if ev.action == Verb.CONFIRM_NOTICE:
        person = queries.person_by_platform(session, ev.platform, ev.user_id)
        if person is None:
            cards.reply(session, target, texts.unknown_person())
            return
        raw = ev.params.get("notice_id", "")
        notify.confirm(session, person, target, ctx, int(raw) if raw.isdigit() else None)
        return
    parsed = parse_command(card_command_text(ev))
    perform(session, ev.platform, ev.user_id, ev.conversation_id, parsed, target, ctx)


def card_command_text(ev: CardAction) -> str:
    """The text command a card click stands for, e.g. `#123 回复 已联系城管`."""
    try:
        verb = Verb(ev.action)
    except ValueError:
        return ev.action
    if verb not in CARD_VERBS:
        return ev.action
    raw = ev.params.get("case_id", "").strip()
    number = int(raw) if raw.isdigit() and len(raw) < 10 else 0  # 0: parsed as a bad number
    arg = next((ev.params[k].strip() for k in _ARG_PARAMS if ev.params.get(k, "").strip()), "")
    if verb == Verb.SHOW:
        return f"#{number}"
    return f"{texts.card_command(verb.value, number)} {arg}".strip()


def perform(
    session: Session,
    platform: str,
    user_id: str,
    conversation_id: str | None,
    parsed: Command | ParseError,
    target: ReplyTarget,
    ctx: HandlerContext,
) -> None:
    """Carry out one parsed command for whoever sent it."""
    if isinstance(parsed, ParseError):
        cards.reply(session, target, parsed.reason)
        return
    cmd = parsed
    if cmd.verb == Verb.UNKNOWN:
        cards.reply(session, target, cmd.hint or texts.unknown_command())
        return
    dept = _department_of_group(session, conversation_id)
    person = queries.person_by_platform(session, platform, user_id)
    if dept is not None and (person is None or _is_department_answer(session, dept, cmd)):
        _department_action(session, dept, cmd, target, ctx)
        return
    if person is None:
        cards.reply(session, target, texts.unknown_person())
        return
    if cmd.verb == Verb.HELP:
        cards.reply(session, target, texts.help_text(person.is_staff))
    elif cmd.verb == Verb.TODO:
        _todo(session, person, target, ctx)
    elif cmd.verb == Verb.NOTIFY:
        notify.on_command(session, person, cmd, target, ctx)
    elif cmd.verb == Verb.CONFIRM_NOTICE:
        notify.confirm(session, person, target, ctx)
    else:
        case_action(session, person, cmd, target, ctx)


# ---------------------------------------------------------------- case actions


def case_action(
    session: Session, person: Person, cmd: Command, target: ReplyTarget, ctx: HandlerContext
) -> None:
    """Check who may do what to the case, then apply the action (or refuse politely)."""
    number = cmd.case_number
    if number is None:
        cards.reply(session, target, texts.hint_missing_number(cmd.verb.value))
        return
    case = queries.lock_case(session, number)
    if case is None:
        cards.reply(session, target, texts.case_not_found(number))
        return
    if not queries.may_act(session, person, case):
        cards.reply(session, target, texts.not_your_station(number), case_id=number)
        return
    if cmd.verb in STAFF_ONLY and not person.is_staff:
        cards.reply(session, target, texts.staff_only(cmd.verb.value), case_id=number)
        return
    if case.source != BOT_SOURCE and cmd.verb != Verb.SHOW:
        # imported work orders (12345) have their own lifecycle: shown, never worked on here
        cards.reply(session, target, texts.imported_read_only(number), case_id=number)
        return
    if cmd.verb == Verb.SHOW:
        cards.reply(
            session, target, cards.case_card(session, number, ctx.now).as_text(), case_id=number
        )
        return
    if cmd.verb == Verb.CATEGORISE:  # anyone who may act on the case may correct it
        insight_command.categorise(
            session, case, cmd.arg, person.actor(_channel(target)), target, ctx
        )
        return
    if cmd.verb in (Verb.COSIGN, Verb.UNCOSIGN):  # whoever may act on the merged case
        undo = cmd.verb == Verb.UNCOSIGN
        actor = person.actor(_channel(target))
        cosign.on_command(session, case, actor, undo, cmd.arg, target, ctx)
        return
    if _held_by_other(case, person, cmd.verb):
        holder = queries.assignee_of(session, case)
        who = holder.title if holder else texts.unassigned()
        cards.reply(session, target, texts.already_claimed(number, who), case_id=number)
        cards.refresh_cards(session, case)  # the clicker's card catches up with who holds it
        return
    try:
        with session.begin_nested():
            _CASE_ACTIONS[cmd.verb](session, case, person, cmd, target, ctx)
    except InvalidTransition as exc:
        cards.reply(
            session,
            target,
            texts.invalid_transition(exc.status, exc.action, number),
            case_id=number,
        )
        cards.refresh_cards(session, _reload(session, number))


def _reload(session: Session, number: int) -> Case:
    case = session.get(Case, number, populate_existing=True)
    assert case is not None
    return case


def _held_by_other(case: Case, person: Person, verb: Verb) -> bool:
    """A claimed case belongs to its holder; staff may still act on it (except by claiming)."""
    if Status(case.status) not in HELD or case.claimed_at is None or queries.holds(person, case):
        return False
    return not person.is_staff or verb == Verb.CLAIM


def _move(
    session: Session,
    case: Case,
    action: Action,
    person: Person,
    target: ReplyTarget,
    ctx: HandlerContext,
    **payload: Any,
) -> None:
    """One lifecycle step by `person`; leaving need_info restarts the SLA clock."""
    before = case.status
    transition(session, case, action, person.actor(_channel(target)), ctx.now, **payload)
    if before == Status.NEED_INFO and case.status != Status.NEED_INFO:
        escalation.resume_clock(case, ctx)


def _done(
    session: Session, case: Case, target: ReplyTarget, ctx: HandlerContext, confirmation: str
) -> None:
    """After a step: new due times, a confirmation to the actor, and every card refreshed."""
    escalation.refresh_dues(session, case, ctx)
    cards.reply(session, target, confirmation, case_id=case.id)
    cards.refresh_cards(session, case)


def _tell_constituent(session: Session, case: Case, text: str, purpose: Purpose) -> None:
    queue_notice(
        session, ToConstituent(case.constituent_id, text, purpose=purpose), case_id=case.id
    )


def _claim(
    session: Session,
    case: Case,
    person: Person,
    cmd: Command,
    target: ReplyTarget,
    ctx: HandlerContext,
) -> None:
    if queries.holds(person, case) and Status(case.status) in _ALREADY_MINE:
        cards.reply(session, target, texts.claim_ok(case.id), case_id=case.id)  # a repeated click
        return
    previous = queries.assignee_of(session, case)
    _move(session, case, Action.CLAIM, person, target, ctx)
    _assign(case, person)
    case.claimed_at = ctx.now
    _done(session, case, target, ctx, texts.claim_ok(case.id))
    if previous is None or (previous.kind, previous.id) != (person.kind, person.id):
        cards.post_to_person(session, case, person)


def _assign(case: Case, person: Person) -> None:
    case.assignee_deputy_id = person.id if person.kind == "deputy" else None
    case.assignee_staff_id = person.id if person.kind == "staff" else None


def _reply(
    session: Session,
    case: Case,
    person: Person,
    cmd: Command,
    target: ReplyTarget,
    ctx: HandlerContext,
) -> None:
    _move(session, case, Action.REPLY, person, target, ctx, text=cmd.arg)
    rating.record_answer(session, case, cmd.arg, ctx)  # stores the answer, sends it and the menu
    _done(session, case, target, ctx, texts.reply_sending(case.id))


def _ask_info(
    session: Session,
    case: Case,
    person: Person,
    cmd: Command,
    target: ReplyTarget,
    ctx: HandlerContext,
) -> None:
    _move(session, case, Action.ASK_INFO, person, target, ctx, question=cmd.arg)
    escalation.pause_clock(case, ctx)
    who = texts.deputy_title(person.name) if person.kind == "deputy" else texts.staff_public_title()
    _tell_constituent(session, case, texts.need_info_request(who, case.id, cmd.arg), "info")
    _done(session, case, target, ctx, texts.ask_info_ok(case.id))


def _transfer(
    session: Session,
    case: Case,
    person: Person,
    cmd: Command,
    target: ReplyTarget,
    ctx: HandlerContext,
) -> None:
    dept = queries.find_department(session, cmd.target, case.region_id)
    if dept is None:
        cards.reply(session, target, texts.department_not_found(cmd.target), case_id=case.id)
        return
    _move(
        session, case, Action.TRANSFER, person, target, ctx,
        department_id=dept.id, department=dept.name, note=cmd.body,
    )  # fmt: skip
    case.department_id = dept.id
    if dept.dingtalk_group_id:
        cards.post_card(session, case, f"group:{dept.dingtalk_group_id}")
    _tell_constituent(session, case, texts.transferred_notice(case.id, dept.name), "info")
    _done(session, case, target, ctx, texts.transfer_ok(case.id, dept.name))


def _reject(
    session: Session,
    case: Case,
    person: Person,
    cmd: Command,
    target: ReplyTarget,
    ctx: HandlerContext,
) -> None:
    _move(session, case, Action.REJECT, person, target, ctx, reason=cmd.arg)
    case.closed_at = ctx.now
    _tell_constituent(session, case, texts.rejected_notice(case.id, cmd.arg), "answer")
    _done(session, case, target, ctx, texts.reject_ok(case.id))


def _reassign(
    session: Session,
    case: Case,
    person: Person,
    cmd: Command,
    target: ReplyTarget,
    ctx: HandlerContext,
) -> None:
    deputy = queries.find_deputy(session, cmd.target)
    if deputy is None:
        cards.reply(session, target, texts.deputy_not_found(cmd.target), case_id=case.id)
        return
    new = queries.deputy_person(session, deputy)
    _move(
        session, case, Action.REASSIGN, person, target, ctx,
        deputy_id=deputy.id, deputy=deputy.name, note=cmd.body,
    )  # fmt: skip
    _assign(case, new)
    case.claimed_at = None
    case.department_id = None
    if case.station_id is None and len(new.station_ids) == 1:
        case.station_id = next(iter(new.station_ids))
        station = session.get(Station, case.station_id)
        case.region_id = station.region_id if station else None
    cards.post_to_person(session, case, new)
    _done(session, case, target, ctx, texts.reassign_ok(case.id, new.title))


def _close(
    session: Session,
    case: Case,
    person: Person,
    cmd: Command,
    target: ReplyTarget,
    ctx: HandlerContext,
) -> None:
    _move(session, case, Action.CLOSE, person, target, ctx, note=cmd.arg)
    case.closed_at = ctx.now
    case.rating_due_at = None
    _tell_constituent(session, case, texts.closed_by_staff(case.id, cmd.arg), "info")
    _done(session, case, target, ctx, texts.close_ok(case.id))


_CASE_ACTIONS: dict[Verb, CaseFn] = {
    Verb.CLAIM: _claim,
    Verb.REPLY: _reply,
    Verb.ASK_INFO: _ask_info,
    Verb.TRANSFER: _transfer,
    Verb.REJECT: _reject,
    Verb.REASSIGN: _reassign,
    Verb.CLOSE: _close,
}


def _channel(target: ReplyTarget) -> str:
    return {"wecom_app": "wecom", "workbench": "workbench"}.get(target.platform, "dingtalk")


# ---------------------------------------------------------------- departments


def _department_of_group(session: Session, conversation_id: str | None) -> Department | None:
    """The department whose DingTalk group this is (card callbacks may prefix the space id)."""
    if not conversation_id:
        return None
    stmt = (
        select(Department).where(Department.dingtalk_group_id.is_not(None)).order_by(Department.id)
    )
    for dept in session.scalars(stmt):
        gid = dept.dingtalk_group_id or ""
        if conversation_id == gid or conversation_id.endswith(("." + gid, "/" + gid)):
            return dept
    return None


def _is_department_answer(session: Session, dept: Department, cmd: Command) -> bool:
    """A reply in a department's group to a case transferred to it is the department's answer."""
    if cmd.verb != Verb.REPLY or cmd.case_number is None:
        return False
    case = session.get(Case, cmd.case_number)
    return case is not None and case.department_id == dept.id and case.status == Status.TRANSFERRED


def _department_action(
    session: Session, dept: Department, cmd: Command, target: ReplyTarget, ctx: HandlerContext
) -> None:
    if cmd.case_number is None or cmd.verb not in (Verb.REPLY, Verb.SHOW):
        cards.reply(session, target, texts.department_help())
        return
    number = cmd.case_number
    case = queries.lock_case(session, number)
    if case is None:
        cards.reply(session, target, texts.case_not_found(number))
        return
    if case.department_id != dept.id:
        cards.reply(session, target, texts.not_transferred_to_you(number, dept.name))
        return
    if cmd.verb == Verb.SHOW:
        cards.reply(
            session, target, cards.case_card(session, number, ctx.now).as_text(), case_id=number
        )
        return
    try:
        with session.begin_nested():
            _department_answer(session, case, dept, cmd, target, ctx)
    except InvalidTransition as exc:
        cards.reply(
            session,
            target,
            texts.invalid_transition(exc.status, exc.action, number),
            case_id=number,
        )


def _department_answer(
    session: Session,
    case: Case,
    dept: Department,
    cmd: Command,
    target: ReplyTarget,
    ctx: HandlerContext,
) -> None:
    actor = Actor("dept", str(dept.id), _channel(target), dept.name)
    transition(
        session, case, Action.DEPT_ANSWER, actor, ctx.now, text=cmd.arg, department=dept.name
    )
    rating.record_answer(session, case, cmd.arg, ctx, department=dept.name)
    holder = queries.assignee_of(session, case)
    if holder is not None:
        cards.tell(
            session,
            [holder],
            texts.department_answer_to_handler(case.id, dept.name, cmd.arg),
            case.id,
        )
    cards.reply(session, target, texts.reply_sending(case.id), case_id=case.id)
    cards.refresh_cards(session, case)


# ---------------------------------------------------------------- 待办


def _todo(session: Session, person: Person, target: ReplyTarget, ctx: HandlerContext) -> None:
    column = Case.assignee_deputy_id if person.kind == "deputy" else Case.assignee_staff_id
    stmt = (
        select(Case)
        .where(column == person.id, Case.status.in_([s.value for s in OPEN]))
        .order_by(Case.id)
    )
    lines: list[texts.TodoLine] = []
    for case in session.scalars(stmt):
        deadline = queries.current_deadline(case)
        due = deadline[1] if deadline else None
        lines.append(
            texts.TodoLine(
                number=case.id,
                status=case.status,
                summary=case.text or texts.media_only_summary(),
                due=due,
                overdue=due is not None and due < ctx.now,
            )
        )
    lines.sort(
        key=lambda line: (not line.overdue, line.due is None, line.due or ctx.now, line.number)
    )
    cards.reply(session, target, texts.todo_list(lines))
