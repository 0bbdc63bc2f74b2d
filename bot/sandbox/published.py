"""Where a running sandbox tells one-shot commands (`lianxin wecom qrcode`) its simulators.

The simulators live inside `lianxin run`, on ports chosen at start. The children learn them
from their environment; a command started later in another terminal reads them from
`<var_dir>/sandbox.json`, written at start and removed at stop, and then talks to the same
simulators over loopback, exactly as the worker does. A file left by a killed run is ignored
because its process is gone.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from bot.config import Settings, load_settings

FILE_NAME = "sandbox.json"


def path_for(settings: Settings) -> Path:
    """The file a sandbox using `settings.var_dir` publishes."""
    return settings.var_dir / FILE_NAME


def publish(settings: Settings, env: dict[str, str]) -> Path:
    """Record the children's settings overrides for later one-shot commands."""
    path = path_for(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"pid": os.getpid(), "env": env}), encoding="utf-8")
    tmp.chmod(0o600)
    tmp.replace(path)
    return path


def withdraw(settings: Settings) -> None:
    """Remove our publication (not one written by another, still running sandbox)."""
    path = path_for(settings)
    try:
        if json.loads(path.read_text(encoding="utf-8")).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError):
        pass


def running_env(settings: Settings) -> dict[str, str] | None:
    """The overrides of the sandbox running on this var dir, or None when none runs."""
    try:
        data = json.loads(path_for(settings).read_text(encoding="utf-8"))
        pid, env = int(data["pid"]), dict(data["env"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # alive, owned by someone else
    return {str(k): str(v) for k, v in env.items()}


def sandbox_settings(settings: Settings) -> Settings | None:
    """`settings` as the running sandbox's children see them, or None when no sandbox runs."""
    env = running_env(settings)
    if env is None:
        return None
    merged = {k: v for k, v in os.environ.items() if k.startswith("LIANXIN_")}
    merged.update((k, v) for k, v in env.items() if k.startswith("LIANXIN_"))
    config = None if settings.source == "built-in defaults" else settings.source
    return load_settings(config, environ=merged)
