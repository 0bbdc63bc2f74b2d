"""Masked case texts for exports and pages, stored per case so they are masked once.

Masking is nearly all an export's time, so it happens at intake: `mask_later` notes a case
whose text was just stored, and the worker masks it after the acknowledgement is queued
(bot/pipeline/mask_jobs), off the WeCom ack path. Cases without a stored mask (older rows,
12345 imports, a lost job) are masked on first read and stored: that is the backfill, which
`lianxin cases mask-texts` can also run ahead of time.

A stored masked text is used only while its key — a hash of the case's text and of the masker
itself (every file of handlers/privacy and the segmenter's version) — still matches, so a
changed text or an improved masker masks afresh: a stored mask can never be older than the
masker that would run now.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import lru_cache
from importlib import resources
from typing import Any, Protocol

import jieba
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from handlers.privacy import mask_text
from storage.models import Case, CaseMask

_CHUNK = 1000
PENDING_KEY = "lianxin.cases_to_mask"  # session.info: case ids to mask after the commit


class CaseText(Protocol):
    """A case's number and text (a Case, or a line of the 诉求 list)."""

    @property
    def id(self) -> int: ...

    @property
    def text(self) -> str: ...


@lru_cache(maxsize=1)
def masker_fingerprint() -> str:
    """A hash of the masker's code and word lists (and jieba's version)."""
    digest = hashlib.sha1(str(getattr(jieba, "__version__", "")).encode())
    root = resources.files("handlers.privacy")
    stack = [root]
    files = []
    while stack:
        for entry in stack.pop().iterdir():
            if entry.is_dir():
                if entry.name != "__pycache__":
                    stack.append(entry)
            elif not entry.name.endswith(".pyc"):
                files.append(entry)
    for entry in sorted(files, key=lambda e: str(e)):
        digest.update(str(entry).rsplit("privacy", 1)[-1].encode())
        digest.update(entry.read_bytes())
    return digest.hexdigest()


def _key(text: str) -> str:
    return hashlib.sha1(f"{masker_fingerprint()}\n{text}".encode()).hexdigest()


def masked_texts(session: Session, cases: Sequence[CaseText]) -> dict[int, str]:
    """Each case's text masked, from the stored masks where still valid; the rest stored."""
    return _masked(session, cases)[0]


def _masked(session: Session, cases: Sequence[CaseText]) -> tuple[dict[int, str], int]:
    """The masked texts, and how many had to be masked (and stored) now."""
    keys = {c.id: _key(c.text or "") for c in cases}
    stored = _valid(session, keys)
    new = {c.id: mask_text(c.text or "") for c in cases if c.id not in stored}
    _save(session, {cid: (keys[cid], text) for cid, text in new.items()})
    stored.update(new)
    return stored, len(new)


def _valid(session: Session, keys: dict[int, str]) -> dict[int, str]:
    """The stored masks of these cases whose key still matches."""
    stored: dict[int, str] = {}
    ids = list(keys)
    for i in range(0, len(ids), _CHUNK):
        chunk = ids[i : i + _CHUNK]
        rows = session.execute(
            select(CaseMask.case_id, CaseMask.key, CaseMask.masked).where(
                CaseMask.case_id.in_(chunk)
            )
        )
        stored.update({cid: masked for cid, key, masked in rows if keys[cid] == key})
    return stored


def _save(session: Session, fresh: dict[int, tuple[str, str]]) -> None:
    # in case order, so two writers of overlapping cases lock their rows in one order
    rows = [
        {"case_id": cid, "key": key, "masked": text} for cid, (key, text) in sorted(fresh.items())
    ]
    connection = session.connection()
    for i in range(0, len(rows), _CHUNK):
        connection.execute(_upsert(session), rows[i : i + _CHUNK])


def mask_later(session: Session, case_id: int) -> None:
    """Note a case whose text was just stored, to be masked after this session commits."""
    session.info.setdefault(PENDING_KEY, []).append(case_id)


def take_cases_to_mask(session: Session) -> list[int]:
    """Ids noted by `mask_later` since the last call (to enqueue after the commit)."""
    ids: list[int] = session.info.pop(PENDING_KEY, [])
    return ids


def store_masks(session: Session, case_ids: Sequence[int]) -> int:
    """Mask and store the texts of these cases where no valid mask is stored; how many."""
    done = 0
    for i in range(0, len(case_ids), _CHUNK):
        cases = list(session.scalars(select(Case).where(Case.id.in_(case_ids[i : i + _CHUNK]))))
        done += _masked(session, cases)[1]
    return done


def case_ids_to_mask(session: Session, after: int, limit: int, *, every: bool) -> list[int]:
    """Ids above `after`, ascending, of cases without a stored mask (`every`: all cases, for
    after a masker change, whose stale masks only a key comparison finds)."""
    stmt = select(Case.id).where(Case.id > after).order_by(Case.id).limit(limit)
    if not every:
        stmt = stmt.outerjoin(CaseMask, CaseMask.case_id == Case.id)
        stmt = stmt.where(CaseMask.case_id.is_(None))
    return list(session.scalars(stmt))


def _upsert(session: Session) -> Any:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(CaseMask)
    return stmt.on_conflict_do_update(
        index_elements=["case_id"], set_={"key": stmt.excluded.key, "masked": stmt.excluded.masked}
    )
