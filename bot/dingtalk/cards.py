"""The case card on DingTalk: template variables, markdown fallback with dtmd links, ids.

Template mode (a `card_template_id` is configured) posts an advanced card built from
`case_card.template.json`; every variable is a string (dingtalk.md §3, §4.4). Without a template
the card is a markdown message whose buttons are `dtmd://dingtalkclient/sendMessage` links that
make the clicking user's client send the equivalent text command (`#123 接单`) to the bot
(dingtalk.md §7); refreshing such a card means a short follow-up message.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from handlers import texts
from handlers.cards import CaseCardView

TEMPLATE_FILE = Path(__file__).with_name("case_card.template.json")
ACTIONS = (
    *("claim", "reply", "transfer", "ask_info", "reject", "cosign", "uncosign", "categorise"),
)
BUSY_TEXT = "处理中…"
MARKDOWN_REF_PREFIX = "md-"  # CardRef ids of markdown "cards" (no instance on DingTalk)
MSG_PARAM_BUDGET = 12_000  # msgParam is capped at 15 000 bytes (dingtalk.md §4.3)
_MD_SPECIAL = str.maketrans(
    {"*": "＊", "_": "＿", "[": "［", "]": "］", "`": "｀", "<": "＜", ">": "＞"}
)


def template_spec() -> dict[str, Any]:
    """The shipped card template description (variables, layout, buttons)."""
    spec: dict[str, Any] = json.loads(TEMPLATE_FILE.read_text(encoding="utf-8"))
    return spec


def md_escape(value: str) -> str:
    """User text made inert in DingTalk markdown (no links, emphasis or raw HTML)."""
    return " ".join(value.translate(_MD_SPECIAL).split())


def fields_markdown(view: CaseCardView) -> str:
    """The card's label/value lines as markdown."""
    return "  \n".join(f"**{label}**：{md_escape(value)}" for label, value in view.fields)


def detail_url(public_url: str, case_id: int) -> str:
    """The case's page in the workbench (opened with 免登 inside DingTalk); '' when unknown."""
    return f"{public_url.rstrip('/')}/workbench/cases/{case_id}" if public_url else ""


def detail_link(url: str) -> str:
    """「查看详情与图片」 as a markdown link, or '' without a workbench URL."""
    return f"[{texts.CARD_DETAIL_LINK}]({url})" if url else ""


def card_params(view: CaseCardView, note: str = "", url: str = "") -> dict[str, str]:
    """The full cardParamMap of a case card (every value a string)."""
    shown = {b.action for b in view.buttons}
    params = {
        "case_id": str(view.case_id),
        "title": view.title,
        "status": view.status,
        "status_label": view.status_label,
        "fields_md": fields_markdown(view),
        "holder_line": view.holder_line,
        "note": note,
        "busy": "",
        "detail_url": url,
    }
    params.update({f"btn_{a}": "true" if a in shown else "false" for a in ACTIONS})
    return params


def busy_response() -> dict[str, Any]:
    """The card update sent in the ACK of a click: 「处理中…」 and no buttons until the job is done.

    Public on purpose: everybody looking at the card sees someone is acting, which also keeps a
    second deputy from pressing 接单 in the same second. The job's refresh replaces it.
    """
    hidden = {f"btn_{a}": "false" for a in ACTIONS}
    return {
        "cardData": {"cardParamMap": {"busy": BUSY_TEXT, **hidden}},
        "cardUpdateOptions": {"updateCardDataByKey": True},
    }


def out_track_id(namespace: str, outbox_id: int, created_at: datetime, case_id: int) -> str:
    """A card instance id that the same outbox row always reproduces (≤ 64 chars).

    A resend after a crash then hits "outTrackId already exists" instead of posting a second
    card; the namespace and the row's creation time keep two deployments (or a reset database)
    from ever producing the same id.
    """
    digest = hashlib.sha256(
        f"{namespace}|{outbox_id}|{created_at.isoformat()}".encode()
    ).hexdigest()
    return f"lx{case_id}-{digest[:24]}"


def markdown_ref_id(track_id: str) -> str:
    """The CardRef id of a markdown card (refreshed by follow-up messages, never by PUT)."""
    return MARKDOWN_REF_PREFIX + track_id


def is_markdown_ref(ref_id: str) -> bool:
    """True for CardRefs of markdown cards."""
    return ref_id.startswith(MARKDOWN_REF_PREFIX)


def dtmd_link(label: str, command: str) -> str:
    """A markdown link that makes the clicker's client send `command` to the bot."""
    return f"[{label}](dtmd://dingtalkclient/sendMessage?content={quote(command, safe='')})"


def choices_markdown(text: str, choices: list[tuple[str, str]]) -> tuple[str, str]:
    """(title, markdown) of a reply whose options are dtmd links (e.g. the categories)."""
    title = md_escape(text)[:20]
    links = "  \n".join(dtmd_link(md_escape(label), command) for label, command in choices)
    return title, fit(f"{md_escape(text)}\n\n{links}")


def _buttons_line(view: CaseCardView) -> str:
    return " ｜ ".join(dtmd_link(b.label, b.command) for b in view.buttons)


def fit(text: str) -> str:
    """`text` cut to what fits a robot message's msgParam."""
    raw = text.encode()
    if len(raw) <= MSG_PARAM_BUDGET:
        return text
    return raw[:MSG_PARAM_BUDGET].decode(errors="ignore") + "…"


def card_markdown(view: CaseCardView, mentions: str = "", url: str = "") -> tuple[str, str]:
    """(title, text) of the markdown fallback card."""
    parts = [f"### {md_escape(view.title)}", fields_markdown(view)]
    if view.holder_line:
        parts.append(view.holder_line)
    if mentions:
        parts.append(mentions)
    if view.buttons:
        parts.append(_buttons_line(view))
    if url:
        parts.append(detail_link(url))
    return md_escape(view.title), fit("\n\n".join(parts))


def refresh_markdown(view: CaseCardView, note: str = "", url: str = "") -> tuple[str, str]:
    """(title, text) of the short follow-up that stands for a card update in markdown mode."""
    status = f"**{md_escape(view.title)}**  \n{texts.card_status_line(view.status)}"
    delivery = dict(view.fields).get(texts.CARD_FIELD_LABELS["delivery"])
    if delivery:  # the answer's 送达情况 changes without a status change
        status += f"  \n{texts.CARD_FIELD_LABELS['delivery']}：{md_escape(delivery)}"
    parts = [status]
    if view.holder_line:
        parts.append(view.holder_line)
    if note:
        parts.append(md_escape(note))
    if view.buttons:
        parts.append(_buttons_line(view))
    if url:
        parts.append(detail_link(url))
    return md_escape(view.title), fit("\n\n".join(parts))


def mention_line(names: list[str]) -> str:
    """「@张三 @李四」 for messages sent where the API cannot @ anyone."""
    return " ".join(f"@{md_escape(n)}" for n in names)
