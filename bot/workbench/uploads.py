"""Uploaded import files waiting between an admin's preview and their confirm.

The file is kept under var/workbench/uploads/ with a random token (its suffix kept, since the
importer reads by suffix) and a sidecar naming who uploaded it. Confirming *claims* the file
by renaming it, which only one request can do, so one preview is imported at most once.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from bot.runtime import Runtime
from handlers.workbench.scope import Viewer

MAX_AGE_SECONDS = 30 * 60
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


@dataclass(frozen=True)
class Staged:
    """An uploaded file: where it is, what it was called, what it is for."""

    token: str
    path: Path
    name: str
    kind: str  # directory | calendar
    sha256: str


def _folder(rt: Runtime) -> Path:
    folder = rt.settings.var_dir / "workbench" / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _owner(viewer: Viewer) -> str:
    return f"{viewer.person.kind}:{viewer.person.id}"


def _sweep(folder: Path) -> None:
    """Forget uploads nobody confirmed in time (and leftovers of crashed confirms)."""
    cutoff = time.time() - MAX_AGE_SECONDS
    for path in folder.iterdir():
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
        except OSError:
            continue  # another request removed it first


def stage(rt: Runtime, viewer: Viewer, kind: str, name: str, suffix: str, data: bytes) -> Staged:
    """Keep an uploaded file for its confirm; returns its token."""
    folder = _folder(rt)
    _sweep(folder)
    token = secrets.token_urlsafe(24)
    path = folder / f"{token}{suffix}"
    path.write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    meta = {"owner": _owner(viewer), "kind": kind, "name": name[:200], "sha256": digest}
    (folder / f"{token}.json").write_text(json.dumps(meta), "utf-8")
    return Staged(token, path, name, kind, digest)


def claim(rt: Runtime, viewer: Viewer, kind: str, token: str) -> Staged | None:
    """Take the staged file for importing (once); None when unknown, expired, or someone else's."""
    if not _TOKEN.match(token):
        return None
    folder = _folder(rt)
    meta_path = folder / f"{token}.json"
    try:
        meta = json.loads(meta_path.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if meta.get("owner") != _owner(viewer) or meta.get("kind") != kind:
        return None
    if time.time() - meta_path.stat().st_mtime > MAX_AGE_SECONDS:
        return None
    found = [
        p for p in folder.glob(f"{token}.*") if p.suffix != ".json" and ".claimed" not in p.name
    ]
    if len(found) != 1:
        return None
    claimed = folder / f"{token}.claimed{found[0].suffix}"
    try:
        os.rename(found[0], claimed)  # atomic: a second confirm finds nothing to rename
    except OSError:
        return None
    meta_path.unlink(missing_ok=True)
    return Staged(token, claimed, str(meta.get("name", "")), kind, str(meta.get("sha256", "")))


def discard(staged: Staged) -> None:
    """Remove a staged or claimed file and its sidecar."""
    staged.path.unlink(missing_ok=True)
    (staged.path.parent / f"{staged.token}.json").unlink(missing_ok=True)
