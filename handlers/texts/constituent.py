"""What constituents read in WeChat: acknowledgements, answers, the rating menu."""

from __future__ import annotations

from collections.abc import Sequence

from handlers.texts.common import NEW_CASE_KEYWORD, RATING_LABELS, _handler_part, _num, rating_label


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
