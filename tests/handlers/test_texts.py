"""User-facing Chinese texts: exact wording where the product fixes it, tone and size elsewhere."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest

from handlers import texts
from handlers.texts import BEIJING, TodoLine

AT = datetime(2026, 10, 8, 10, 42, tzinfo=BEIJING)


def test_ack_matches_product_wording() -> None:
    assert texts.ack_new_case(123, "XX联络站", "张代表") == (
        "已收到您反映的问题，编号 #123，已转交 XX联络站 张代表，我们会在 1 个工作日内回复您进展。"
        "如需补充，直接回复本消息即可；如要反映新问题，请发送「新问题」。"
    )
    assert "已转交 XX联络站，" in texts.ack_new_case(7, "XX联络站", None)
    assert "0.5 个工作日" in texts.ack_new_case(7, "XX联络站", "张代表", days=0.5)


def test_answers_are_labelled_with_sender_and_number() -> None:
    assert (
        texts.answer_to_constituent("张代表", 123, "已联系城管") == "张代表答复（#123）：已联系城管"
    )
    assert texts.department_answer("住建局", 123, "已修复") == "住建局答复（#123）：已修复"
    assert texts.need_info_request("张代表", 123, "请提供具体楼号").startswith(
        "张代表需要您补充（#123）：请提供具体楼号"
    )


def test_claim_line_on_card() -> None:
    assert texts.claimed_by("张代表", AT) == "已由张代表接单 10:42"
    assert texts.claimed_by("张代表", AT.astimezone(UTC)) == "已由张代表接单 10:42"
    assert texts.claimed_by("张代表", AT, today=date(2026, 10, 8)) == "已由张代表接单 10:42"
    assert texts.claimed_by("张代表", AT, today=date(2026, 10, 9)) == "已由张代表接单 10月8日 10:42"


def test_card_pieces() -> None:
    assert (
        texts.card_headline(123, "小区门口路灯坏了\n一个月了") == "#123 小区门口路灯坏了 一个月了"
    )
    long = texts.card_headline(123, "路" * 50)
    assert long == "#123 " + "路" * 20 + "…"
    assert texts.card_headline(123, "") == "#123"
    detail = texts.case_detail(
        "#123 路灯", [("状态", "待接单"), ("联络站", "城南")], "待张代表接单"
    )
    assert detail == "#123 路灯\n状态：待接单\n联络站：城南\n待张代表接单"
    assert texts.case_detail("#1", []) == "#1"
    assert texts.mask_constituent("wmAbCdEf1234") == "群众（…1234）"
    assert "wmAbCdEf" not in texts.mask_constituent("wmAbCdEf1234")
    assert texts.mask_constituent("") == "群众"
    assert texts.staff_title("王芳") == "工作人员王芳"
    assert texts.card_command("claim", 123) == "#123 接单"
    assert texts.fmt_when(datetime(2026, 10, 8, 2, 42)) == "10月8日 10:42"  # naive = UTC


def test_status_labels_are_distinct_and_unknown_statuses_pass_through() -> None:
    labels = list(texts.STATUS_LABELS.values())
    assert len(set(labels)) == len(labels)  # two statuses never look alike on a card
    assert texts.status_label("mystery") == "mystery"
    assert texts.card_status_line("accepted") == "状态：办理中"


def test_lifecycle_module_is_fully_labelled() -> None:
    from handlers import lifecycle

    assert set(texts.STATUS_LABELS) == {s.value for s in lifecycle.Status}
    for status in lifecycle.Status:
        assert status.value in texts.STATUS_LABELS
    for action in lifecycle.Action:
        assert action.value in texts.ACTION_LABELS
    for status in lifecycle.Status:
        for action in lifecycle.Action:
            if not lifecycle.allowed(status, action):
                msg = texts.invalid_transition(status, action)
                assert texts.action_label(action) in msg
                assert "无法" in msg or "请先" in msg


def test_invalid_transition_wording() -> None:
    assert (
        texts.invalid_transition("closed", "claim", 123) == "#123 当前状态为「已办结」，无法接单。"
    )
    assert texts.invalid_transition("closed", "claim") == "当前状态为「已办结」，无法接单。"
    assert texts.invalid_transition("assigned", "reply", 123) == (
        "#123 尚未接单，请先发送「#123 接单」，再进行回复。"
    )


def test_rating_menu() -> None:
    assert list(texts.rating_options()) == [
        ("satisfied", "满意"),
        ("basic", "基本满意"),
        ("unsatisfied", "不满意"),
    ]
    assert "#123" in texts.rating_head(123)
    assert "「基本满意」" in texts.rating_thanks(123, "basic")
    assert texts.rating_label("unrated") == "未评价"


@pytest.mark.parametrize(
    ("name", "title"),
    [
        ("张伟", "张代表"),
        ("欧阳娜娜", "欧阳代表"),
        ("欧阳", "欧代表"),
        ("张代表", "张代表"),
        ("阿依古丽·买买提", "阿依古丽·买买提代表"),
        ("Li Lei", "Li Lei代表"),
        ("", "代表"),
    ],
)
def test_deputy_title(name: str, title: str) -> None:
    assert texts.deputy_title(name) == title


def test_todo_list() -> None:
    assert texts.todo_list([]) == "您目前没有待办的诉求，谢谢您的付出！"
    items = [
        TodoLine(123, "assigned", "小区门口路灯坏了一个月了，晚上出行很不方便", AT, overdue=True),
        TodoLine(124, "accepted", "垃圾清运不及时", None),
    ]
    out = texts.todo_list(items)
    lines = out.splitlines()
    assert lines[0] == "您有 2 件待办："
    assert lines[1].startswith("#123 待接单 小区门口路灯坏了")
    assert lines[1].endswith("…（已超时 10月8日 10:42）")
    assert lines[2] == "#124 办理中 垃圾清运不及时"
    many = [TodoLine(n, "accepted", "问题") for n in range(1, 16)]
    out = texts.todo_list(many)
    assert "另有 5 件" in out
    assert "#11 " not in out


def test_escalation_steps_name_case_and_deadline() -> None:
    remind = texts.escalation_remind_assignee(123, "claim", AT)
    staff = texts.escalation_station_staff(123, "城南联络站", "张代表", "answer", AT)
    office = texts.escalation_office(123, "城南联络站", None, "close", AT)
    assert "#123" in remind and "接单时限" in remind and "10月8日 10:42" in remind
    assert "城南联络站" in staff and "张代表" in staff and "答复时限" in staff
    assert office.startswith("【超时预警】#123") and "办结时限" in office


def test_notice_ends_with_confirm_prompt() -> None:
    out = texts.notice_to_deputies("代表工委", "周五下午三点在城南联络站开会")
    assert out.startswith("【通知】周五下午三点")
    assert out.endswith(texts.notice_confirm_prompt())
    for word in texts.CONFIRM_WORDS:
        assert f"「{word}」" in texts.notice_confirm_prompt()


def test_help_lists_staff_commands_only_for_staff() -> None:
    assert "改派" not in texts.help_text()
    assert "改派" in texts.help_text(is_staff=True)
    assert texts.unknown_command("你好").startswith("抱歉，没有识别「你好」这个操作。")
    assert texts.help_text() in texts.unknown_command()


# Every template with sample arguments: size and tone checks below run over all of them.
SAMPLES: dict[str, Callable[[], str]] = {
    "ack_new_case": lambda: texts.ack_new_case(123, "城南联络站", "张代表"),
    "follow_up_joined": lambda: texts.follow_up_joined(123),
    "new_case_prompt": texts.new_case_prompt,
    "ask_to_describe": texts.ask_to_describe,
    "choose_station_head": texts.choose_station_head,
    "station_matched": lambda: texts.station_matched("城南联络站"),
    "rating_head": lambda: texts.rating_head(123),
    "rating_thanks": lambda: texts.rating_thanks(123, "satisfied"),
    "unsatisfied_follow_up": lambda: texts.unsatisfied_follow_up(123),
    "reopened_notice": lambda: texts.reopened_notice(123, "张代表"),
    "closed_unrated": lambda: texts.closed_unrated(123),
    "need_info_request": lambda: texts.need_info_request("张代表", 123, "请提供楼号"),
    "transferred_notice": lambda: texts.transferred_notice(123, "住建局"),
    "rejected_notice": lambda: texts.rejected_notice(123, "不属于职责范围"),
    "merged_notice": lambda: texts.merged_notice(124, 123),
    "budget_exhausted_held": lambda: texts.budget_exhausted_held(123),
    "card_title": lambda: texts.card_title(123, "城南联络站"),
    "card_due_line": lambda: texts.card_due_line("claim", AT),
    "calendar_missing_notice": lambda: texts.calendar_missing_notice([2027]),
    "claim_ok": lambda: texts.claim_ok(123),
    "reply_sending": lambda: texts.reply_sending(123),
    "answer_held": lambda: texts.answer_held(123, closed=True, staff_told=True),
    "answer_failed": lambda: texts.answer_failed(123, "95018", texts.send_error_meaning("95018")),
    "answer_delivered": lambda: texts.answer_delivered(123),
    "delivery_label": lambda: texts.delivery_label("failed", "95018"),
    "send_error_meaning": lambda: texts.send_error_meaning("95002"),
    "transfer_ok": lambda: texts.transfer_ok(123, "住建局"),
    "ask_info_ok": lambda: texts.ask_info_ok(123),
    "supplement_arrived": lambda: texts.supplement_arrived(123, "3号楼"),
    "reject_ok": lambda: texts.reject_ok(123),
    "reassign_ok": lambda: texts.reassign_ok(123, "李代表"),
    "close_ok": lambda: texts.close_ok(123),
    "rating_to_handler": lambda: texts.rating_to_handler(123, "unsatisfied", "还没修"),
    "reopened_to_handler": lambda: texts.reopened_to_handler(123, "还没修"),
    "not_your_station": lambda: texts.not_your_station(123),
    "already_claimed": lambda: texts.already_claimed(123, "李代表"),
    "imported_read_only": lambda: texts.imported_read_only(123),
    "invalid_transition": lambda: texts.invalid_transition("closed", "reply", 123),
    "case_not_found": lambda: texts.case_not_found(999),
    "staff_only": lambda: texts.staff_only("reassign"),
    "unknown_person": texts.unknown_person,
    "department_not_found": lambda: texts.department_not_found("火星局"),
    "deputy_not_found": lambda: texts.deputy_not_found("王五"),
    "rating_not_yours": texts.rating_not_yours,
    "already_rated": lambda: texts.already_rated(123),
    "rating_not_open": lambda: texts.rating_not_open(123),
    "hint_missing_number": lambda: texts.hint_missing_number("claim"),
    "hint_bad_number": texts.hint_bad_number,
    "hint_missing_arg": lambda: texts.hint_missing_arg("reply"),
    "escalation_remind_assignee": lambda: texts.escalation_remind_assignee(123, "claim", AT),
    "escalation_station_staff": lambda: texts.escalation_station_staff(
        123, "城南联络站", "张代表", "claim", AT
    ),
    "escalation_office": lambda: texts.escalation_office(123, "城南联络站", "张代表", "claim", AT),
    "notice_confirm_prompt": texts.notice_confirm_prompt,
    "notice_sent": lambda: texts.notice_sent("城南联络站", 12),
    "notice_target_not_found": lambda: texts.notice_target_not_found("城北"),
    "notice_confirmed": texts.notice_confirmed,
    "staff_public_title": texts.staff_public_title,
    "awaiting_claim": lambda: texts.awaiting_claim("张代表"),
    "station_unknown": texts.station_unknown,
    "unassigned": texts.unassigned,
    "media_only_summary": texts.media_only_summary,
    "no_notice_to_confirm": texts.no_notice_to_confirm,
    # added with the handlers (intake, routing, actions, notify)
    "welcome": lambda: texts.welcome("城南联络站"),
    "ack_choose_station": lambda: texts.ack_choose_station(123),
    "ack_unrouted": lambda: texts.ack_unrouted(123),
    "station_chosen": lambda: texts.station_chosen("城南联络站"),
    "location_received": texts.location_received,
    "closed_by_staff": lambda: texts.closed_by_staff(123, "已电话回访"),
    "supplement_media_arrived": lambda: texts.supplement_media_arrived(123, "image"),
    "location_text": lambda: texts.location_text("解放路12号", 34.6, 119.2),
    "attachment_summary": lambda: texts.attachment_summary({"image": 2, "voice": 1}),
    "rating_with_reason": lambda: texts.rating_with_reason("不满意", "路灯还是不亮"),
    "media_file_name": lambda: texts.media_file_name(123, "voice", ".amr"),
    "department_answer_to_handler": lambda: texts.department_answer_to_handler(
        123, "住建局", "已修复"
    ),
    "reopened_to_staff": lambda: texts.reopened_to_staff(123, "张代表", "还没修"),
    "delivery_failed": lambda: texts.delivery_failed(123),
    "route_reason": lambda: texts.route_reason("substitute", "张伟"),
    "not_transferred_to_you": lambda: texts.not_transferred_to_you(123, "住建局"),
    "department_help": texts.department_help,
    "notice_not_allowed": lambda: texts.notice_not_allowed("城北联络站"),
    "office_sender": lambda: texts.office_sender("海州区", "county"),
    "congress_body": lambda: texts.congress_body("township", "新坝镇"),
    "office_group_title": lambda: texts.office_group_title("county", "海州区"),
    "local_time": lambda: texts.local_time(datetime(2026, 12, 1, 7, 33), texts.BEIJING),
    "event_kind_label": lambda: texts.event_kind_label("follow_up"),
    "actor_label": lambda: texts.actor_label("deputy", "张明"),
    "channel_label": lambda: texts.channel_label("dingtalk"),
    "no_cases": lambda: texts.no_cases("assigned"),
    "case_not_found_cli": lambda: texts.case_not_found_cli(123),
    "bad_case_number": lambda: texts.bad_case_number("abc"),
    "bad_status": lambda: texts.bad_status("bogus")[:100],
    "duty_days": lambda: texts.duty_days([0, 1, 2, 3, 5]),
    "poster_footer": lambda: texts.poster_footer("东湖镇人大主席团", "湖滨路18号"),
    "sticker_label": lambda: texts.sticker_label("光明社区3幢101"),
}

# Texts sent to constituents or refusing someone must be visibly polite.
POLITE = {
    "ack_new_case",
    "new_case_prompt",
    "ask_to_describe",
    "choose_station_head",
    "rating_head",
    "rating_thanks",
    "unsatisfied_follow_up",
    "reopened_notice",
    "closed_unrated",
    "need_info_request",
    "transferred_notice",
    "rejected_notice",
    "not_your_station",
    "already_claimed",
    "imported_read_only",
    "staff_only",
    "unknown_person",
    "rating_not_yours",
    "already_rated",
    "hint_missing_number",
    "hint_missing_arg",
    "escalation_remind_assignee",
    "escalation_station_staff",
    "notice_confirm_prompt",
    "welcome",
    "ack_choose_station",
    "ack_unrouted",
    "station_chosen",
    "location_received",
    "closed_by_staff",
    "delivery_failed",
    "reply_sending",
    "answer_held",
    "answer_failed",
    "answer_delivered",
    "not_transferred_to_you",
    "notice_not_allowed",
    "calendar_missing_notice",
}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_templates_are_short_and_filled(name: str) -> None:
    out = SAMPLES[name]()
    assert out.strip() == out and out
    assert len(out) <= 110, f"{name} is {len(out)} chars: too long for a phone screen"
    assert "{" not in out and "}" not in out and "$" not in out
    assert "None" not in out


@pytest.mark.parametrize("name", sorted(POLITE))
def test_polite_tone(name: str) -> None:
    out = SAMPLES[name]()
    assert any(word in out for word in ("您", "请", "谢谢", "抱歉", "感谢")), out


def test_every_public_template_is_sampled() -> None:
    ignored = {
        "status_label",
        "rating_label",
        "action_label",
        "deputy_title",
        "fmt_hm",
        "fmt_when",
        "answer_to_constituent",
        "department_answer",
        "rating_options",
        "card_status_line",
        "claimed_by",
        "command_example",
        "help_text",
        "unknown_command",
        "todo_list",
        "notice_to_deputies",
        "staff_title",
        "card_headline",
        "case_detail",
        "card_command",
        "mask_constituent",
    }
    public = {
        name
        for name, obj in vars(texts).items()
        if callable(obj)
        and not name.startswith("_")
        and getattr(obj, "__module__", "").startswith(texts.__name__ + ".")
    } - {"TodoLine"}
    assert public - ignored == set(SAMPLES)


@pytest.mark.parametrize(
    ("level", "office", "body"),
    [
        ("township", False, "东湖镇人大主席团"),
        ("township", True, "东湖镇人大主席团"),
        ("county", False, "东湖镇人大常委会"),
        ("county", True, "东湖镇人大常委会代表工委"),
        ("city", False, "东湖镇人大常委会"),
        ("city", True, "东湖镇人大常委会代表工委"),
    ],
)
def test_congress_body_per_level(level: str, office: bool, body: str) -> None:
    assert texts.congress_body(level, "东湖镇", office=office) == body


def test_cli_texts_are_local_and_list_what_is_allowed() -> None:
    assert texts.local_time(datetime(2026, 12, 1, 7, 33), texts.BEIJING) == "2026-12-01 15:33"
    assert texts.local_time(None, texts.BEIJING) == "无"
    out = texts.bad_status("bogus")
    assert all(label in out and code in out for code, label in texts.STATUS_LABELS.items())


def test_duty_days_and_poster_glyphs() -> None:
    assert texts.duty_days([0, 1, 2, 3]) == "周一至周四"
    assert texts.duty_days([4, 0, 2]) == "周一、周三、周五"
    assert texts.duty_days([0, 1, 5]) == "周一、周二、周六"
    assert texts.duty_days([]) == "不定期接待"
