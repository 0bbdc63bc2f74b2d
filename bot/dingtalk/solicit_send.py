"""Solicitation cards on DingTalk (outbox kinds `solicit_card` and `solicit_refresh`; workers only).

Template mode only (`[dingtalk] solicit_card_template_id`): each deputy gets their own advanced
card in their 1:1 chat with the bot (`createAndDeliver`), rendered at send time from their
answers (`handlers.duties.card_texts`), so it can show them in place; every answer, refusal and
the close re-renders it with `PUT /v1.0/card/instances`. The outTrackId is derived from the
solicitation and the deputy, so a resend hits "already exists" and a refresh needs no lookup
table. Without a template the solicitation goes out as markdown (`oto` rows) and none of this
runs.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot.dingtalk.api import ApiError
from bot.dingtalk.card_send import CARD_CREATE_DELIVER, is_duplicate, put_card
from bot.dingtalk.send import SendContext, once
from bot.pipeline.registry import SendError
from handlers.duties.card_texts import card_params
from storage.models import Deputy, OutboxItem, Solicitation, SolicitTarget

log = logging.getLogger(__name__)

TEMPLATE_FILE = Path(__file__).with_name("solicit_card.template.json")


def template_spec() -> dict[str, Any]:
    """The shipped solicitation card template description."""
    spec: dict[str, Any] = json.loads(TEMPLATE_FILE.read_text(encoding="utf-8"))
    return spec


def track_id(namespace: str, solicitation_id: int, deputy_id: int, created: str) -> str:
    """The card instance id of one deputy's card (≤ 64 chars, the same on every resend).

    The solicitation's creation time salts it, so a reset database never reuses an id.
    """
    digest = hashlib.sha256(f"{namespace}|{solicitation_id}|{deputy_id}|{created}".encode())
    return f"lxs{solicitation_id}-{deputy_id}-{digest.hexdigest()[:24]}"


def _template(ctx: SendContext) -> str:
    template = ctx.rt.settings.dingtalk.solicit_card_template_id
    if not template:
        raise SendError("no [dingtalk] solicit_card_template_id", retryable=False)
    return template


def _cards(ctx: SendContext, item: OutboxItem, note: str) -> list[tuple[str, str, dict[str, str]]]:
    """(userId, outTrackId, cardParamMap) of each deputy of the row, from the current answers."""
    p = item.payload
    ids = [int(d) for d in p.get("deputy_ids") or []]
    with ctx.rt.sessions() as session:
        sol = session.get(Solicitation, int(p["solicitation_id"]))
        if sol is None:
            raise SendError(f"solicitation {p['solicitation_id']} does not exist", retryable=False)
        now = ctx.rt.now(session)
        rows = session.execute(
            select(SolicitTarget, Deputy.dingtalk_user_id)
            .join(Deputy, Deputy.id == SolicitTarget.deputy_id)
            .where(SolicitTarget.solicitation_id == sol.id, SolicitTarget.deputy_id.in_(ids))
            .order_by(SolicitTarget.deputy_id)
        ).all()
        created = sol.created_at.isoformat()
        return [
            (
                user,
                track_id(ctx.namespace, sol.id, row.deputy_id, created),
                card_params(sol, row, now, note),
            )
            for row, user in rows
        ]


def send_solicit_cards(ctx: SendContext, item: OutboxItem) -> dict[str, Any]:
    """Create and deliver each deputy's card (a resend updates the existing card instead)."""
    template = _template(ctx)
    outcome: dict[str, str] = {}
    for user, track, params in _cards(ctx, item, ""):
        body = {
            "cardTemplateId": template,
            "outTrackId": track,
            "callbackType": "STREAM",
            "cardData": {"cardParamMap": params},
            "userIdType": 1,
            "openSpaceId": f"dtv1.card//IM_ROBOT.{user}",
            "imRobotOpenSpaceModel": {"supportForward": False},
            "imRobotOpenDeliverModel": {"spaceType": "IM_ROBOT", "robotCode": ctx.api.robot_code},
        }
        try:
            resp = once(
                ctx, item, f"create:{user}",
                lambda b=body: ctx.api.call("POST", CARD_CREATE_DELIVER, b),  # type: ignore[misc]
            )  # fmt: skip
        except ApiError as exc:
            if not is_duplicate(exc):
                raise
            log.info("outbox %s: solicitation card %s already exists; updating", item.id, track)
            put_card(ctx, track, params)
            outcome[user] = "duplicate"
            continue
        failed = [
            r
            for r in (resp.get("result") or {}).get("deliverResults") or []
            if not r.get("success")
        ]
        outcome[user] = f"failed: {failed}" if failed else "delivered"
        if failed:
            log.error(
                "outbox %s: solicitation card for %s not delivered: %s", item.id, user, failed
            )
    return {"cards": len(outcome), "outcome": outcome}


def send_solicit_refresh(ctx: SendContext, item: OutboxItem) -> dict[str, Any]:
    """Re-render the deputies' cards; a card that was never posted as a template is skipped."""
    if not ctx.rt.settings.dingtalk.solicit_card_template_id:
        return {"skipped": "no solicitation card template"}
    outcome: dict[str, str] = {}
    for user, track, params in _cards(ctx, item, str(item.payload.get("note") or "")):
        try:
            once(ctx, item, f"put:{user}", lambda t=track, p=params: put_card(ctx, t, p))  # type: ignore[misc]
            outcome[user] = "updated"
        except ApiError as exc:
            if exc.retryable:
                raise
            # e.g. sent as markdown before the template was configured: nothing to update
            log.warning("outbox %s: solicitation card %s not updated: %s", item.id, track, exc)
            outcome[user] = f"failed: {exc.code}"
    return {"cards": len(outcome), "outcome": outcome}
