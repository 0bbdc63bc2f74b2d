"""Inner (decrypted) callback XML documents, shaped as in WeCom 96467 / 94699 / 90240."""

from __future__ import annotations

import secrets

from bot.simulators.wecom.crypto import cdata


def kf_msg_or_event_xml(*, corp_id: str, create_time: int, token: str, open_kfid: str) -> str:
    """The kf callback: it carries no message, only a Token for sync_msg."""
    return (
        f"<xml><ToUserName>{cdata(corp_id)}</ToUserName><CreateTime>{create_time}</CreateTime>"
        f"<MsgType>{cdata('event')}</MsgType><Event>{cdata('kf_msg_or_event')}</Event>"
        f"<Token>{cdata(token)}</Token><OpenKfId>{cdata(open_kfid)}</OpenKfId></xml>"
    )


def member_text_xml(
    *, corp_id: str, userid: str, create_time: int, content: str, agent_id: int
) -> tuple[str, int]:
    """(XML, MsgId) of a plain text message from a member to the app."""
    msg_id = secrets.randbelow(2**63 - 1) + 1
    xml = (
        f"<xml><ToUserName>{cdata(corp_id)}</ToUserName>"
        f"<FromUserName>{cdata(userid)}</FromUserName><CreateTime>{create_time}</CreateTime>"
        f"<MsgType>{cdata('text')}</MsgType><Content>{cdata(content)}</Content>"
        f"<MsgId>{msg_id}</MsgId><AgentID>{agent_id}</AgentID></xml>"
    )
    return xml, msg_id


def template_card_event_xml(
    *,
    corp_id: str,
    userid: str,
    create_time: int,
    event_key: str,
    task_id: str,
    card_type: str,
    response_code: str,
    agent_id: int,
) -> str:
    """A member pressed a button on a template card."""
    return (
        f"<xml><ToUserName>{cdata(corp_id)}</ToUserName>"
        f"<FromUserName>{cdata(userid)}</FromUserName><CreateTime>{create_time}</CreateTime>"
        f"<MsgType>{cdata('event')}</MsgType><Event>{cdata('template_card_event')}</Event>"
        f"<EventKey>{cdata(event_key)}</EventKey><TaskId>{cdata(task_id)}</TaskId>"
        f"<CardType>{cdata(card_type)}</CardType><ResponseCode>{cdata(response_code)}</ResponseCode>"
        f"<AgentID>{agent_id}</AgentID></xml>"
    )
