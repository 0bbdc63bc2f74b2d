"""The 代表履职 part of bench/dingtalk_broadcast.py (`--solicit`): a solicitation to every
seeded deputy through handlers.duties (one outbox row per 20), then `--answers` deputies answer
on the card within a minute over a real `lianxin stream` process; each answer must be recorded
exactly once (one answered row, one inbox row, one reply per deputy)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from bot.pipeline.context import handler_context
from bot.pipeline.outbox_jobs import enqueue_send
from bot.pipeline.sweeper import sweep
from bot.runtime import Runtime
from bot.simulators.dingtalk import DingTalkSimulator
from storage.models import InboxItem, Message, SolicitTarget
from storage.outbox import take_new_outbox_ids

ROOT = Path(__file__).resolve().parents[1]


def queue_solicitation(rt: Runtime) -> tuple[int, int]:
    """Create the solicitation the way `lianxin solicit create` does: (id, outbox rows)."""
    from handlers.duties import solicit
    from handlers.duties.spec import parse_spec

    with rt.sessions.begin() as s:
        ctx = handler_context(rt, s)
        raw = {
            "title": "关于年度民生实事项目的意见征集",
            "questions": [
                {"text": "您对候选项目的总体意见", "type": "single", "options": ["赞成", "反对"]},
                {"text": "其他意见", "type": "text", "required": False},
            ],
            "deadline": (ctx.now + timedelta(days=7)).isoformat(),
            "audience": {"region": "BENCH"},
        }
        created = solicit.create(s, ctx, parse_spec(raw, ZoneInfo("Asia/Shanghai")), "bench")
        ids = take_new_outbox_ids(s)
    for outbox_id in ids:
        enqueue_send(rt, outbox_id)
    return created.solicitation_id, len(ids)


def answered(rt: Runtime, sid: int) -> int:
    """Deputies whose answer is recorded."""
    with rt.sessions() as s:
        return int(
            s.scalar(
                select(func.count()).where(
                    SolicitTarget.solicitation_id == sid, SolicitTarget.status == "answered"
                )
            )
            or 0
        )


def start_stream(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """A real `lianxin stream` process (the dingtalk-stream SDK over the simulator's socket)."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "stream"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop a process group this bench started."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(15)


def burst(
    rt: Runtime,
    sim: DingTalkSimulator,
    sid: int,
    users: list[str],
    run_workers: Callable[[Callable[[], bool], Callable[[], None]], float],
    env: dict[str, str],
    log: Path,
) -> dict[str, float | int | bool]:
    """`len(users)` answers pushed within a minute to running workers; figures of how they
    were recorded (from the first answer pushed to the last one recorded)."""
    stream = start_stream(env, log)
    times: dict[str, float] = {}
    try:
        if not sim.wait_connections(1, timeout=30):
            raise SystemExit(f"the stream process did not connect; see {log}")

        def push() -> None:
            times["t0"] = time.monotonic()
            for i, user in enumerate(users):
                sim.user_sends_private_text(user, f"#征集{sid} 1{'AB'[i % 2]}")
            times["pushed"] = time.monotonic() - times["t0"]

        def done() -> bool:
            sweep()
            return answered(rt, sid) >= len(users)

        wall = run_workers(done, push)
        elapsed = time.monotonic() - times["t0"]
        pushed = times["pushed"]
    finally:
        stop(stream)
    with rt.sessions() as s:
        inbox = int(s.scalar(select(func.count()).where(InboxItem.source == "dingtalk_bot")) or 0)
        messages = int(
            s.scalar(
                select(func.count()).where(Message.direction == "in", Message.kind == "command")
            )
            or 0
        )
    replies: Counter[str] = Counter()
    for user in users:
        replies[user] = sum(
            1 for e in sim.private_view(user) if e["sender"] == "robot" and "已提交" in str(e)
        )
    got = answered(rt, sid)
    return {
        "answers": len(users),
        "pushed_seconds": round(pushed, 2),
        "recorded_seconds": round(elapsed, 2),
        "workers_seconds": round(wall, 2),
        "answered_rows": got,
        "inbox_rows": inbox,
        "messages": messages,
        "replies_once": all(replies[u] == 1 for u in users),
        "ok": got == len(users) == inbox == messages and all(replies[u] == 1 for u in users),
    }
