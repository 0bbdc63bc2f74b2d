"""The background WAL checkpoint copies the log into the database file, off the writers."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from storage import wal


def _writer(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA wal_autocheckpoint=0")  # as the ack path: never checkpoint on commit
    conn.execute("CREATE TABLE t (x BLOB)")
    return conn


def _fill(conn: sqlite3.Connection, megabytes: int) -> None:
    for _ in range(megabytes * 4):
        conn.execute("INSERT INTO t VALUES (?)", (b"x" * 256 * 1024,))


def test_a_small_log_is_left_alone_and_a_large_one_is_checkpointed(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    conn = _writer(db)
    _fill(conn, 1)
    assert wal.checkpoint_if_large(db) is False
    _fill(conn, 5)
    before = db.stat().st_size
    assert wal.checkpoint_if_large(db) is True
    assert db.stat().st_size > before + 5 * 1024 * 1024  # the rows are in the database file
    conn.execute("INSERT INTO t VALUES (x'00')")  # writers go on; the log restarts
    conn.close()


def test_the_watch_thread_checkpoints_without_being_asked(tmp_path: Path) -> None:
    db = tmp_path / "b.db"
    conn = _writer(db)
    wal.watch(db)
    _fill(conn, 6)
    deadline = time.monotonic() + 10
    while db.stat().st_size < 6 * 1024 * 1024 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert db.stat().st_size >= 6 * 1024 * 1024
    conn.close()
