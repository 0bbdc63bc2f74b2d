"""The supervisor: restarts a dead child with backoff, gives up on one that keeps dying."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pytest

from bot.supervisor import Child, RestartPolicy, Supervisor

FAST = RestartPolicy(base_seconds=0.05, cap_seconds=0.2, max_fast_exits=3, window_seconds=60)


def _py(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_a_child_that_keeps_dying_is_restarted_then_given_up_on(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
):
    starts = tmp_path / "starts"
    crasher = Child("crasher", _py(f"open({str(starts)!r}, 'a').write('x'); raise SystemExit(3)"))
    with caplog.at_level(logging.INFO, logger="bot.supervisor"):
        code = Supervisor([crasher], {}, FAST).run()
    assert code == 1
    assert starts.read_text() == "xxx"  # first start + 2 restarts, then it gave up
    messages = [r.getMessage() for r in caplog.records]
    assert "restarted crasher (attempt 1)" in messages
    assert "restarted crasher (attempt 2)" in messages
    assert any("crasher exited 3 times" in m and "giving up" in m for m in messages)


def test_backoff_doubles_up_to_the_cap():
    import random

    policy = RestartPolicy(base_seconds=1, cap_seconds=8)
    rng = random.Random(1)
    ceilings = [policy.delay(n, rng) / 1.0 for n in range(1, 7)]
    assert all(0.75 * c <= d <= c for d, c in zip(ceilings, [1, 2, 4, 8, 8, 8], strict=True))


@pytest.mark.parametrize("code", [2, 78])
def test_a_configuration_error_is_not_restarted(code: int, caplog: pytest.LogCaptureFixture):
    sleeper = Child("sleeper", _py("import time; time.sleep(60)"))
    bad = Child("web", _py(f"raise SystemExit({code})"))
    with caplog.at_level(logging.INFO, logger="bot.supervisor"):
        assert Supervisor([bad, sleeper], {}, FAST).run() == code
    messages = [r.getMessage() for r in caplog.records]
    assert not any(m.startswith("restarted") for m in messages)
    assert any("not restarting" in m for m in messages)
    assert sleeper.proc is not None and sleeper.proc.returncode is not None  # stopped too
