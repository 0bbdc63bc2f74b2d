"""The outbox's one hook into the cases: what became of a message that matters to a case.

`bot.pipeline.outbox_jobs.send_one` calls `report_outcome` after each send attempt of a row that
`reports_to_case`: rows that carry an answer number (handlers/notices.py
`ToConstituent.answer_seq`) are reported to `handlers.delivery`, in a transaction of their own,
when they end sent, held or failed.
"""

from __future__ import annotations

import logging

from bot.runtime import Runtime
from storage.models import OutboxItem
from storage.outbox import take_new_outbox_ids

log = logging.getLogger(__name__)
ENDINGS = frozenset({"sent", "held", "failed"})


def reports_to_case(item: OutboxItem) -> bool:
    """Whether the outcome of sending `item` is reported (an answer of a case), so every other
    send skips the report's transaction."""
    return (
        item.kind == "to_constituent"
        and item.case_id is not None
        and isinstance(item.payload.get("answer_seq"), int)
    )


def report_outcome(rt: Runtime, outbox_id: int, outcome: str) -> None:
    """Tell the handlers how the send of an answer ended (no-op for every other row)."""
    if outcome not in ENDINGS:
        return
    from bot.pipeline.context import handler_context
    from bot.pipeline.outbox_jobs import enqueue_send
    from handlers.delivery import Outcome, on_outbox_outcome

    try:
        with rt.sessions() as session, session.begin():
            item = session.get(OutboxItem, outbox_id)
            if item is None or item.kind != "to_constituent" or item.case_id is None:
                return
            seq = item.payload.get("answer_seq")
            if not isinstance(seq, int) or item.status not in ENDINGS:
                return
            copy_of = item.payload.get("answer_of")  # a co-signer's copy of the main answer
            main = copy_of if isinstance(copy_of, int) else None
            found = Outcome(item.case_id, seq, item.status, item.last_error, main)
            on_outbox_outcome(session, found, handler_context(rt, session))
            new_ids = take_new_outbox_ids(session)
    except Exception:  # the send itself is recorded; only the report is missing
        log.exception("outcome of outbox %s (%s) not reported to its case", outbox_id, outcome)
        return
    for new_id in new_ids:
        enqueue_send(rt, new_id)
