"""Chinese wording of 附议 (co-signing): card lines, replies to deputies, messages to co-signers."""

from __future__ import annotations

from handlers.texts.common import RATING_LABELS, UNRATED_LABEL

COSIGN_LABEL = "附议"
COSIGN_BUTTON = "合并为附议"
UNCOSIGN_BUTTON = "取消附议"
COSIGN_WORD = "附议"
UNCOSIGN_WORD = "取消附议"


def _num(number: int) -> str:
    return f"#{number}"


# ---------------------------------------------------------------- card lines


def cosigners_line(numbers: list[int]) -> str:
    """Main card: 「附议 2（#15、#16）」."""
    shown = "、".join(_num(n) for n in numbers[:8])
    more = "等" if len(numbers) > 8 else ""
    return f"附议 {len(numbers)}（{shown}{more}）"


def merged_line(into: int) -> str:
    """Merged card: 「已合并为 #12 的附议」."""
    return f"已合并为 {_num(into)} 的附议"


def cosign_command(number: int, into: int | None = None) -> str:
    """`#15 附议 #12` (the card button's text command)."""
    tail = f" {_num(into)}" if into is not None else ""
    return f"{_num(number)} {COSIGN_WORD}{tail}"


def uncosign_command(number: int) -> str:
    """`#15 取消附议`."""
    return f"{_num(number)} {UNCOSIGN_WORD}"


# ---------------------------------------------------------------- replies to the actor


def merged_ok(number: int, into: int, cosigners: int) -> str:
    """To the deputy who merged: done, and how many co-sign the main case now."""
    return (
        f"已将 {_num(number)} 合并为 {_num(into)} 的附议（现有附议 {cosigners} 件）。"
        f"{_num(into)} 的答复会同时发给附议群众；如合并有误，请发送「{uncosign_command(number)}」。"
    )


def unmerged_ok(number: int, into: int) -> str:
    """To the person who undid a merge."""
    return (
        f"已取消 {_num(number)} 对 {_num(into)} 的附议，{_num(number)} 恢复单独办理，请重新接单。"
    )


def cosign_needs_target(number: int) -> str:
    """`#15 附议` without a target and without a suggested similar case."""
    return f"请写明要附议的诉求编号，例如「{cosign_command(number, 12)}」。"


def cosign_bad_target(text: str) -> str:
    """The target of `#15 附议 X` is not a case number."""
    return f"「{text[:12]}」不是诉求编号，请写成「#编号 附议 #主诉求编号」。"


def cosign_self(number: int) -> str:
    """`#12 附议 #12`."""
    return f"{_num(number)} 不能附议它自己。"


def cosign_target_missing(into: int) -> str:
    """The main case does not exist."""
    return f"没有找到诉求 {_num(into)}，请核对编号。"


def cosign_target_closed(into: int, status: str) -> str:
    """The main case cannot take co-signers (rejected)."""
    return f"{_num(into)} 当前状态为「{status}」，不能作为附议的主诉求。"


def cosign_has_cosigners(number: int) -> str:
    """A case that already has co-signers is not merged into another one."""
    return f"{_num(number)} 已有其他诉求附议，不能再合并到别的诉求；可将其他诉求合并到它。"


def cosign_already(number: int, into: int) -> str:
    """The case is already a co-signer."""
    return f"{_num(number)} 已是 {_num(into)} 的附议。"


def cosign_cannot(number: int, status: str) -> str:
    """The case's status does not allow a merge (already claimed and answered, closed …)."""
    return (
        f"{_num(number)} 当前状态为「{status}」，无法合并为附议"
        "（只有待接单或办理中、尚未答复的诉求可以合并）。"
    )


def uncosign_not_merged(number: int) -> str:
    """`#15 取消附议` on a case that is not merged."""
    return f"{_num(number)} 不是附议，无需取消。"


def cosign_to_main_handler(number: int, into: int, cosigners: int) -> str:
    """To the holder of the main case: another report joined it."""
    return (
        f"{_num(number)} 已合并为 {_num(into)} 的附议，"
        f"{_num(into)} 现有附议 {cosigners} 件，答复时会一并告知。"
    )


def cosigner_supplement(number: int, into: int, text: str) -> str:
    """To the holder of the main case: a co-signer added something."""
    return f"附议群众补充（{_num(number)}，附议 {_num(into)}）：{text}"


def cosigner_rating_to_handler(number: int, into: int, value: str) -> str:
    """To the holder of the main case: a co-signer's rating."""
    label = RATING_LABELS.get(value, UNRATED_LABEL)
    return f"附议群众（{_num(number)}）对 {_num(into)} 答复的评价：{label}"


# ---------------------------------------------------------------- to co-signers (WeChat)


def cosigner_answer(number: int, into: int, answer: str) -> str:
    """The main case's answer relayed to a co-signer, in one message."""
    return f"您反映的问题 {_num(number)} 已与 {_num(into)} 合并办理，现有答复：\n{answer}"


def cosigner_follow_up_joined(number: int, into: int) -> str:
    """To a co-signer who wrote again while the main case is open."""
    return f"已将您补充的内容（{_num(number)}）转给问题 {_num(into)} 的承办人员，谢谢。"


def unmerged_notice(number: int) -> str:
    """To the constituent: their report is handled on its own again."""
    return f"您反映的问题 {_num(number)} 将单独办理，办理结果会另行告诉您，谢谢。"


def cosigner_rating_thanks(number: int, value: str) -> str:
    """Thanks for a co-signer's rating (不满意 included: it is passed on)."""
    label = RATING_LABELS.get(value, value)
    if value == "unsatisfied":
        return f"已收到您对问题 {_num(number)} 的评价「{label}」，已转告承办人员，谢谢您的反馈。"
    return f"感谢您对问题 {_num(number)} 给出「{label}」的评价！"


# ---------------------------------------------------------------- delivery of their copies


def delivery_summary(total: int, sent: int, held: list[int], failed: list[int]) -> str:
    """「答复已送达 3 位群众中的 2 位；1 位暂缓（#15，待其再次来信后自动补发）」"""
    parts = [f"答复已送达 {total} 位群众中的 {sent} 位"]
    if held:
        numbers = "、".join(_num(n) for n in held)
        parts.append(f"{len(held)} 位暂缓（{numbers}，待其再次来信后自动补发）")
    if failed:
        parts.append(f"{len(failed)} 位未送达（{'、'.join(_num(n) for n in failed)}）")
    sending = total - sent - len(held) - len(failed)
    if sending > 0:
        parts.append(f"{sending} 位发送中")
    return "；".join(parts)


def delivery_report_suffix(report: str) -> str:
    """Appended to a delivery message when co-signers got copies of the answer."""
    return f"目前{report}。"


def copy_held(main: int, own: int, *, closed: bool, report: str) -> str:
    """To the answerer: a co-signer's copy waits for that co-signer's next message."""
    if closed:
        why = "该群众超过 48 小时未发消息，微信规定需等其再次来信"
    else:
        why = "本轮可发给该群众的消息条数已用完，需等其再次来信"
    return (
        f"{_num(main)} 的答复暂未送达附议群众（{_num(own)}）：{why}，来信后自动补发。"
        + delivery_report_suffix(report)
    )


def copy_failed(main: int, own: int, code: str, meaning: str, report: str) -> str:
    """To the answerer: a co-signer's copy could not be delivered."""
    return (
        f"{_num(main)} 的答复未能送达附议群众（{_num(own)}）（错误 {code}：{meaning}），"
        "如需要请电话联系该群众。" + delivery_report_suffix(report)
    )


def copy_delivered(main: int, own: int, report: str) -> str:
    """To the answerer, once: a held or failed copy has now reached the co-signer."""
    return f"{_num(main)} 的答复现已送达附议群众（{_num(own)}）。" + delivery_report_suffix(report)
