"""Masking at intake: the texts of new cases masked and stored by a worker, after the ack.

A processor that opens a case notes it (handlers.workbench.masked.mask_later); once its
transaction commits and its sends are queued, the ids go to a job on the periodic queue,
which workers take only when no inbound or outbound job waits, so masking never delays an
acknowledgement. A job lost to a Redis outage costs nothing but time: the first export or
page that needs the text masks and stores it then.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from bot import runtime
from bot.queue import PERIODIC_QUEUE
from bot.runtime import Runtime
from handlers.workbench.masked import store_masks

log = logging.getLogger(__name__)


def enqueue_masks(rt: Runtime, case_ids: Sequence[int]) -> None:
    """Mask these cases' texts soon, in a low-priority job (nothing to do for no ids)."""
    if not case_ids:
        return
    try:
        rt.queue(PERIODIC_QUEUE).enqueue(
            mask_cases, list(case_ids), result_ttl=60, failure_ttl=86400
        )
    except Exception as exc:
        log.warning("cases %s not queued for masking (%s); masked on first read", case_ids, exc)


def mask_cases(case_ids: list[int]) -> str:
    """rq job: mask and store the texts of these cases (those without a valid stored mask)."""
    rt = runtime.current()
    with rt.sessions() as session, session.begin():
        done = store_masks(session, case_ids)
    return f"masked {done} of {len(case_ids)}"
