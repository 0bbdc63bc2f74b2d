"""Staff actions from the workbench: the same handlers and permission checks as DingTalk.

A form becomes the parsed command a deputy or staff member would have typed (`#12 改派 李娜`);
`handlers.actions.perform` checks permissions and the lifecycle exactly as for DingTalk, and
its confirmation is shown on the page (and, as from DingTalk, sent to the person's 1:1 chat).
"""

from __future__ import annotations

from flask import g
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from bot.runtime import Runtime
from handlers import actions
from handlers.cards import ReplyTarget
from handlers.commands import Command, Verb
from handlers.lifecycle import InvalidTransition
from handlers.workbench.scope import Viewer
from storage.models import OutboxItem
from storage.outbox import take_new_outbox_ids

VERBS = {
    "reassign": Verb.REASSIGN,
    "transfer": Verb.TRANSFER,
    "close": Verb.CLOSE,
    "reject": Verb.REJECT,
    "cosign": Verb.COSIGN,
    "uncosign": Verb.UNCOSIGN,
    "categorise": Verb.CATEGORISE,
}
NEEDS_ARG = {
    "reassign": "请选择改派的代表。",
    "transfer": "请选择转办的部门。",
    "reject": "请填写不予受理的理由。",
    "categorise": "请选择类别。",
    "cosign": "请填写要附议的诉求编号。",
}


def perform(
    rt: Runtime, session: Session, viewer: Viewer, number: int, form: MultiDict[str, str]
) -> str:
    """Carry out one action on case `number`; the Chinese confirmation or refusal to show."""
    from bot.pipeline.context import handler_context

    verb = form.get("verb", "")
    arg = " ".join(form.get("arg", "").split())[:500]
    if verb not in VERBS:
        return "未知的操作。"
    if verb in NEEDS_ARG and not arg:
        return NEEDS_ARG[verb]
    if verb == "cosign" and arg:  # the number of the case it joins, as typed in DingTalk
        arg = "#" + arg.lstrip("#＃")
    user_id = viewer.person.dingtalk_user_id or ""
    # logged on the case as done in the workbench; the confirmation also reaches their 1:1 chat
    target = ReplyTarget(platform="workbench", user_id=user_id, from_text=False)
    try:
        with session.begin_nested():
            actions.perform(
                session,
                "dingtalk",
                user_id,
                None,
                Command(VERBS[verb], number, arg),
                target,
                handler_context(rt, session),
            )
    except InvalidTransition as exc:
        session.info.pop("lianxin.new_outbox_ids", None)
        return exc.user_message
    new_ids = take_new_outbox_ids(session)
    g.wb_outbox = [*getattr(g, "wb_outbox", []), *new_ids]
    return _reply_to(session, user_id, new_ids) or "已提交。"


def _reply_to(session: Session, user_id: str, outbox_ids: list[int]) -> str:
    """The confirmation the handlers queued for the acting person (among this action's sends)."""
    from sqlalchemy import select

    rows = session.scalars(
        select(OutboxItem).where(OutboxItem.id.in_(outbox_ids)).order_by(OutboxItem.id)
    )
    for row in rows:
        payload = row.payload or {}
        users = payload.get("user_ids") or [payload.get("user_id")]
        if user_id in users and payload.get("text"):
            return str(payload["text"])
    return ""
