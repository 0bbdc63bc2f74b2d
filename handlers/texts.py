"""Every user-facing Chinese text of lianxin, in one place, in one polite tone (您 / 请 / 谢谢).

Screens on WeChat and DingTalk are small: keep each text to a few short lines. Functions take
named fields and return finished strings; callers never concatenate Chinese themselves.
Case numbers are shown as ``#123``; times are shown in Beijing time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

BEIJING = ZoneInfo("Asia/Shanghai")

NEW_CASE_KEYWORD = "新问题"

# ---------------------------------------------------------------- labels


STATUS_LABELS: Mapping[str, str] = {
    "new": "待分派",
    "assigned": "待接单",
    "accepted": "办理中",
    "need_info": "待补充",
    "transferred": "已转办",
    "replied": "已答复",
    "reopened": "重新办理",
    "closed": "已办结",
    "rejected": "不予受理",
    "merged": "已合并",
    "expired": "已关闭（未评价）",
}

# Keys match storage's Rating.value; order is the order of the menu.
RATING_LABELS: Mapping[str, str] = {
    "satisfied": "满意",
    "basic": "基本满意",
    "unsatisfied": "不满意",
}
UNRATED_LABEL = "未评价"

# Actions a person can attempt on a case (command verbs and state-machine actions alike).
ACTION_LABELS: Mapping[str, str] = {
    "route": "分派",
    "claim": "接单",
    "reply": "回复",
    "ask_info": "要求补充",
    "info_provided": "补充情况",
    "transfer": "转办",
    "dept_answer": "部门答复",
    "rate": "评价",
    "rate_ok": "评价",
    "rate_bad": "评价",
    "expire": "关闭",
    "reject": "不予受理",
    "merge": "合并",
    "reassign": "改派",
    "close": "办结",
    "show": "查看",
    "notify": "发通知",
}

# What an SLA step is about (matches SlaPolicy: claim_days / answer_days / close_days).
SLA_LABELS: Mapping[str, str] = {
    "claim": "接单",
    "answer": "答复",
    "close": "办结",
}

CARD_FIELD_LABELS: Mapping[str, str] = {
    "number": "编号",
    "constituent": "反映人",
    "status": "状态",
    "station": "联络站",
    "handler": "承办人",
    "department": "承办部门",
    "category": "类别",
    "summary": "问题描述",
    "location": "位置",
    "attachments": "附件",
    "opened_at": "反映时间",
    "due": "办理时限",
    "answer": "答复内容",
    "rating": "群众评价",
}

CARD_BUTTON_LABELS: Mapping[str, str] = {
    "claim": "接单",
    "reply": "回复",
    "transfer": "转办",
    "ask_info": "需补充",
    "reject": "不予受理",
}

_COMPOUND_SURNAMES = frozenset(
    {
        *("欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙"),
        *("令狐", "宇文", "夏侯", "司徒", "轩辕", "端木", "南宫", "西门", "独孤", "呼延"),
        *("万俟", "申屠", "澹台", "公冶", "太史", "闻人", "赫连", "钟离"),
    }
)


def status_label(status: str) -> str:
    """Chinese label of a lifecycle status (the raw value if unknown)."""
    return STATUS_LABELS.get(status, status)


def rating_label(value: str) -> str:
    """Chinese label of a rating value, including 未评价."""
    return RATING_LABELS.get(value, UNRATED_LABEL if value == "unrated" else value)


def action_label(action: str) -> str:
    """Chinese label of an action (the raw value if unknown)."""
    return ACTION_LABELS.get(action, action)


def deputy_title(full_name: str) -> str:
    """How a deputy is addressed to the public: 张伟 → 张代表, 欧阳娜娜 → 欧阳代表."""
    name = full_name.strip()
    if not name:
        return "代表"
    if name.endswith("代表"):
        return name
    is_han = all("\u4e00" <= ch <= "\u9fff" for ch in name)
    if not is_han or len(name) < 2:
        # Non-Han or one-character names: a surname cannot be split off safely.
        return f"{name}代表"
    surname = name[:2] if name[:2] in _COMPOUND_SURNAMES and len(name) > 2 else name[0]
    return f"{surname}代表"


def staff_title(name: str) -> str:
    """How a staff member is named to deputies and staff: 工作人员王芳."""
    name = name.strip()
    return f"工作人员{name}" if name else "工作人员"


def staff_public_title() -> str:
    """How staff are named to constituents (their names stay internal)."""
    return "联络站工作人员"


def _local(t: datetime) -> datetime:
    """`t` in Beijing time; a naive `t` is taken as UTC (the storage convention)."""
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return t.astimezone(BEIJING)


def fmt_hm(t: datetime) -> str:
    """Beijing wall-clock time as 10:42."""
    return _local(t).strftime("%H:%M")


def fmt_when(t: datetime) -> str:
    """Beijing date and time as 10月8日 16:00."""
    local = _local(t)
    return f"{local.month}月{local.day}日 {local:%H:%M}"


def _num(number: int) -> str:
    return f"#{number}"


def _handler_part(station: str, handler: str | None) -> str:
    return f"{station} {handler}" if handler else station


# ---------------------------------------------------------------- constituent side (WeChat)


def welcome(station: str | None) -> str:
    """Greeting when the chat is opened (sent with the kf welcome_code, outside the quota)."""
    where = f"{station}的" if station else ""
    return (
        f"您好，欢迎联系{where}人大代表！请直接描述您遇到的问题或建议，"
        "也可以附上照片或位置，我们会尽快转交代表办理。"
    )


def ack_new_case(number: int, station: str, handler: str | None, days: float = 1) -> str:
    """Receipt for a new case: number, who has it, when to expect progress, how to go on."""
    return (
        f"已收到您反映的问题，编号 {_num(number)}，已转交 {_handler_part(station, handler)}，"
        f"我们会在 {_days(days)} 个工作日内回复您进展。"
        f"如需补充，直接回复本消息即可；如要反映新问题，请发送「{NEW_CASE_KEYWORD}」。"
    )


def _days(days: float) -> str:
    return str(int(days)) if float(days).is_integer() else f"{days:g}"


def follow_up_joined(number: int) -> str:
    """A follow-up message was attached to the open case."""
    return f"已将您补充的内容并入问题 {_num(number)}，谢谢。"


def new_case_prompt() -> str:
    """Answer to 新问题: invite the description of the next problem."""
    return "好的，请直接描述您要反映的新问题，也可以附上照片或位置。"


def ask_to_describe() -> str:
    """Answer to an empty message, sticker or anything we cannot read."""
    return "抱歉，暂时无法识别这条消息。请用文字描述您遇到的问题，也可以附上照片或位置，谢谢。"


def choose_station_head() -> str:
    """Head text of the choose-a-station menu."""
    return "请选择您要联系的代表联络站（也可以发送您的位置，我们为您匹配最近的联络站）："


def station_matched(station: str) -> str:
    """The nearest station was picked from a shared location."""
    return f"已根据您的位置为您匹配 {station}，请描述您要反映的问题。"


def ack_choose_station(number: int) -> str:
    """Receipt for a new case whose station is not known yet; a menu of stations follows."""
    return f"已收到您反映的问题，编号 {_num(number)}。{choose_station_head()}"


def ack_unrouted(number: int) -> str:
    """Receipt for a new case when no station can be offered; staff will take it up."""
    return (
        f"已收到您反映的问题，编号 {_num(number)}，工作人员会尽快为您转交代表办理。"
        f"如需补充，直接回复本消息即可；如要反映新问题，请发送「{NEW_CASE_KEYWORD}」。"
    )


def station_chosen(station: str) -> str:
    """The constituent picked a station from the menu before describing a problem."""
    return f"已为您选择 {station}，请描述您要反映的问题，也可以附上照片或位置。"


def location_received() -> str:
    """A location arrived without a problem description."""
    return "已收到您的位置，请再用文字描述一下您遇到的问题，谢谢。"


def closed_by_staff(number: int, note: str = "") -> str:
    """Staff closed the case (办结), with their note if any."""
    extra = f"说明：{note}\n" if note else ""
    return (
        f"您反映的问题 {_num(number)} 已办结。{extra}"
        f"感谢您的反映！如仍有问题，请发送「{NEW_CASE_KEYWORD}」。"
    )


def answer_to_constituent(handler: str, number: int, text: str) -> str:
    """A deputy's (or staff member's) answer relayed to the constituent."""
    return f"{handler}答复（{_num(number)}）：{text}"


def department_answer(department: str, number: int, text: str) -> str:
    """A department's answer relayed to the constituent."""
    return f"{department}答复（{_num(number)}）：{text}"


def rating_head(number: int) -> str:
    """Head text of the rating menu."""
    return f"请您对问题 {_num(number)} 的办理情况进行评价："


def rating_options() -> Sequence[tuple[str, str]]:
    """Rating menu items as (value, label), in display order."""
    return tuple(RATING_LABELS.items())


def rating_thanks(number: int, value: str) -> str:
    """Thanks after a rating; 不满意 gets its own follow-up instead."""
    return (
        f"感谢您对问题 {_num(number)} 给出「{rating_label(value)}」的评价！"
        f"如有新问题，欢迎随时发送「{NEW_CASE_KEYWORD}」。"
    )


def unsatisfied_follow_up(number: int) -> str:
    """The one short question asked after 不满意."""
    return f"很抱歉没能让您满意。请简单说说问题 {_num(number)} 哪里还不满意，我们会请代表重新办理。"


def reopened_notice(number: int, handler: str) -> str:
    """Tells the constituent the case went back to its handler."""
    return f"已将您的意见转给{handler}重新办理（{_num(number)}），有进展会及时告诉您，谢谢。"


def closed_unrated(number: int) -> str:
    """The case closed without a rating after the waiting period."""
    return (
        f"问题 {_num(number)} 已办结（未评价）。感谢您的反映！"
        f"如仍有问题，请发送「{NEW_CASE_KEYWORD}」。"
    )


def need_info_request(handler: str, number: int, question: str) -> str:
    """A deputy asks the constituent for more detail."""
    return f"{handler}需要您补充（{_num(number)}）：{question}\n请直接回复本消息，谢谢。"


def transferred_notice(number: int, department: str) -> str:
    """The case was transferred to a department."""
    return f"您反映的问题 {_num(number)} 已转交 {department} 办理，有答复会及时告诉您。"


def rejected_notice(number: int, reason: str) -> str:
    """The case is not accepted, with the reason."""
    return (
        f"很抱歉，您反映的问题 {_num(number)} 不予受理，原因：{reason}\n"
        f"如有疑问，请发送「{NEW_CASE_KEYWORD}」重新反映，谢谢理解。"
    )


def merged_notice(number: int, into: int) -> str:
    """The case was merged into a similar one as a co-signer (附议)."""
    return (
        f"您反映的问题 {_num(number)} 与问题 {_num(into)} 相同，已合并办理，"
        "答复会一并告诉您，谢谢。"
    )


# ---------------------------------------------------------------- deputy / staff side (DingTalk)


def budget_exhausted_held(number: int) -> str:
    """To staff: a message to the constituent is held because the 48-hour quota is used up."""
    return (
        f"{_num(number)} 有消息暂未发给群众：群众 48 小时内未再来消息，可发送条数已用完。"
        "消息已保存，群众再次来消息时会自动补发；如较紧急，请电话联系群众。"
    )


def card_title(number: int, station: str) -> str:
    """Title line of a case card."""
    return f"群众诉求 {_num(number)} · {station}"


def card_status_line(status: str) -> str:
    """Status line of a case card."""
    return f"{CARD_FIELD_LABELS['status']}：{status_label(status)}"


def card_due_line(what: str, due: datetime) -> str:
    """The next deadline shown on a card: 接单时限：10月8日 16:00."""
    return f"{SLA_LABELS.get(what, what)}时限：{fmt_when(due)}"


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


def attachment_count(count: int) -> str:
    """Card value for the number of photos, voice notes and locations sent."""
    return f"{count} 个"


def media_only_summary() -> str:
    """Headline of a case that has attachments but no text yet."""
    return "（仅附图片等，暂无文字描述）"


def claim_ok(number: int) -> str:
    """Reply to the deputy who claimed."""
    return f"您已接单 {_num(number)}，请及时办理并回复群众，谢谢。"


def reply_sent(number: int) -> str:
    """Reply to the deputy after the answer was sent to the constituent."""
    return f"{_num(number)} 的答复已发送给群众，谢谢。"


def reply_held(number: int) -> str:
    """Reply to the deputy when the answer is saved but waits for the constituent's next message."""
    return f"{_num(number)} 的答复已保存，将在群众下次来消息时送达，谢谢。"


def transfer_ok(number: int, department: str) -> str:
    """Reply after a transfer."""
    return f"{_num(number)} 已转办 {department}，谢谢。"


def ask_info_ok(number: int) -> str:
    """Reply after asking the constituent for more detail."""
    return f"已请群众补充 {_num(number)} 的情况，收到后会通知您。"


def supplement_arrived(number: int, text: str) -> str:
    """To the handler: the constituent added detail."""
    return f"群众补充（{_num(number)}）：{text}"


def supplement_media_arrived(number: int, kind: str) -> str:
    """To the handler: the constituent sent a photo, voice note, video or file."""
    what = _MEDIA_LABELS.get(kind, "附件")
    return f"群众补充了{what}（{_num(number)}），请在工作台查看。"


_MEDIA_LABELS: Mapping[str, str] = {
    "image": "图片",
    "voice": "语音",
    "video": "视频",
    "file": "文件",
}


def location_text(label: str | None, lat: float | None, lng: float | None) -> str:
    """A shared location as text: its label, else its coordinates."""
    if label:
        return f"位置：{label}"
    if lat is not None and lng is not None:
        return f"位置：{lat:.5f}, {lng:.5f}"
    return "位置"


def department_answer_to_handler(number: int, department: str, text: str) -> str:
    """To the handler: the department answered a transferred case (the constituent has it)."""
    return f"{department}已答复 {_num(number)}，答复已转给群众：{text}"


def reopened_to_staff(number: int, handler: str, reason: str | None) -> str:
    """Copy to station staff: a case went back to its handler after 不满意."""
    why = f"\n群众意见：{reason}" if reason else ""
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
    why = f"\n群众意见：{reason}" if reason else ""
    return f"群众对 {_num(number)} 的答复不满意，已退回请您重新办理。{why}"


# ---------------------------------------------------------------- refusals


def not_your_station(number: int) -> str:
    """The actor is not a deputy or staff member of the case's station."""
    return f"抱歉，{_num(number)} 不属于您所在的联络站，无法操作。"


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
}


def command_example(verb: str) -> str:
    """An example of the command for `verb` (a commands.Verb value)."""
    return _COMMAND_EXAMPLES.get(verb, "帮助")


def help_text(is_staff: bool = False) -> str:
    """The command grammar, shortest useful form."""
    lines = [
        "可用指令（# 可省略）：",
        "「#123」查看诉求",
        "「#123 接单」",
        "「#123 回复 答复内容」",
        "「#123 转办 部门名称」",
        "「#123 补充 需群众补充的内容」",
        "「#123 不予受理 原因」",
        "「待办」我的待办",
        "「确认」确认最新通知",
    ]
    if is_staff:
        lines += [
            "工作人员另可用：",
            "「#123 改派 代表姓名」",
            "「#123 办结 说明」（说明可省略）",
            "「通知 区域或联络站 内容」",
        ]
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
        lines.append(f"……另有 {len(items) - max_items} 件，请在工作台查看。")
    lines.append("发送「#编号」查看详情。")
    return "\n".join(lines)


# ---------------------------------------------------------------- escalation


def escalation_remind_assignee(number: int, what: str, due: datetime) -> str:
    """Step 1: reminder on the card / to the handler."""
    return (
        f"温馨提醒：{_num(number)} 已超过{SLA_LABELS.get(what, what)}时限"
        f"（{fmt_when(due)}），请尽快处理，谢谢。"
    )


def escalation_station_staff(
    number: int, station: str, handler: str | None, what: str, due: datetime
) -> str:
    """Step 2: @ station staff in the group."""
    who = handler or "待分派"
    return (
        f"请工作人员协助跟进：{_num(number)}（{station}，{who}）"
        f"已超过{SLA_LABELS.get(what, what)}时限（{fmt_when(due)}）。"
    )


def escalation_office(
    number: int, station: str, handler: str | None, what: str, due: datetime
) -> str:
    """Step 3: alert to the office (DingTalk 1:1 or staff group)."""
    who = handler or "未分派"
    return (
        f"【超时预警】{_num(number)} {station}，承办：{who}，"
        f"{SLA_LABELS.get(what, what)}时限 {fmt_when(due)} 已过，请督办。"
    )


# ---------------------------------------------------------------- notices to deputies


CONFIRM_WORDS = ("确认", "已阅")


def notice_to_deputies(sender: str, text: str) -> str:
    """A notice pushed to deputies, ending with how to confirm it."""
    return f"【通知】{text}\n——{sender}\n{notice_confirm_prompt()}"


def notice_confirm_prompt() -> str:
    """The line asking deputies to confirm a notice."""
    return "收到后请回复「确认」或「已阅」，谢谢。"


def notice_sent(target: str, count: int) -> str:
    """To staff: the notice went out."""
    return f"通知已发送给 {target} 的 {count} 位代表，确认情况可在工作台查看。"


def notice_target_not_found(target: str) -> str:
    """To staff: unknown region or station."""
    return f"未找到区域或联络站「{target}」，请核对名称后重试。"


def notice_not_allowed(target: str) -> str:
    """To staff: the region or station is outside their own."""
    return f"抱歉，「{target}」不在您负责的范围内，无法发送通知。"


def office_sender(region: str) -> str:
    """Signature of a notice sent by the office of a region."""
    return f"{region}人大常委会"


def notice_confirmed() -> str:
    """To a deputy who confirmed the latest notice."""
    return "已确认收到通知，谢谢！"


def no_notice_to_confirm() -> str:
    """A deputy confirmed, but there is no notice waiting for confirmation."""
    return "您目前没有需要确认的通知，谢谢。"
