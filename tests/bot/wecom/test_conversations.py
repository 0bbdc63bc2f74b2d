"""Which inbox conversation each WeCom event belongs to (the unit of processing order)."""

from __future__ import annotations

from bot.wecom import kf
from bot.wecom.callbacks import classify

KFID = "wkAccount01"


def test_a_constituents_messages_and_events_share_one_conversation_per_kf_account() -> None:
    text = {"msgid": "m1", "open_kfid": KFID, "external_userid": "wmA", "msgtype": "text"}
    enter = {
        "msgid": "m2",
        "msgtype": "event",
        "event": {"event_type": "enter_session", "open_kfid": KFID, "external_userid": "wmA"},
    }
    assert kf.conversation_of(text, KFID) == kf.conversation_of(enter, KFID) == "kf:wkAccount01:wmA"
    other = {**text, "msgid": "m3", "external_userid": "wmB"}
    assert kf.conversation_of(other, KFID) == "kf:wkAccount01:wmB"
    nobody = {"msgid": "m4", "msgtype": "event", "event": {"event_type": "servicer_status"}}
    assert kf.conversation_of(nobody, KFID) == "kfmsg:m4"  # alone: nothing to order it with


def test_app_callbacks_are_ordered_per_member_and_kf_pulls_per_account() -> None:
    member_text = {"MsgType": "text", "FromUserName": "zhangsan", "MsgId": "1"}
    click = {"MsgType": "event", "Event": "click", "FromUserName": "zhangsan", "CreateTime": "9"}
    assert classify(member_text, "corp", "<xml/>").conversation == "app:zhangsan"
    assert classify(click, "corp", "<xml/>").conversation == "app:zhangsan"
    pull = {"MsgType": "event", "Event": "kf_msg_or_event", "OpenKfId": KFID, "Token": "ENC1"}
    assert classify(pull, "corp", "<xml/>").conversation == f"kfpull:{KFID}"
