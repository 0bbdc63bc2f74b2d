"""The web tier's start-up heap is frozen out of full garbage collections."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bot.config import Settings
from tests.support import settings_env

ROOT = Path(__file__).resolve().parents[2]


def test_the_wsgi_app_freezes_what_it_loaded(settings: Settings) -> None:
    code = "import gc, bot.wsgi; print(gc.get_freeze_count(), len(gc.get_objects()))"
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, **settings_env(settings)},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    frozen, collectable = (int(n) for n in out.stdout.split()[-2:])
    assert frozen > 50_000 and collectable < frozen / 10
