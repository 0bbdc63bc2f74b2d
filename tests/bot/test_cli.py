"""The `lianxin` command: version, migrations, cases, and `run` as one supervised group."""

from __future__ import annotations

import logging
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from bot.cli import main
from handlers.caselog import Actor, note, transition
from handlers.lifecycle import Action
from storage.models import Case, Constituent


def test_version(capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.startswith("lianxin ")


def test_bad_config_exits_2_with_a_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    cfg = tmp_path / "c.toml"
    cfg.write_text("[web]\nprot = 1\n")
    assert main(["--config", str(cfg), "db", "upgrade"]) == 2
    err = capsys.readouterr().err
    assert "web.prot" in err and "port" in err


def test_db_upgrade_then_cases_list_and_show(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LIANXIN_DATABASE__URL", f"sqlite:///{tmp_path / 'cli.db'}")
    assert main(["db", "upgrade"]) == 0
    assert main(["db", "upgrade"]) == 0  # idempotent
    assert main(["cases", "list"]) == 0
    assert "还没有诉求" in capsys.readouterr().out

    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from storage.db import make_engine
    from storage.models import Deputy, Message, Station

    example = Path(__file__).parents[2] / "examples" / "directory.yaml"
    assert main(["directory", "import", str(example)]) == 0
    opened = datetime(2026, 12, 1, 7, 33, tzinfo=UTC)  # UTC: 15:33 in Beijing, as every card says
    with Session(make_engine(f"sqlite:///{tmp_path / 'cli.db'}")) as s, s.begin():
        station = s.scalars(select(Station).where(Station.code == "dh01")).one()
        deputy = s.scalars(select(Deputy).where(Deputy.code == "d001")).one()
        person = Constituent(channel="wecom_kf", external_id="wm1")
        s.add(person)
        s.flush()
        case = Case(
            status="new",
            constituent_id=person.id,
            text="小区门口路灯坏了一个月了",
            created_at=opened,
            station_id=station.id,
            assignee_deputy_id=deputy.id,
        )
        s.add(case)
        s.flush()
        transition(s, case, Action.ROUTE, Actor.system(), opened, reason="test")
        s.add(
            Message(
                direction="in",
                channel="wecom_kf",
                case_id=case.id,
                kind="text",
                text="晚上七点以后整条路都是黑的",
                created_at=opened,
            )
        )
        s.flush()
        note(
            s,
            case,
            "follow_up",
            Actor("constituent", str(person.id), "wecom"),
            opened,
            message_id=s.scalars(select(Message.id)).one(),
            message_kind="text",
        )
        number = case.id
    assert main(["cases", "list"]) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith(f"#{number}"))
    for want in ("待接单", "2026-12-01 15:33", "东湖镇人大代表联络站", "张明", "路灯"):
        assert want in line, line
    assert "assigned" not in out and "07:33" not in out
    assert main(["cases", "list", "--status", "待接单"]) == 0
    assert f"#{number}" in capsys.readouterr().out
    assert main(["cases", "list", "--status", "closed"]) == 0
    assert "没有状态为「已办结」的诉求" in capsys.readouterr().out
    assert main(["cases", "show", f"#{number}"]) == 0
    out = capsys.readouterr().out
    assert "分派（待分派→待接单）" in out and "reason=test" in out
    assert "晚上七点以后整条路都是黑的" in out  # the follow-up, with its text
    assert "群众追加" in out and "15:33" in out and "张明" in out
    assert main(["cases", "show", "99999"]) == 1
    assert "没有编号为 #99999 的诉求" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "wanted"),
    [
        (
            ["cases", "list", "--status", "bogus"],
            ["bogus", "待接单（assigned）", "已办结（closed）"],
        ),
        (["cases", "list", "--limit", "0"], ["正整数"]),
        (["cases", "show", "abc"], ["「abc」不是诉求编号", "#123"]),
    ],
)
def test_bad_options_exit_2_with_what_is_allowed(
    argv: list[str], wanted: list[str], capsys: pytest.CaptureFixture[str]
):
    with pytest.raises(SystemExit) as done:
        main(argv)
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert all(w in err for w in wanted), err
    assert "lambda" not in err and "Traceback" not in err


def test_cases_mask_texts_stores_the_missing_masks_in_batches(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
):
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from handlers.privacy import mask_text
    from storage.db import make_engine
    from storage.models import CaseMask

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LIANXIN_DATABASE__URL", f"sqlite:///{tmp_path / 'cli.db'}")
    assert main(["db", "upgrade"]) == 0
    engine = make_engine(f"sqlite:///{tmp_path / 'cli.db'}")
    texts = [f"第{i}件：电话1391234567{i}" for i in range(3)]
    with Session(engine) as s, s.begin():
        person = Constituent(channel="wecom_kf", external_id="wm1")
        s.add(person)
        s.flush()
        opened = datetime(2026, 12, 1, 7, 33, tzinfo=UTC)
        s.add_all(
            Case(status="new", constituent_id=person.id, text=t, created_at=opened) for t in texts
        )
    capsys.readouterr()
    assert main(["cases", "mask-texts", "--batch", "2"]) == 0
    assert "检查 3 件诉求，新保存脱敏文本 3 件" in capsys.readouterr().out
    with Session(engine) as s:
        stored = list(s.scalars(select(CaseMask.masked).order_by(CaseMask.case_id)))
    assert stored == [mask_text(t) for t in texts] and "13912345670" not in stored[0]
    assert main(["cases", "mask-texts"]) == 0
    assert "检查 0 件诉求，新保存脱敏文本 0 件" in capsys.readouterr().out
    assert main(["cases", "mask-texts", "--all"]) == 0
    assert "检查 3 件诉求，新保存脱敏文本 0 件" in capsys.readouterr().out


def test_db_current_and_history(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
):
    from storage import migrate
    from storage.db import make_engine

    monkeypatch.setenv("LIANXIN_DATABASE__URL", f"sqlite:///{tmp_path / 'db.db'}")
    heads = migrate.head_revisions(make_engine(f"sqlite:///{tmp_path / 'db.db'}"))
    assert main(["db", "current"]) == 1  # an empty database is behind every head
    out = capsys.readouterr().out
    assert "尚未建表" in out and all(h in out for h in heads)
    assert main(["db", "upgrade"]) == 0
    capsys.readouterr()
    assert main(["db", "current"]) == 0
    out = capsys.readouterr().out
    assert "已是最新" in out and all(h in out for h in heads)  # every head, however many
    assert main(["db", "history"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(x.startswith("80ceb04d855a") and "已应用" in x for x in lines)
    assert sum("(head)" in x for x in lines) == len(heads)
    assert not any("未应用" in x for x in lines)


def test_a_closed_pipe_prints_no_traceback(tmp_path: Path):
    from sqlalchemy.orm import Session

    from storage.db import make_engine

    env = dict(os.environ, LIANXIN_VAR_DIR=str(tmp_path / "var"), LIANXIN_SANDBOX="off")
    env.pop("LIANXIN_CONFIG", None)
    env.pop("LIANXIN_DATABASE__URL", None)
    cli = [sys.executable, "-m", "bot.cli"]
    subprocess.run([*cli, "db", "upgrade"], cwd=tmp_path, env=env, check=True, capture_output=True)
    # far more than a pipe holds (64 KiB): `cases list` is still writing when `head` has left,
    # so the closed pipe surfaces every time, not only when the scheduler happens to allow it
    opened = datetime(2026, 12, 1, 7, 33, tzinfo=UTC)
    with Session(make_engine(f"sqlite:///{tmp_path / 'var' / 'lianxin.db'}")) as s, s.begin():
        person = Constituent(channel="wecom_kf", external_id="wm1")
        s.add(person)
        s.flush()
        s.add_all(
            Case(
                status="new",
                constituent_id=person.id,
                text=f"第{i}件：路灯坏了" * 4,
                created_at=opened,
            )
            for i in range(2000)
        )
    # `db history` and `--help` print more than one line; `head -1` closes the pipe after one
    for argv in (
        ["cases", "list", "--limit", "2000"],
        ["db", "history"],
        ["cases", "list", "--help"],
    ):
        done = subprocess.run(
            " ".join([*cli, *argv]) + " | head -1",
            shell=True,
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.stdout.count("\n") == 1, done.stdout
        assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr, done.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children_of(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


@pytest.mark.slow
def test_run_serves_healthz_and_ctrl_c_leaves_nothing(tmp_path: Path):
    port = _free_port()
    env = dict(os.environ, LIANXIN_VAR_DIR=str(tmp_path / "var"), LIANXIN_SANDBOX="off")
    env.pop("LIANXIN_CONFIG", None)
    log = (tmp_path / "run.log").open("wb")  # a file, not a pipe nobody drains
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        status = None
        while time.monotonic() < deadline:
            try:
                res = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                status = res.status_code
                if status == 200:
                    break
            except requests.ConnectionError:
                pass
            time.sleep(0.3)
        assert status == 200, (tmp_path / "run.log").read_text()[-3000:]
        assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).json()["redis"] == "ok"
        children = _children_of(proc.pid)
        assert len(children) >= 3  # web, worker, scheduler (+ embedded redis-server)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
    time.sleep(0.5)
    alive = [pid for pid in children if os.path.exists(f"/proc/{pid}")]
    assert alive == [], f"left behind: {alive}"
    assert (tmp_path / "var" / "lianxin.db").exists()


def test_directory_import_then_notify(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LIANXIN_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("LIANXIN_SANDBOX", "off")
    example = Path(__file__).parents[2] / "examples" / "directory.yaml"
    assert main(["directory", "import", str(example)]) == 0
    assert "created: regions 4, stations 3, deputies 6" in capsys.readouterr().out
    assert main(["notify", "--region", "nowhere", "--text", "x"]) == 1
    assert "no region 'nowhere'" in capsys.readouterr().err
    assert main(["notify", "--station", "dh01", "--text", "周五下午开展代表接待日活动"]) == 0
    assert "3 deputies of 东湖镇人大代表联络站" in capsys.readouterr().out
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from storage.db import make_engine
    from storage.models import NoticeDelivery, OutboxItem

    with Session(make_engine(f"sqlite:///{tmp_path / 'var' / 'lianxin.db'}")) as s:
        assert s.scalar(select(func.count()).select_from(NoticeDelivery)) == 3
        assert s.scalar(select(func.count()).select_from(OutboxItem)) >= 1


class _Impostor(BaseHTTPRequestHandler):
    """Another program on our port, answering 200 to everything (even /healthz and /sandbox)."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b'{"status": "ok"}')

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.parametrize("command", ["run", "web"])
def test_busy_port_is_one_clear_error_and_no_ready_line(tmp_path: Path, command: str):
    impostor = ThreadingHTTPServer(("127.0.0.1", 0), _Impostor)
    threading.Thread(target=impostor.serve_forever, daemon=True).start()
    port = impostor.server_address[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIANXIN")}
    env["LIANXIN_VAR_DIR"] = str(tmp_path / "var")
    started = time.monotonic()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "bot.cli", command, "--port", str(port)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        impostor.shutdown()
    assert time.monotonic() - started < 10  # one clear error, no restart loop
    assert done.returncode != 0
    out = done.stdout + done.stderr
    assert f"127.0.0.1:{port}" in out and "already in use" in out
    assert "--port" in out and "LIANXIN_WEB__PORT" in out
    assert not re.search(r"\bready\b", out) and "Traceback" not in out  # "already" may stay
    assert "restart" not in out


def test_no_command_creates_a_database_in_the_current_directory(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
):
    home = tmp_path / "site"
    home.mkdir()
    (home / "lianxin.toml").write_text('var_dir = "data"\nsandbox = "off"\n')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    # main() exports --config for its children: let monkeypatch restore the variable afterwards
    monkeypatch.setenv("LIANXIN_CONFIG", str(home / "lianxin.toml"))
    monkeypatch.delenv("LIANXIN_VAR_DIR", raising=False)
    monkeypatch.delenv("LIANXIN_DATABASE__URL", raising=False)
    with caplog.at_level(logging.INFO, logger="lianxin"):
        assert main(["--config", str(home / "lianxin.toml"), "cases", "list"]) == 0
    assert (home / "data" / "lianxin.db").exists()  # next to the config file
    # said at start, so an operator sees which data a command works on
    said = [r.getMessage() for r in caplog.records if r.name == "lianxin"]
    assert f"data: {home / 'data'} (config: {home / 'lianxin.toml'})" in said, said
    assert list(elsewhere.iterdir()) == []
