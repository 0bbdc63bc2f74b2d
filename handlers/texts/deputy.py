"""What deputies and staff read in DingTalk: cards, confirmations, refusals, help, 待办."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from handlers.texts.common import (
    CARD_FIELD_LABELS,
    NEW_CASE_KEYWORD,
    SLA_LABELS,
    _local,
    _num,
    action_label,
    fmt_hm,
    fmt_when,
    rating_label,
    status_label,
)


def budget_exhausted_held(number: int) -> str:
    """To staff: a message to the constituent is held because the 48-hour quota is used up."""
    return (
        f"{_num(number)} 有消息暂未发给群众：群众 48 小时内未再来消息，可发送条数已用完。"
        "消息已保存，群众再次来消息时会自动补发；如较紧急，请电话联系群众。"
    )


PROVISIONAL_MARK = "（暂定）"  # the year's holidays are not entered yet: counted Monday–Friday


def card_title(number: int, station: str) -> str:
    """Title line of a case card."""
    return f"群众诉求 {_num(number)} · {station}"


def card_status_line(status: str) -> str:
    """Status line of a case card."""
    return f"{CARD_FIELD_LABELS['status']}：{status_label(status)}"


def card_due_line(what: str, due: datetime, provisional: bool = False) -> str:
    """The next deadline on a card: 接单时限：10月8日 16:00, marked （暂定） when provisional."""
    mark = PROVISIONAL_MARK if provisional else ""
    return f"{SLA_LABELS.get(what, what)}时限：{fmt_when(due)}{mark}"


def claimed_by(handler: str, at: datetime, today: date | None = None) -> str:
    """Card line after a claim: 已由张代表接单 10:42 (date added when not `today`)."""
    when = fmt_hm(at) if today is None or today == _local(at).date() else fmt_when(at)
    return f"已由{handler}接单 {when}"


def awaiting_claim(handler: str) -> str:
    """Card line while the case waits to be claimed: 待张代表接单."""
    return f"待{handler}接单"


_HEADLINE_CHARS = 20


def card_headline(number: int, text: str) -> str:
    """Card headline: the number and the start of the problem description."""
    summary = " ".join(text.split())
    if len(summary) > _HEADLINE_CHARS:
        summary = summary[:_HEADLINE_CHARS] + "…"
    return f"{_num(number)} {summary}" if summary else _num(number)


def case_detail(title: str, fields: Sequence[tuple[str, str]], holder_line: str = "") -> str:
    """A case as plain text lines (reply to `#123`, markdown fallback of a card)."""
    lines = [title, *(f"{label}：{value}" for label, value in fields)]
    if holder_line:
        lines.append(holder_line)
    return "\n".join(lines)


def card_command(action: str, number: int) -> str:
    """The text command equivalent to a card button (`#123 接单`; text-taking ones need more)."""
    return f"{_num(number)} {_COMMAND_WORDS.get(action, action_label(action))}"


def station_unknown() -> str:
    """Card value when no station is known yet."""
    return "待确定"


def unassigned() -> str:
    """Card value when nobody holds the case."""
    return "待分派"


def mask_constituent(external_id: str) -> str:
    """A constituent shown on a card without personal data: 群众（…a1b2）."""
    tail = external_id.strip()[-4:]
    return f"群众（…{tail}）" if tail else "群众"


def attachment_summary(counts: Mapping[str, int]) -> str:
    """Card value for what the constituent sent: 图片 2 张、语音 1 条（见卡片下方）."""
    parts = [
        f"{_MEDIA_LABELS.get(kind, '附件')} {n} {_MEDIA_UNITS.get(kind, '个')}"
        for kind, n in counts.items()
        if n
    ]
    return "、".join(parts) + "（见卡片下方）"


def rating_with_reason(label: str, reason: str) -> str:
    """The card's 群众评价 with the constituent's reason: 不满意（路灯还是不亮）."""
    short = reason if len(reason) <= 40 else reason[:40] + "…"
    return f"{label}（{short}）"


def media_file_name(number: int, kind: str, suffix: str) -> str:
    """How a voice note or file from the constituent is named in DingTalk: 语音-123.amr."""
    return f"{_MEDIA_LABELS.get(kind, '附件')}-{number}{suffix}"


def media_only_summary() -> str:
    """Headline of a case that has attachments but no text yet."""
    return "（仅附图片等，暂无文字描述）"


def claim_ok(number: int) -> str:
    """Reply to the deputy who claimed."""
    return f"您已接单 {_num(number)}，请及时办理并回复群众，谢谢。"


def reply_sending(number: int) -> str:
    """Reply to the deputy at once: the answer is on its way (not yet known to have arrived)."""
    return f"{_num(number)} 的答复已提交，正在发送给群众；如未能送达，会再告诉您，谢谢。"


def answer_held(number: int, *, closed: bool, staff_told: bool) -> str:
    """To the deputy: the answer waits for the constituent's next message (WeCom's kf rules)."""
    if closed:
        why = "群众超过 48 小时未发消息，微信规定需等其再次来信"
    else:
        why = "本轮可发给群众的消息条数已用完，需等其再次来信"
    who = "已告知联络站工作人员" if staff_told else "暂无联络站工作人员可通知"
    return f"{_num(number)} 的答复暂未送达：{why}，来信后自动补发。{who}，如较紧急请电话联系群众。"


def answer_failed(number: int, code: str, meaning: str) -> str:
    """To the deputy: the answer could not be delivered (code and meaning)."""
    return (
        f"{_num(number)} 的答复未能送达群众（错误 {code}：{meaning}）。"
        "请通过电话等方式联系群众，或稍后重新回复，谢谢。"
    )


def answer_delivered(number: int) -> str:
    """To the deputy, once: a held answer has now reached the constituent."""
    return f"{_num(number)} 的答复现已送达群众，谢谢。"


_DELIVERY_LABELS: Mapping[str, str] = {
    "sending": "答复发送中",
    "held": "答复待送达（待群众再次来信后补发）",
    "failed": "答复未送达",
    "sent": "答复已送达",
}


def delivery_label(state: str, code: str = "") -> str:
    """The card's 送达情况 value: sending, held, failed (with its code) or sent."""
    label = _DELIVERY_LABELS.get(state, _DELIVERY_LABELS["sending"])
    return f"{label}（错误 {code}）" if state == "failed" and code else label


_SEND_ERRORS: Mapping[str, str] = {
    "95000": "客服账号无效",
    "95001": "本轮可发消息条数已用完",
    "95002": "群众超过 48 小时未发消息",
    "95018": "会话已由人工客服接待，机器人不能发送",
    "40096": "群众的微信账号无效",
    "timeout": "微信接口无应答",
    "connection": "无法连接微信接口",
    "msg_send_fail": "微信报告消息未能投递给群众",
}


def send_error_meaning(code: str) -> str:
    """A short Chinese meaning of a send error code (WeCom errcode or transport failure)."""
    return _SEND_ERRORS.get(code, "发送失败")


def transfer_ok(number: int, department: str) -> str:
    """Reply after a transfer."""
    return f"{_num(number)} 已转办 {department}，谢谢。"


def ask_info_ok(number: int) -> str:
    """Reply after asking the constituent for more detail."""
    return f"已请群众补充 {_num(number)} 的情况，收到后会通知您。"


def supplement_arrived(number: int, text: str) -> str:
    """To the handler: the constituent added detail."""
    return f"群众补充（{_num(number)}）：{text}"


def supplement_media_arrived(number: int, kind: str, *, shown: bool = True) -> str:
    """To the handler: the constituent sent a photo, voice note, video or file."""
    what = _MEDIA_LABELS.get(kind, "附件")
    if shown:
        return f"群众补充了{what}（{_num(number)}），见下一条消息。"
    return f"群众补充了{what}（{_num(number)}），目前只能在钉钉中查看，请联系联络站工作人员。"


_MEDIA_LABELS: Mapping[str, str] = {
    "image": "图片",
    "voice": "语音",
    "video": "视频",
    "file": "文件",
}
_MEDIA_UNITS: Mapping[str, str] = {"image": "张", "voice": "条", "video": "段", "file": "个"}


def location_text(label: str | None, lat: float | None, lng: float | None) -> str:
    """A shared location as text: 位置：name（lat, lng）, either part alone when missing."""
    where = f"{lat:.5f}, {lng:.5f}" if lat is not None and lng is not None else ""
    if label and where:
        return f"位置：{label}（{where}）"
    if label or where:
        return f"位置：{label or where}"
    return "位置"


def department_answer_to_handler(number: int, department: str, text: str) -> str:
    """To the handler: the department answered a transferred case (the constituent has it)."""
    return f"{department}已答复 {_num(number)}，答复已转给群众：{text}"


def reopened_to_staff(number: int, handler: str, reason: str | None) -> str:
    """Copy to station staff: a case went back to its handler after 不满意."""
    why = f"\n群众意见：{reason}" if reason else "\n群众未说明具体原因。"
    return f"请关注：群众对 {_num(number)} 的答复不满意，已退回{handler}重新办理。{why}"


def delivery_failed(number: int) -> str:
    """To station staff: a message about the case did not reach the constituent."""
    return f"{_num(number)} 有一条消息未能送达群众，如较紧急，请电话联系群众。"


_ROUTE_REASONS: Mapping[str, str] = {
    "roster": "按值班表分派给当日值班代表",
    "substitute": "值班代表请假，由代班代表接替",
    "tie_break": "当日多位代表值班，分派给待办最少的代表",
    "staff_fallback": "当日无代表值班，分派给联络站工作人员",
    "office_fallback": "当日无代表值班且联络站无工作人员，分派给区域工作人员",
    "no_handler": "暂无可分派的代表或工作人员",
}


def route_reason(reason: str, stands_in_for: str | None = None) -> str:
    """Why a case went to its handler, as shown on the case's history."""
    text = _ROUTE_REASONS.get(reason, reason)
    return f"{text}（代{stands_in_for}）" if stands_in_for else text


def reject_ok(number: int) -> str:
    """Reply after 不予受理."""
    return f"{_num(number)} 已标记为不予受理，原因已告知群众。"


def reassign_ok(number: int, handler: str) -> str:
    """Reply after a staff reassignment."""
    return f"{_num(number)} 已改派给{handler}。"


def close_ok(number: int) -> str:
    """Reply after a staff close."""
    return f"{_num(number)} 已办结，谢谢。"


def rating_to_handler(number: int, value: str, reason: str | None = None) -> str:
    """To the handler: how the constituent rated the answer."""
    text = f"群众对 {_num(number)} 的评价：{rating_label(value)}"
    return f"{text}\n意见：{reason}" if reason else text


def reopened_to_handler(number: int, reason: str | None) -> str:
    """To the handler (copy to station staff): the case is back after 不满意."""
    why = f"\n群众意见：{reason}" if reason else "\n群众未说明具体原因。"
    return f"群众对 {_num(number)} 的答复不满意，已退回请您重新办理。{why}"


# ---------------------------------------------------------------- refusals


def not_your_station(number: int) -> str:
    """The actor is not a deputy or staff member of the case's station."""
    return f"抱歉，{_num(number)} 不属于您所在的联络站，无法操作。"


def imported_read_only(number: int) -> str:
    """The case is a 12345 work order: the hotline's units handle it; here it is only shown."""
    return (
        f"抱歉，{_num(number)} 是从 12345 热线导入的工单，由热线承办单位办理，"
        "这里只能查看，无法操作。"
    )


def already_claimed(number: int, handler: str) -> str:
    """Someone else holds the case."""
    return f"{_num(number)} 已由{handler}接单，无需重复处理，谢谢。"


def invalid_transition(status: str, action: str, number: int | None = None) -> str:
    """Refusal of an action the state machine does not allow in `status` (number optional)."""
    label = action_label(action)
    subject = f"{_num(number)} " if number is not None else ""
    if status == "assigned" and action in ("reply", "transfer", "ask_info"):
        how = f"「#{number} 接单」" if number is not None else "「#编号 接单」"
        return f"{subject}尚未接单，请先发送{how}，再进行{label}。"
    return f"{subject}当前状态为「{status_label(status)}」，无法{label}。"


def case_not_found(number: int) -> str:
    """No case has this number."""
    return f"未找到诉求 {_num(number)}，请核对编号。"


def staff_only(action: str) -> str:
    """A deputy tried a staff-only action."""
    return f"抱歉，「{action_label(action)}」需由联络站工作人员操作。"


def unknown_person() -> str:
    """The sender is not registered as a deputy or staff member."""
    return "抱歉，您尚未登记为代表或工作人员，请联系联络站工作人员开通，谢谢。"


def department_not_found(name: str) -> str:
    """转办 target unknown."""
    return f"未找到部门「{name}」，请核对名称后重试。"


def not_transferred_to_you(number: int, department: str) -> str:
    """A department group acted on a case that was not transferred to it."""
    return f"抱歉，{_num(number)} 未转办给{department}，无法操作。"


def department_help() -> str:
    """What a department's group can do with the bot."""
    return "转办部门可用指令：「#123」查看诉求；「#123 回复 答复内容」答复群众。"


def deputy_not_found(name: str) -> str:
    """改派 target unknown or ambiguous."""
    return f"未找到代表「{name}」（或有重名），请核对姓名或编号后重试。"


def rating_not_yours() -> str:
    """A rating for a case the constituent did not raise."""
    return "抱歉，这条评价对应的问题不是您反映的，无法评价。"


def already_rated(number: int) -> str:
    """The answer was rated before."""
    return f"您已评价过问题 {_num(number)}，谢谢！如有新问题，请发送「{NEW_CASE_KEYWORD}」。"


def rating_not_open(number: int) -> str:
    """Rating arrived when the case has no answer waiting for a rating."""
    return f"问题 {_num(number)} 目前没有待评价的答复，谢谢。"


# ---------------------------------------------------------------- command help and parse hints

# The canonical word of each text command (commands.py also accepts synonyms).
_COMMAND_WORDS: Mapping[str, str] = {
    "claim": "接单",
    "reply": "回复",
    "transfer": "转办",
    "ask_info": "补充",
    "reject": "不予受理",
    "reassign": "改派",
    "close": "办结",
    "categorise": "分类",
}

_COMMAND_EXAMPLES: Mapping[str, str] = {
    "claim": "#123 接单",
    "reply": "#123 回复 已联系城管，本周内修复",
    "transfer": "#123 转办 住建局",
    "ask_info": "#123 补充 请提供具体楼号",
    "reject": "#123 不予受理 不属于人大代表职责范围",
    "reassign": "#123 改派 李四",
    "close": "#123 办结 已现场核实",
    "show": "#123",
    "todo": "待办",
    "help": "帮助",
    "notify": "通知 城南联络站 周五下午三点开会",
    "confirm_notice": "确认",
    "categorise": "#123 分类 停车",
    "cosign": "#15 附议 #12",
    "uncosign": "#15 取消附议",
}


def command_example(verb: str) -> str:
    """An example of the command for `verb` (a commands.Verb value)."""
    return _COMMAND_EXAMPLES.get(verb, "帮助")


# Every command the parsers accept, as (example, what it does); help_text shows them all and
# tests/handlers/test_help.py fails when a parser accepts a command that is not listed here.
HELP_COMMANDS: tuple[tuple[str, str], ...] = (
    ("#123", "查看诉求"),
    ("#123 接单", ""),
    ("#123 回复 答复内容", ""),
    ("#123 转办 部门名称", ""),
    ("#123 补充 需群众补充的内容", ""),
    ("#123 不予受理 原因", ""),
    ("#123 分类 停车", "更正分类"),
    ("#15 附议 #12", "把 #15 合并为 #12 的附议"),
    ("#15 取消附议", ""),
    ("待办", "我的待办"),
    ("确认", "确认最新通知"),
    ("帮助", "显示本说明"),
)
HELP_DUTIES: tuple[tuple[str, str], ...] = (
    ("#征集3 1A 2BC 3 具体意见", "回答意见征集（截止前可修改）"),
    ("#征集3 2+D", "多选题加选或取消一项"),
    ("#征集3", "查看我的回答"),
    ("#投票5 1A", "投票（一人一票，投出后不能更改）"),
    ("#会议7 报名", "报名参加会议或活动"),
    ("#会议7 请假 外出调研", "请假（需写明理由）"),
    ("#会议7 签到", "会场签到（工作人员开放按钮签到时）"),
    ("#签到7 签到码", "扫描会场签到二维码时自动发送"),
    ("#阅文5", "打开文件"),
    ("#阅文5 已阅", "确认已阅"),
    ("登记 走访 12月3日 东湖村 走访选民10户", "登记线下履职活动（可附照片）"),
)
HELP_STAFF: tuple[tuple[str, str], ...] = (
    ("#123 改派 代表姓名", ""),
    ("#123 办结 说明", "说明可省略"),
    ("通知 城南联络站 周五下午三点开会", "向区域或联络站发通知"),
    ("确认登记 12", "确认代表登记的履职活动"),
)


def _help_lines(entries: tuple[tuple[str, str], ...]) -> list[str]:
    return [f"「{example}」{what}" for example, what in entries]


def help_text(is_staff: bool = False) -> str:
    """Every command with an example: cases, 代表履职, and (for staff) the staff commands."""
    lines = ["可用指令（# 可省略）：", *_help_lines(HELP_COMMANDS)]
    lines += ["代表履职：", *_help_lines(HELP_DUTIES)]
    if is_staff:
        lines += ["工作人员另可用：", *_help_lines(HELP_STAFF)]
    return "\n".join(lines)


def unknown_command(word: str | None = None) -> str:
    """Reply to text that is not a command, with the grammar."""
    head = f"抱歉，没有识别「{word}」这个操作。" if word else "抱歉，没有识别这条指令。"
    return f"{head}\n{help_text()}"


def hint_missing_number(verb: str) -> str:
    """A case command without a case number."""
    return f"请写明诉求编号，例如「{command_example(verb)}」。"


def hint_bad_number() -> str:
    """A case number that cannot be a case number."""
    return "诉求编号不正确，请核对，例如「#123 接单」。"


_MISSING_ARG: Mapping[str, str] = {
    "reply": "请在指令后写上答复内容",
    "transfer": "请写明转办的部门",
    "ask_info": "请写明需要群众补充的内容",
    "reject": "请写明不予受理的原因",
    "reassign": "请写明改派给哪位代表（姓名或编号）",
    "notify": "请写明通知的区域或联络站，以及通知内容",
}


def hint_missing_arg(verb: str) -> str:
    """A command whose required text is missing, with an example."""
    need = _MISSING_ARG.get(verb, "指令不完整")
    return f"{need}，例如「{command_example(verb)}」。"


# ---------------------------------------------------------------- 待办 list


@dataclass(frozen=True)
class TodoLine:
    """One open case in a 待办 list."""

    number: int
    status: str
    summary: str
    due: datetime | None = None
    overdue: bool = False


_TODO_MAX_ITEMS = 10
_TODO_SUMMARY_CHARS = 18


def todo_list(items: Sequence[TodoLine], max_items: int = _TODO_MAX_ITEMS) -> str:
    """The 待办 reply: one short line per case, overdue first is the caller's choice of order."""
    if not items:
        return "您目前没有待办的诉求，谢谢您的付出！"
    lines = [f"您有 {len(items)} 件待办："]
    for item in items[:max_items]:
        summary = item.summary.strip().replace("\n", " ")
        if len(summary) > _TODO_SUMMARY_CHARS:
            summary = summary[:_TODO_SUMMARY_CHARS] + "…"
        due = ""
        if item.due is not None:
            due = f"（{'已超时' if item.overdue else '时限'} {fmt_when(item.due)}）"
        lines.append(f"{_num(item.number)} {status_label(item.status)} {summary}{due}")
    if len(items) > max_items:
        lines.append(f"……另有 {len(items) - max_items} 件未列出。")
    lines.append("发送「#编号」查看详情。")
    return "\n".join(lines)


CARD_DETAIL_LINK = "查看详情与图片（工作台）"
