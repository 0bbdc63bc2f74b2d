"""Benchmark: `lianxin hotline import` of a fictional 12345 export, first import and re-import.

Generates an .xlsx of N fictional work orders (tests/hotline_support.py), imports the example
directory into a fresh embedded SQLite database, then runs the import twice as an operator
would (a separate `lianxin` process each time, so start-up, the masker's model load and the
migration check are counted). Prints wall-clock seconds and rows/s; asserts nothing.

    .venv/bin/python bench/hotline_import.py                 # 10,000 rows
    .venv/bin/python bench/hotline_import.py --rows 100000
    .venv/bin/python bench/hotline_import.py --pg-url postgresql://postgres@127.0.0.1:5432/postgres

With --pg-url a throwaway database is created and dropped.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.hotline_support import mapping_file, write_export  # noqa: E402

LIANXIN = [sys.executable, "-m", "bot.cli"]


def _run(args: list[str], env: dict[str, str], cwd: Path) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(
        [*LIANXIN, *args], env=env, cwd=cwd, capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"lianxin {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return elapsed, done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


def main() -> None:
    """Generate, import, re-import; print the figures."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--rows", type=int, default=10_000)
    p.add_argument("--pg-url", help="PostgreSQL server URL (a throwaway database is made)")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="lianxin-hotline-bench-") as tmp:
        work = Path(tmp)
        env = {**os.environ, "PYTHONPATH": str(ROOT), "LIANXIN_VAR_DIR": str(work / "var")}
        admin = None
        if args.pg_url:
            name = f"lianxin_bench_{uuid.uuid4().hex[:8]}"
            admin = create_engine(
                make_url(args.pg_url).set(drivername="postgresql+psycopg"),
                isolation_level="AUTOCOMMIT",
            )
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            url = make_url(args.pg_url).set(database=name).render_as_string(hide_password=False)
            env["LIANXIN_DATABASE__URL"] = url
            env["LIANXIN_PRIVACY__HASH_KEY"] = uuid.uuid4().hex
            _run(["db", "upgrade"], env, work)
        try:
            started = time.perf_counter()
            v1 = write_export(work / "v1.xlsx", args.rows)
            v2 = write_export(work / "v2.xlsx", args.rows, version=2)
            made = time.perf_counter() - started
            mapping = mapping_file(work / "map.yaml")
            _run(["directory", "import", str(ROOT / "examples" / "directory.yaml")], env, work)
            print(f"database: {'PostgreSQL' if args.pg_url else 'SQLite (embedded default)'}")
            print(f"generated 2 x {args.rows:,} rows in {made:.1f}s")
            for label, export in (("first import", v1), ("re-import (status changes)", v2)):
                imp = ["hotline", "import", str(export.path), "--mapping", str(mapping)]
                seconds, summary = _run(imp, env, work)
                print(f"{label:<28} {seconds:6.1f}s  {args.rows / seconds:7,.0f} rows/s  {summary}")
        finally:
            if admin is not None:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()


if __name__ == "__main__":
    main()
