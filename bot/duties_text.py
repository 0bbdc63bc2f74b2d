"""Plain-text renderings of solicitation results, 履职档案 and 积分 tables for the CLI."""

from __future__ import annotations

from handlers.duties.record import Archive
from handlers.duties.results import Results
from handlers.duties.scores import ScoreRow
from handlers.texts import fmt_when

_LEVEL = {"region": "地区", "station": "联络站"}


def _num(x: float) -> str:
    return f"{x:g}"


def render_results(res: Results) -> str:
    """Counts per option, free-text answers and response rates."""
    sol = res.solicitation
    state = f"closed {fmt_when(sol.closed_at)} ({sol.closed_by})" if sol.closed_at else "open"
    lines = [
        f"#{sol.id} {sol.kind}{' (secret)' if sol.secret else ''}: {sol.title}",
        f"deadline {fmt_when(sol.deadline)}; {state}",
    ]
    for n, q in enumerate(res.questions, 1):
        lines.append(f"{n}. {q.text} [{q.type}]")
        if q.is_choice:
            for i, option in enumerate(q.options):
                letter = chr(65 + i)
                if res.counts is None:
                    value = "(counted at the close)"
                else:
                    value = str(res.counts.get(n, {}).get(letter, 0))
                lines.append(f"   {letter}. {option}: {value}")
        else:
            for t in (t for t in res.text_answers if t.question == n):
                lines.append(f"   - {t.deputy_name}（{t.station}）：{t.text}")
    lines.append("response rate (answered / asked):")
    for r in res.rates:
        label = "合计" if r.level == "total" else f"{_LEVEL[r.level]} {r.code} {r.name}"
        lines.append(f"   {label}: {r.answered}/{r.asked} = {r.rate:.1%}")
    return "\n".join(lines)


def render_archive(archive: Archive) -> str:
    """Every activity with its points, then the summary and the total."""
    d = archive.deputy
    lines = [f"{d.code} {d.name} — 履职档案 {archive.year}"]
    for e in archive.entries:
        lines.append(f"{e.day.isoformat()}  {e.label}  {e.detail}  +{_num(e.points)}")
    if not archive.entries:
        lines.append("(no activity recorded)")
    lines.append("积分汇总:")
    for label, count, points in archive.summary():
        lines.append(f"   {label}: {count} × → {_num(points)}")
    lines.append(f"履职积分合计: {_num(archive.total)}")
    return "\n".join(lines)


def render_scores(rows: list[ScoreRow]) -> str:
    """履职积分 per region and station."""
    lines = ["level    code  name  deputies  total  average"]
    for r in rows:
        lines.append(
            f"{r.level:8} {r.code} {r.name}  {r.deputies}  {_num(r.total)}  {r.average:.2f}"
        )
    return "\n".join(lines)
