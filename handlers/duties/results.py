"""Results of a solicitation: counts per option, free-text answers, response rate by place.

A survey counts the deputies who submitted (every required question answered). A vote's
counts exist only after its close (`Solicitation.tally`); before that only turnout is shown.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers.duties.spec import Question, questions_from_json
from storage.models import Deputy, Region, Solicitation, SolicitTarget, Station

DONE = ("answered", "voted")
Triple = tuple[SolicitTarget, Deputy, Station | None]


@dataclass(frozen=True)
class RateRow:
    """Response rate of one region or station: answered / asked."""

    level: str  # region | station | total
    code: str
    name: str
    asked: int
    answered: int

    @property
    def rate(self) -> float:
        """answered / asked (0 when nobody was asked)."""
        return self.answered / self.asked if self.asked else 0.0


@dataclass(frozen=True)
class TextAnswer:
    """One free-text answer with who gave it."""

    question: int
    deputy_code: str
    deputy_name: str
    station: str
    text: str


@dataclass(frozen=True)
class Results:
    """Everything `lianxin solicit results` prints and exports."""

    solicitation: Solicitation
    questions: tuple[Question, ...]
    counts: dict[int, dict[str, int]] | None  # None: a vote not yet closed
    text_answers: tuple[TextAnswer, ...]
    rates: tuple[RateRow, ...]  # total first, then regions, then stations
    details: tuple[tuple[str, str, str, dict[str, object]], ...]  # code, name, station, answers


def results(session: Session, solicitation_id: int) -> Results:
    """The results of one solicitation; LookupError if there is none."""
    sol = session.get(Solicitation, solicitation_id)
    if sol is None:
        raise LookupError(f"no solicitation {solicitation_id}")
    questions = questions_from_json(sol.questions)
    found = session.execute(
        select(SolicitTarget, Deputy, Station)
        .join(Deputy, Deputy.id == SolicitTarget.deputy_id)
        .outerjoin(Station, Station.id == SolicitTarget.station_id)
        .where(SolicitTarget.solicitation_id == sol.id)
        .order_by(Deputy.code)
    ).all()
    rows: list[Triple] = [(t, d, s) for t, d, s in found]
    done = [(t, d, s) for t, d, s in rows if t.status in DONE]
    return Results(
        solicitation=sol,
        questions=questions,
        counts=_counts(sol, questions, [t.answers or {} for t, _, _ in done]),
        text_answers=tuple(_texts(questions, done)),
        rates=tuple(_rates(session, rows)),
        details=tuple(
            (d.code, d.name, s.name if s else "", dict(t.answers or {}))
            for t, d, s in done
            if not sol.secret
        ),
    )


def _counts(
    sol: Solicitation, questions: tuple[Question, ...], given: list[dict[str, object]]
) -> dict[int, dict[str, int]] | None:
    if sol.kind == "vote":
        if sol.tally is None:
            return None
        stored = sol.tally.get("counts", {})
        return {
            n: {
                chr(65 + i): int(stored.get(str(n), {}).get(chr(65 + i), 0))
                for i in range(len(q.options))
            }
            for n, q in enumerate(questions, 1)
            if q.is_choice
        }
    out: dict[int, dict[str, int]] = {}
    for n, q in enumerate(questions, 1):
        if not q.is_choice:
            continue
        c: Counter[str] = Counter()
        for answers in given:
            value = answers.get(str(n)) or []
            c.update(value if isinstance(value, list) else [])
        out[n] = {chr(65 + i): c.get(chr(65 + i), 0) for i in range(len(q.options))}
    return out


def _texts(questions: tuple[Question, ...], done: list[Triple]) -> Iterator[TextAnswer]:
    for n, q in enumerate(questions, 1):
        if q.is_choice:
            continue
        for t, d, s in done:
            value = (t.answers or {}).get(str(n))
            if isinstance(value, str) and value:
                yield TextAnswer(n, d.code, d.name, s.name if s else "", value)


def _rates(session: Session, rows: list[Triple]) -> list[RateRow]:
    by_station: dict[int | None, list[int]] = {}
    for t, _d, s in rows:
        pair = by_station.setdefault(s.id if s else None, [0, 0])
        pair[0] += 1
        pair[1] += int(t.status in DONE)
    stations = {s.id: s for _t, _d, s in rows if s is not None}
    by_region: dict[int, list[int]] = {}
    for sid, (asked, answered) in by_station.items():
        if sid is None:
            continue
        # a region counts every station below it (township → county → city)
        for rid in _ancestors(session, stations[sid].region_id):
            pair = by_region.setdefault(rid, [0, 0])
            pair[0] += asked
            pair[1] += answered
    total = RateRow(
        "total", "", "合计", sum(p[0] for p in by_station.values()),
        sum(p[1] for p in by_station.values()),
    )  # fmt: skip
    out = [total]
    for rid in sorted(by_region):
        region = session.get(Region, rid)
        asked, answered = by_region[rid]
        out.append(
            RateRow(
                "region",
                region.code if region else "",
                region.name if region else "",
                asked,
                answered,
            )
        )
    for sid in sorted(k for k in by_station if k is not None):
        asked, answered = by_station[sid]
        out.append(RateRow("station", stations[sid].code, stations[sid].name, asked, answered))
    return out


def _ancestors(session: Session, region_id: int) -> list[int]:
    """The region and every region above it."""
    out: list[int] = []
    current: int | None = region_id
    while current is not None and current not in out:
        out.append(current)
        region = session.get(Region, current)
        current = region.parent_id if region else None
    return out
