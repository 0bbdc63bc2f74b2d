"""Packaging: every imported distribution is declared; an installed package has its examples."""

from __future__ import annotations

import ast
import importlib.metadata as md
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
import requests

from bot.examples import EXAMPLES

ROOT = Path(__file__).resolve().parents[1]
FIRST_PARTY = {"bot", "handlers", "storage", "tests"}


def _declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {_norm(re.split(r"[<>=!~\[ ;]", dep, maxsplit=1)[0]) for dep in project["dependencies"]}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _imported_modules() -> dict[str, str]:
    """Top-level modules imported by the shipped packages → the first file importing each."""
    found: dict[str, str] = {}
    for package in ("bot", "handlers", "storage"):
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                names: list[str] = []
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    names = [node.module]
                for name in names:
                    found.setdefault(name.split(".")[0], str(path.relative_to(ROOT)))
    return found


def test_every_imported_distribution_is_declared() -> None:
    dists = md.packages_distributions()
    declared = _declared()
    missing = []
    for module, where in sorted(_imported_modules().items()):
        if module in FIRST_PARTY or module in sys.stdlib_module_names or module == "__future__":
            continue
        owners = {_norm(d) for d in dists.get(module, [])}
        if not owners:
            missing.append(f"{module} ({where}): not installed")
        elif not owners & declared:
            missing.append(f"{module} ({where}): from {sorted(owners)}, not in pyproject")
    assert missing == []


def test_the_example_county_in_the_repository_is_the_packaged_one() -> None:
    # examples/ is for readers of the repository; bot/examples/ ships with the package.
    # Edit one, copy it to the other: this test names the file that drifted.
    docs = {p.name for p in (ROOT / "examples").iterdir() if p.is_file()}
    shipped = {p.name for p in EXAMPLES.iterdir() if p.is_file() and p.suffix != ".py"}
    assert docs == shipped
    for name in sorted(docs):
        assert (ROOT / "examples" / name).read_bytes() == (EXAMPLES / name).read_bytes(), name


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def _start_sandbox(
    venv: Path, work: Path, env: dict[str, str], log_path: Path
) -> tuple[subprocess.Popen[bytes], dict | None]:
    """`lianxin run` of the installed copy on a free port; its sandbox config once it answers."""
    port = _free_port()
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            [str(venv / "bin" / "lianxin"), "run", "--port", str(port)],
            cwd=work,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            res = requests.get(f"http://127.0.0.1:{port}/sandbox/api/config", timeout=2)
            if res.status_code == 200:
                return proc, res.json()
        except requests.ConnectionError:
            pass
        time.sleep(0.5)
    return proc, None


def test_a_non_editable_install_starts_a_sandbox_with_the_example_county(tmp_path: Path) -> None:
    # a copy of the source, as a fresh clone has it: pip builds in the tree it is given
    source = tmp_path / "src"
    for name in ("bot", "handlers", "storage"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    # --no-compile: byte-compiling every installed dependency (scipy, scikit-learn, …) is half
    # of pip's time here; the sandbox compiles what it imports, as any first start does
    pip = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", "--no-compile", str(source)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert pip.returncode == 0, pip.stderr[-3000:]
    work = tmp_path / "work"  # not the source tree: nothing may come from the checkout
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIANXIN")}
    env.update(LIANXIN_VAR_DIR=str(work / "var"), LIANXIN_SANDBOX="on", PYTHONPATH="")
    for _attempt in range(3):  # the free port may be taken by another test while we start up
        proc, config = _start_sandbox(venv, work, env, tmp_path / "run.log")
        if config is not None or "already in use" not in (tmp_path / "run.log").read_text():
            break
    try:
        assert config is not None, (tmp_path / "run.log").read_text()[-3000:]
        names = {st["name"] for st in config["stations"]}
        assert {"东湖镇人大代表联络站", "西山乡人大代表联络站"} <= names
        installed = subprocess.run(
            [str(venv / "bin" / "python"), "-c", "import bot; print(bot.__file__)"],
            capture_output=True,
            text=True,
            check=True,
            cwd=work,
            env=env,
        ).stdout
        assert str(venv) in installed  # the installed copy, not the checkout
    finally:
        proc.terminate()
        proc.wait(60)
