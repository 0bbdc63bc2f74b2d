"""Start-up that tells the truth: can we listen on the port, and is it *our* server answering?

`lianxin run` hands its web child a random instance id; /healthz echoes it in a header, so
"ready" is printed only when our own process answers, not another program on the same port.
"""

from __future__ import annotations

import errno
import os
import secrets
import socket
import threading
import time

INSTANCE_ENV = "LX_RUN_INSTANCE"  # not LIANXIN_*: it is not a settings key
INSTANCE_HEADER = "X-Lianxin-Instance"
EXIT_CANNOT_LISTEN = 78  # EX_CONFIG: the supervisor does not restart a child that exits so
_PROCESS_INSTANCE = secrets.token_hex(8)


def instance_id() -> str:
    """This web process's instance id: the one `lianxin run` gave it, else a random one."""
    return os.environ.get(INSTANCE_ENV) or _PROCESS_INSTANCE


def cannot_listen(host: str, port: int) -> str | None:
    """Why we cannot listen on host:port (None when we can), checked the way werkzeug binds."""
    try:
        infos = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as exc:
        return f"cannot resolve host {host!r}: {exc.strerror}"
    family, kind, proto, _name, address = infos[0]
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as exc:
            return describe_bind_error(host, port, exc)
    return None


def describe_bind_error(host: str, port: int, exc: OSError) -> str:
    """One clear line for an operator, naming both ways to choose another port."""
    if exc.errno == errno.EADDRINUSE:
        reason = "the port is already in use by another program"
    else:
        reason = exc.strerror or str(exc)
    return (
        f"cannot listen on {host or '0.0.0.0'}:{port}: {reason}. Choose another port with "
        f"--port N or LIANXIN_WEB__PORT=N (or [web] port in the config file)."
    )


def answers_as(base_url: str, instance: str, timeout: float = 2.0) -> bool:
    """True when GET /healthz at `base_url` is answered, healthy, by the web process `instance`."""
    import requests  # only `lianxin run` asks; every other command imports this module

    try:
        res = requests.get(f"{base_url}/healthz", timeout=timeout)
    except requests.RequestException:
        return False
    return res.status_code == 200 and res.headers.get(INSTANCE_HEADER) == instance


def wait_until_ours(
    base_url: str, instance: str, stopping: threading.Event, timeout: float
) -> bool:
    """Poll /healthz until our web process answers; False on timeout or when stopping."""
    deadline = time.monotonic() + timeout
    while not stopping.is_set() and time.monotonic() < deadline:
        if answers_as(base_url, instance):
            return True
        stopping.wait(0.2)
    return False
