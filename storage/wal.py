"""Checkpoint SQLite's write-ahead log in the background, off the WeCom ack path.

A commit that finds the WAL past `wal_autocheckpoint` pages copies the log into the database
file and syncs it before it returns: a 20-150 ms stall for the callback that happened to cross
the limit. Ack-path connections therefore checkpoint only as a last resort (storage.db), and a
daemon thread of each process that writes on the ack path runs a PASSIVE checkpoint once the log
passes `THRESHOLD_BYTES`. PASSIVE takes no lock that writers wait for, and the sqlite3 module
releases the GIL while it runs, so callbacks go on meanwhile.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from pathlib import Path

log = logging.getLogger(__name__)

THRESHOLD_BYTES = 4 * 1024 * 1024  # about 1,000 pages, SQLite's own default
INTERVAL_S = 1.0

_paths: set[Path] = set()
_lock = threading.Lock()
_thread: threading.Thread | None = None


def watch(database: Path) -> None:
    """Checkpoint `database`'s WAL in this process's background thread from now on."""
    global _thread
    with _lock:
        _paths.add(database)
        if _thread is None or not _thread.is_alive():
            _thread = threading.Thread(target=_run, name="lianxin-wal", daemon=True)
            _thread.start()


def checkpoint_if_large(database: Path) -> bool:
    """One PASSIVE checkpoint when the WAL is past the threshold; True when it ran."""
    wal = database.with_name(database.name + "-wal")
    if not wal.exists() or wal.stat().st_size < THRESHOLD_BYTES:
        return False
    conn = sqlite3.connect(database, timeout=1.0)
    try:
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    finally:
        conn.close()
    return True


def _run() -> None:
    while True:
        time.sleep(INTERVAL_S)
        with _lock:
            paths = list(_paths)
        for path in paths:
            if not path.exists():  # a database removed (a test's temporary directory)
                with _lock:
                    _paths.discard(path)
                continue
            try:
                checkpoint_if_large(path)
            except sqlite3.Error as exc:  # busy or locked: the next round tries again
                log.debug("wal checkpoint of %s skipped: %s", path, exc)
