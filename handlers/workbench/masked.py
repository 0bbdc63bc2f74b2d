"""Masked case texts for exports, kept per case so a second export does not mask them again.

Masking is nearly all an export's time. A stored masked text is used only while its key — a
hash of the case's text and of the masker itself (every file of handlers/privacy and the
segmenter's version) — still matches, so a changed text or an improved masker masks afresh:
a stored mask can never be older than the masker that would run now.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import lru_cache
from importlib import resources
from typing import Any

import jieba
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from handlers.privacy import mask_text
from storage.models import Case, CaseMask

_CHUNK = 1000


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


def masked_texts(session: Session, cases: Sequence[Case]) -> dict[int, str]:
    """Each case's text masked, from the stored masks where still valid; the rest stored."""
    keys = {c.id: _key(c.text or "") for c in cases}
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
    new = {c.id: mask_text(c.text or "") for c in cases if c.id not in stored}
    fresh = [{"case_id": cid, "key": keys[cid], "masked": text} for cid, text in new.items()]
    if fresh:
        connection = session.connection()
        for i in range(0, len(fresh), _CHUNK):
            connection.execute(_upsert(session), fresh[i : i + _CHUNK])
    stored.update(new)
    return stored


def _upsert(session: Session) -> Any:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(CaseMask)
    return stmt.on_conflict_do_update(
        index_elements=["case_id"], set_={"key": stmt.excluded.key, "masked": stmt.excluded.masked}
    )
