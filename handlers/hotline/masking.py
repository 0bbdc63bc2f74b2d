"""Mask checked tickets into stored records, in this process or a few worker processes.

Masking is nearly all the time an import takes, and it is per row, so large files are masked in
batches by worker processes (spawned, not forked: the parent may hold threads and connections).
Results come back in file order; at most a few batches per worker are in flight at a time.
"""

from __future__ import annotations

import json
import multiprocessing
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict

from handlers.hotline.caller import caller_hash, scrub_known
from handlers.hotline.rows import Ticket
from handlers.privacy import mask_text
from storage.hotline import TicketRecord

BATCH = 250
DATES = ("called_at", "closed_at")


class Memo:
    """mask_text of repeated strings (units, templated answers) computed once per process."""

    def __init__(self, limit: int = 20_000, longest: int = 200) -> None:
        self.limit, self.longest = limit, longest
        self.known: dict[str, str] = {}

    def __call__(self, text: str) -> str:
        found = self.known.get(text)
        if found is None:
            found = mask_text(text)
            if len(text) <= self.longest and len(self.known) < self.limit:
                self.known[text] = found
        return found


_MEMO = Memo()


def masked(t: Ticket, hash_key: bytes, memo: Callable[[str], str] = mask_text) -> TicketRecord:
    """The stored form of a ticket: text masked, the caller's own name and phone starred too."""

    def clean(s: str | None) -> str | None:
        return None if s is None else scrub_known(memo(s), t.caller_name, t.caller_phone)

    return TicketRecord(
        ticket_no=t.ticket_no,
        called_at=t.called_at,
        text=clean(t.content) or "",
        status=t.status,
        raw_status=t.raw_status,
        address=clean(t.address),
        region_id=t.region_id,
        raw_category=t.raw_category,
        category=t.category,
        nature=t.nature,
        handling_unit=clean(t.handling_unit),
        closed_at=t.closed_at,
        answer=clean(t.answer),
        resolved=t.resolved,
        satisfied=t.satisfied,
        caller_hash=caller_hash(hash_key, t.caller_phone) if t.caller_phone else None,
    )


def record_line(record: TicketRecord) -> bytes:
    """One spool line: the record as JSON."""
    data = asdict(record)
    for key in DATES:
        if data[key] is not None:
            data[key] = data[key].isoformat()
    return json.dumps(data, ensure_ascii=False).encode("utf-8") + b"\n"


def mask_batch(tickets: list[Ticket], hash_key: bytes) -> bytes:
    """Spool lines of a batch of tickets (run in a worker, or inline)."""
    return b"".join(record_line(masked(t, hash_key, _MEMO)) for t in tickets)


def _warm() -> None:
    mask_text("预热")  # load the masker's model once per worker, before the first batch


class BatchMasker:
    """Feed tickets in file order; take masked spool lines back in the same order."""

    def __init__(self, hash_key: bytes, workers: int) -> None:
        self.hash_key = hash_key
        self.batch: list[Ticket] = []
        self.pending: deque[Future[bytes]] = deque()
        self.pool: ProcessPoolExecutor | None = None
        self.workers = workers
        if workers > 1:
            self.pool = ProcessPoolExecutor(
                workers, mp_context=multiprocessing.get_context("spawn"), initializer=_warm
            )

    def add(self, ticket: Ticket) -> Iterator[bytes]:
        """Queue one ticket; yields whatever masked lines are ready (in order)."""
        self.batch.append(ticket)
        if len(self.batch) >= BATCH:
            yield from self._flush(wait=False)

    def finish(self) -> Iterator[bytes]:
        """Mask what is left and yield every remaining line."""
        yield from self._flush(wait=True)

    def close(self) -> None:
        """Stop the workers (pending work is dropped)."""
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None

    def _flush(self, wait: bool) -> Iterator[bytes]:
        batch, self.batch = self.batch, []
        if self.pool is None:
            if batch:
                yield mask_batch(batch, self.hash_key)
            return
        if batch:
            self.pending.append(self.pool.submit(mask_batch, batch, self.hash_key))
        while self.pending and (wait or len(self.pending) > 2 * self.workers):
            yield self.pending.popleft().result()
