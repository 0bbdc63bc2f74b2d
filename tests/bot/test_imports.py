"""The house stays livable: no import circle in bot/, the pipeline never imports an adapter, and
handlers/ and storage/ never import upward or a platform SDK.

Edges are module-level imports between lianxin's own modules (imports inside functions are
deliberate late bindings). `from pkg import sub` is an edge to the submodule; a submodule's
implicit import of its own parent package is not counted.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _modules() -> dict[str, Path]:
    out = {}
    for path in (ROOT / "bot").rglob("*.py"):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        out[name.removesuffix(".__init__")] = path
    return out


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for name, path in mods.items():
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                subs = [f"{node.module}.{a.name}" for a in node.names]
                targets = [s for s in subs if s in mods] or [node.module]
            else:
                continue
            for target in targets:
                if target in mods and target != name and not name.startswith(target + "."):
                    graph[name].add(target)
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1 = on the path, 2 = done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_import_circle_in_bot() -> None:
    cycle = _cycle(_graph())
    assert cycle is None, " → ".join(cycle or [])


def test_the_pipeline_imports_no_platform_adapter() -> None:
    graph = _graph()
    for name, targets in graph.items():
        if name.startswith("bot.pipeline"):
            adapters = [t for t in targets if t.startswith(("bot.wecom", "bot.dingtalk"))]
            assert adapters == [], f"{name} imports {adapters}"


SDKS = ("dingtalk_stream", "wechatpy", "flask", "rq")


def _every_import(path: Path) -> list[tuple[int, str]]:
    """All imports of a file with their lines, those inside functions and blocks included."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.lineno, node.module))
    return out


def _offending(package: str, banned: tuple[str, ...]) -> list[str]:
    bad = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for line, module in _every_import(path):
            if module.split(".")[0] in banned:
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    return bad


def test_handlers_import_no_sdk_and_nothing_from_bot() -> None:
    assert list((ROOT / "handlers").rglob("*.py"))  # the walk sees the package
    assert _offending("handlers", (*SDKS, "bot")) == []


def test_storage_imports_neither_handlers_nor_bot_nor_an_sdk() -> None:
    assert _offending("storage", (*SDKS, "bot", "handlers")) == []


def test_the_check_sees_a_late_import(tmp_path: Path) -> None:
    sample = tmp_path / "late.py"
    sample.write_text("def f() -> None:\n    from flask import Flask\n    import rq.job\n")
    assert _every_import(sample) == [(2, "flask"), (3, "rq.job")]
