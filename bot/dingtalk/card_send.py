"""Case cards on DingTalk (outbox kinds `card_post` and `card_refresh`; workers only).

Template mode creates advanced cards (`createAndDeliver`, then `PUT /v1.0/card/instances` for
every change); without a template a card is a markdown message with dtmd command links and a
change is a short follow-up message (bot/dingtalk/cards.py renders both). The card is always
rendered from the case's current state (`handlers.cards.case_card`) at send time.
"""

from __future__ import annotations

import functools
import json
import logging
from typing import Any

from sqlalchemy import select

from bot.dingtalk import cards
from bot.dingtalk.api import ApiError
from bot.dingtalk.send import (
    BATCH_SEND,
    FLOW_CONTROL_DELAY,
    GROUP_SEND,
    SendContext,
    display_names,
    done_key,
    once,
)
from bot.pipeline.registry import SendError
from handlers.notices import SPACE_SEPARATOR
from storage.models import CardRef, OutboxItem

log = logging.getLogger(__name__)

CARD_CREATE_DELIVER = "/v1.0/card/instances/createAndDeliver"
CARD_UPDATE = "/v1.0/card/instances"


def _view(ctx: SendContext, case_id: int) -> Any:
    from handlers.cards import case_card

    with ctx.rt.sessions() as session:
        try:
            return case_card(session, case_id, ctx.rt.now(session))
        except LookupError:
            raise SendError(f"case {case_id} does not exist", retryable=False) from None


def _url(ctx: SendContext, case_id: int) -> str:
    return cards.detail_url(ctx.rt.settings.web.public_url, case_id)


def _record_ref(ctx: SendContext, ref_id: str, case_id: int, space: str) -> None:
    with ctx.rt.sessions.begin() as session:
        exists = session.scalar(select(CardRef.id).where(CardRef.out_track_id == ref_id))
        if exists is None:
            session.add(CardRef(out_track_id=ref_id, case_id=case_id, space=space))


def _space(space: str) -> tuple[str, str]:
    kind, _, target = space.partition(":")
    if kind not in ("group", "user") or not target:
        raise SendError(f"bad card space {space!r}", retryable=False)
    return kind, target


def _spaces(spaces: str) -> list[tuple[str, str]]:
    return [_space(space) for space in spaces.split(SPACE_SEPARATOR)]


def send_card_post(ctx: SendContext, item: OutboxItem) -> dict[str, Any]:
    """Post one case card into groups (@ people) and users' 1:1 chats with the bot."""
    p = item.payload
    case_id = int(p["case_id"])
    spaces = _spaces(p["space"])
    view = _view(ctx, case_id)
    track = cards.out_track_id(ctx.namespace, item.id, item.created_at, case_id)
    at = [str(u) for u in p.get("at_user_ids") or []]
    if ctx.template_id:
        return _post_template_card(ctx, item, view, track, spaces, at)
    results = {}
    for n, (kind, target) in enumerate(spaces):
        with ctx.rt.sessions() as session:
            names = display_names(session, at) if kind == "group" else []
        title, text = cards.card_markdown(view, cards.mention_line(names), _url(ctx, view.case_id))
        # the first space keeps the step name of single-space rows queued before multi-space
        step = "post" if n == 0 else f"post:{kind}:{target}"
        results[f"{kind}:{target}"] = _markdown(ctx, item, step, kind, target, title, text)
        ref_id = cards.markdown_ref_id(track if n == 0 else f"{track}-{n}")
        _record_ref(ctx, ref_id, case_id, f"{kind}:{target}")
    return results if len(spaces) > 1 else next(iter(results.values()))


def _markdown(
    ctx: SendContext, item: OutboxItem, step: str, kind: str, target: str, title: str, text: str
) -> dict[str, Any]:
    param = json.dumps({"title": title, "text": text}, ensure_ascii=False)
    if kind == "group":
        body: dict[str, Any] = {
            "robotCode": ctx.api.robot_code,
            "openConversationId": target,
            "msgKey": "sampleMarkdown",
            "msgParam": param,
        }
        resp = once(ctx, item, step, lambda: ctx.api.call("POST", GROUP_SEND, body))
        return {"processQueryKey": resp.get("processQueryKey")}
    body = {
        "robotCode": ctx.api.robot_code,
        "userIds": [target],
        "msgKey": "sampleMarkdown",
        "msgParam": param,
    }
    resp = once(ctx, item, step, lambda: ctx.api.call("POST", BATCH_SEND, body))
    if target in (resp.get("flowControlledStaffIdList") or []):
        ctx.rt.redis.delete(done_key(ctx, item, step))  # not delivered: the retry must call
        raise SendError(
            f"user {target} is flow-controlled",
            code="flowControlled",
            retry_after=FLOW_CONTROL_DELAY,
        )
    return {"processQueryKey": resp.get("processQueryKey")}


def _post_template_card(
    ctx: SendContext,
    item: OutboxItem,
    view: Any,
    track: str,
    spaces: list[tuple[str, str]],
    at: list[str],
) -> dict[str, Any]:
    body = {
        "cardTemplateId": ctx.template_id,
        "outTrackId": track,
        "callbackType": "STREAM",
        "cardData": {"cardParamMap": cards.card_params(view, url=_url(ctx, view.case_id))},
        "userIdType": 1,
        **_deliver_models(ctx, spaces, at),
    }
    try:
        resp = once(ctx, item, "create", lambda: ctx.api.call("POST", CARD_CREATE_DELIVER, body))
    except ApiError as exc:
        if not is_duplicate(exc):
            raise
        # an earlier attempt created it and its answer was lost: bring the content up to date
        log.info("outbox %s: card %s already exists; updating it", item.id, track)
        put_card(ctx, track, cards.card_params(view, url=_url(ctx, view.case_id)))
        resp = {"result": {"outTrackId": track, "deliverResults": []}, "duplicate": True}
    results = (resp.get("result") or {}).get("deliverResults") or []
    failed = [r for r in results if not r.get("success")]
    if failed and len(failed) == len(results):
        raise SendError(
            f"card {track} not delivered: {failed}", code="deliverFailed", retryable=False
        )
    if failed:  # delivered elsewhere: the card exists and is kept up to date there
        log.error("outbox %s: card %s not delivered to %s", item.id, track, failed)
    _record_ref(ctx, track, view.case_id, item.payload["space"])
    outcome: dict[str, Any] = {"outTrackId": track, "duplicate": bool(resp.get("duplicate"))}
    if failed:
        outcome["undelivered"] = [f"{r.get('spaceType')}.{r.get('spaceId')}" for r in failed]
    return outcome


def _deliver_models(
    ctx: SendContext, spaces: list[tuple[str, str]], at: list[str]
) -> dict[str, Any]:
    """openSpaceId naming every space (`;`-separated, dingtalk.md §4.4) and their models."""
    models: dict[str, Any] = {}
    ids = []
    for kind, target in spaces:
        if kind == "group":
            with ctx.rt.sessions() as session:
                names = display_names(session, at)
            deliver: dict[str, Any] = {"robotCode": ctx.api.robot_code}
            if at:
                deliver["atUserIds"] = dict(zip(at, names, strict=True))
            ids.append(f"IM_GROUP.{target}")
            models["imGroupOpenSpaceModel"] = {"supportForward": True}
            models["imGroupOpenDeliverModel"] = deliver
        else:
            ids.append(f"IM_ROBOT.{target}")
            models["imRobotOpenSpaceModel"] = {"supportForward": True}
            models["imRobotOpenDeliverModel"] = {
                "spaceType": "IM_ROBOT",
                "robotCode": ctx.api.robot_code,
            }
    return {"openSpaceId": "dtv1.card//" + ";".join(ids), **models}


def is_duplicate(exc: ApiError) -> bool:
    """True when createAndDeliver refused an outTrackId that already exists (a resend)."""
    code = exc.code.lower()
    return "outtrackid" in code and ("duplicate" in code or "exist" in code)


def put_card(ctx: SendContext, track: str, params: dict[str, str]) -> dict[str, Any]:
    """`PUT /v1.0/card/instances`: replace the card's public variables by key."""
    body = {
        "outTrackId": track,
        "cardData": {"cardParamMap": params},
        "cardUpdateOptions": {"updateCardDataByKey": True},
        "userIdType": 1,
    }
    return ctx.api.call("PUT", CARD_UPDATE, body)


def send_card_refresh(ctx: SendContext, item: OutboxItem) -> dict[str, Any]:
    """Re-render every card of the case from its current state (PUT, or a markdown follow-up)."""
    case_id = int(item.payload["case_id"])
    note = str(item.payload.get("note") or "")
    with ctx.rt.sessions() as session:
        refs = list(
            session.scalars(select(CardRef).where(CardRef.case_id == case_id).order_by(CardRef.id))
        )
    if not refs:
        return {"cards": 0}
    view = _view(ctx, case_id)
    params = cards.card_params(view, note, _url(ctx, view.case_id))
    outcome: dict[str, str] = {}
    for ref in refs:
        if cards.is_markdown_ref(ref.out_track_id):
            kind, target = _space(ref.space)
            title, text = cards.refresh_markdown(view, note, _url(ctx, view.case_id))
            _markdown(ctx, item, ref.out_track_id, kind, target, title, text)
            outcome[ref.out_track_id] = "follow-up"
            continue
        try:
            once(
                ctx,
                item,
                ref.out_track_id,
                functools.partial(put_card, ctx, ref.out_track_id, params),
            )
            outcome[ref.out_track_id] = "updated"
        except ApiError as exc:
            if exc.retryable:
                raise
            log.error("outbox %s: card %s not updated: %s", item.id, ref.out_track_id, exc)
            outcome[ref.out_track_id] = f"failed: {exc.code}"
    return {"cards": len(refs), "outcome": outcome}
