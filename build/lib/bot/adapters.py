"""The modules that register inbox processors and outbox senders (imported for that effect)."""

from __future__ import annotations

import bot.dingtalk.jobs
import bot.wecom.jobs

ADAPTERS = (bot.wecom.jobs, bot.dingtalk.jobs)
