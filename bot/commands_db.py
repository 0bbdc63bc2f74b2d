"""`lianxin db current` and `lianxin db history`: where the schema stands (several heads ok)."""

from __future__ import annotations

import argparse

from bot.config import Settings


def cmd_db_current(args: argparse.Namespace, settings: Settings) -> int:
    """Print the database's revision(s) and whether every migration head is applied."""
    from storage import migrate
    from storage.db import make_engine

    engine = make_engine(settings.database_url)
    current = migrate.current_revisions(engine)
    heads = migrate.head_revisions(engine)
    print(f"数据库：{engine.url.render_as_string(hide_password=True)}")
    print("当前版本：" + ("、".join(current) if current else "无（尚未建表）"))
    missing = [h for h in heads if h not in current]
    if not missing and set(current) == set(heads):
        print(f"已是最新（{len(heads)} 个 head）。")
        return 0
    applied = {row.revision for row in migrate.history(engine) if row.applied}
    pending = [h for h in heads if h not in applied]
    if pending:
        print("待升级到：" + "、".join(pending) + "。请运行 `lianxin db upgrade`。")
        return 1
    print("已是最新。")
    return 0


def cmd_db_history(args: argparse.Namespace, settings: Settings) -> int:
    """Print every migration, newest first, with 已应用/未应用 and the heads marked."""
    from storage import migrate
    from storage.db import make_engine

    engine = make_engine(settings.database_url)
    for row in migrate.history(engine):
        mark = "已应用" if row.applied else "未应用"
        parents = "、".join(row.down) or "base"
        head = "  (head)" if row.head else ""
        print(f"{row.revision:<28} ← {parents:<28} {mark}  {row.doc}{head}")
    return 0
