"""The admin's 设置 page: the effective configuration the office cares about, and the calendar.

Read-only: settings come from the config file and environment, and secrets are never shown —
only whether each is configured. The calendar import runs `storage.calendar.import_calendar`,
as `lianxin calendar import` does, previewed first and confirmed once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint
from sqlalchemy import select

from bot.pipeline.context import handler_context
from bot.workbench import imports
from bot.workbench.common import admin_refusal, audit, db, page, runtime
from handlers import texts
from handlers.calendar_watch import missing_years, needed_years
from handlers.escalation import policy_for
from handlers.insight.category import categories
from handlers.privacy.style import PLACEHOLDERS, MaskStyle
from handlers.workcal import LIBRARY_YEARS
from storage.calendar import stored_years
from storage.models import Region, Staff

Page = str | tuple[str, int]
# One made-up example per type of personal data, to show the masking style on the page.
MASK_EXAMPLES = {
    "mobile": "13812345678",
    "landline": "0518-85206617",
    "id_card": "320706199001011234",
    "bank_card": "6222020200112233445",
    "plate": "苏G12345",
    "name": "张三丰",
    "address": "幸福小区3幢2单元502室",
    "email": "zhangsan@example.com",
}
MASK_LABELS = {k: v.strip("[]") for k, v in PLACEHOLDERS.items()}


@dataclass(frozen=True)
class RegionSla:
    """A region's effective limits, and whether it overrides any itself."""

    region: Region
    claim: float
    answer: float
    close: float
    own: bool


def _secrets() -> list[tuple[str, bool]]:
    """Each secret by name and whether it is configured (its value never leaves here)."""
    s = runtime().settings
    secrets = [
        ("钉钉应用密钥（dingtalk.client_secret）", s.dingtalk.client_secret),
        ("企业微信应用密钥（wecom.secret）", s.wecom.secret),
        ("企业微信回调令牌（wecom.token）", s.wecom.token),
        ("企业微信消息加密密钥（wecom.encoding_aes_key）", s.wecom.encoding_aes_key),
        ("电话号码散列密钥（privacy.hash_key）", s.privacy.hash_key),
    ]
    return [(name, bool(value.get_secret_value())) for name, value in secrets]


def _admins() -> list[str]:
    ids = runtime().settings.workbench.admin_user_ids
    names = dict(
        db()
        .execute(select(Staff.dingtalk_user_id, Staff.name).where(Staff.dingtalk_user_id.in_(ids)))
        .all()
    )
    return [names.get(i, "（名册中无此人）") for i in ids]


def settings_view() -> dict[str, Any]:
    """Everything the 设置 page shows."""
    s = runtime().settings
    ctx = handler_context(runtime(), db())
    regions = list(db().scalars(select(Region).order_by(Region.level, Region.code)))
    slas = []
    for r in regions:
        p = policy_for(db(), r.id, ctx)
        own = any(v is not None for v in (r.sla_claim_days, r.sla_answer_days, r.sla_close_days))
        slas.append(RegionSla(r, p.claim_days, p.answer_days, p.close_days, own))
    style = MaskStyle()
    return {
        "s": s,
        "ladder": ctx.ladder,
        "slas": slas,
        "library_years": sorted(LIBRARY_YEARS),
        "office_years": stored_years(db()),
        "needed": sorted(needed_years(db(), ctx)),
        "missing": missing_years(db(), ctx),
        "categories": categories(),
        "masking": [(MASK_LABELS[k], v, style.apply(k, v)) for k, v in MASK_EXAMPLES.items()],
        "secrets": _secrets(),
        "admins": _admins(),
        "phases": texts.SLA_LABELS,
    }


def register(bp: Blueprint) -> None:
    """Add the 设置 page and the calendar import to the workbench blueprint."""

    @bp.get("/admin/settings")
    def admin_settings() -> Page:
        refused = admin_refusal("settings")
        if refused:
            return refused
        audit("view_settings", "settings")
        return page("admin_settings.html", **settings_view())

    @bp.post("/admin/settings/calendar")
    def admin_calendar_import() -> Page:
        return imports.preview("calendar")

    @bp.post("/admin/settings/calendar/confirm")
    def admin_calendar_confirm() -> Page:
        return imports.confirm("calendar")
