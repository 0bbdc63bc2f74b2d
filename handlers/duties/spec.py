"""A solicitation as staff write it (a YAML mapping), checked into plain dataclasses.

Every mistake is reported at once, in English for the operator, naming the field.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

QUESTION_TYPES = ("single", "multiple", "text")
MAX_OPTIONS = 26  # answered by letter A–Z


class SpecError(ValueError):
    """The solicitation file is wrong; the message lists every problem."""


@dataclass(frozen=True)
class Question:
    """One question: single or multiple choice (options A, B, …) or free text."""

    text: str
    type: str
    options: tuple[str, ...] = ()
    required: bool = True

    @property
    def is_choice(self) -> bool:
        """Answered by option letters."""
        return self.type != "text"

    def as_json(self) -> dict[str, Any]:
        """The stored form."""
        return {
            "text": self.text,
            "type": self.type,
            "options": list(self.options),
            "required": self.required,
        }


@dataclass(frozen=True)
class Audience:
    """Who is asked: every deputy of a region (and below), of some stations, or a list."""

    region: str | None = None
    stations: tuple[str, ...] = ()
    deputies: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        """The stored form."""
        if self.region:
            return {"region": self.region}
        if self.stations:
            return {"stations": list(self.stations)}
        return {"deputies": list(self.deputies)}


@dataclass(frozen=True)
class SolicitSpec:
    """A checked solicitation, ready to be created."""

    kind: str  # survey | vote
    title: str
    body: str
    documents: tuple[dict[str, str], ...]
    questions: tuple[Question, ...]
    deadline: datetime  # aware
    audience: Audience
    secret: bool
    remind_days: tuple[int, ...]


def questions_from_json(raw: list[Any]) -> tuple[Question, ...]:
    """Stored questions back as dataclasses."""
    return tuple(
        Question(q["text"], q["type"], tuple(q.get("options") or ()), bool(q.get("required", True)))
        for q in raw
    )


def parse_spec(raw: Any, tz: ZoneInfo) -> SolicitSpec:
    """Check a YAML mapping; naive deadlines are wall-clock time in `tz`. SpecError if wrong."""
    problems: list[str] = []
    if not isinstance(raw, dict):
        raise SpecError("the file must be a mapping with title, questions, deadline, audience")
    kind = str(raw.get("kind", "survey"))
    if kind not in ("survey", "vote"):
        problems.append(f"kind: {kind!r} is not survey or vote")
    title = str(raw.get("title") or "").strip()
    if not title:
        problems.append("title: missing")
    questions = _questions(raw.get("questions"), kind, problems)
    deadline = parse_time(raw.get("deadline"), tz, problems)
    audience = parse_audience(raw.get("audience"), problems)
    documents = parse_documents(raw.get("documents"), problems)
    remind = _remind(raw.get("remind_days", [1]), problems)
    secret = bool(raw.get("secret", False))
    if secret and kind != "vote":
        problems.append("secret: only a vote can be secret")
    if problems:
        raise SpecError("; ".join(problems))
    assert deadline is not None and audience is not None
    return SolicitSpec(
        kind=kind,
        title=title,
        body=str(raw.get("text") or raw.get("body") or "").strip(),
        documents=documents,
        questions=questions,
        deadline=deadline,
        audience=audience,
        secret=secret,
        remind_days=remind,
    )


def _questions(raw: Any, kind: str, problems: list[str]) -> tuple[Question, ...]:
    if not isinstance(raw, list) or not raw:
        problems.append("questions: give a list of at least one question")
        return ()
    out: list[Question] = []
    for n, q in enumerate(raw, 1):
        if not isinstance(q, dict) or not str(q.get("text") or "").strip():
            problems.append(f"questions[{n}]: needs text")
            continue
        qtype = str(q.get("type", "single"))
        options = tuple(str(o).strip() for o in q.get("options") or () if str(o).strip())
        if qtype not in QUESTION_TYPES:
            problems.append(f"questions[{n}].type: {qtype!r} is not one of {QUESTION_TYPES}")
        elif qtype != "text" and not 2 <= len(options) <= MAX_OPTIONS:
            problems.append(f"questions[{n}].options: give 2 to {MAX_OPTIONS} options")
        elif qtype == "text" and kind == "vote":
            problems.append(f"questions[{n}]: a vote has no free-text questions")
        out.append(Question(str(q["text"]).strip(), qtype, options, bool(q.get("required", True))))
    return tuple(out)


def parse_time(raw: Any, tz: ZoneInfo, problems: list[str]) -> datetime | None:
    value: datetime | None = None
    if isinstance(raw, datetime):
        value = raw
    elif isinstance(raw, date):
        value = datetime.combine(raw, time(23, 59))
    elif isinstance(raw, str):
        try:
            value = datetime.fromisoformat(raw.strip())
        except ValueError:
            value = None
    if value is None:
        problems.append("deadline: give a date and time like 2026-12-10 17:00")
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=tz)


def parse_audience(raw: Any, problems: list[str]) -> Audience | None:
    if not isinstance(raw, dict):
        problems.append("audience: give region: CODE, stations: [CODES] or deputies: [CODES]")
        return None
    given = [k for k in ("region", "stations", "deputies") if raw.get(k)]
    if len(given) != 1:
        problems.append("audience: give exactly one of region, stations, deputies")
        return None
    if given[0] == "region":
        return Audience(region=str(raw["region"]))
    values = raw[given[0]]
    codes = tuple(str(v) for v in (values if isinstance(values, list) else [values]))
    return Audience(stations=codes) if given[0] == "stations" else Audience(deputies=codes)


def parse_documents(raw: Any, problems: list[str]) -> tuple[dict[str, str], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        problems.append("documents: give a list of {title, url}")
        return ()
    out: list[dict[str, str]] = []
    for n, d in enumerate(raw, 1):
        if isinstance(d, dict) and d.get("title"):
            out.append({"title": str(d["title"]), "url": str(d.get("url") or "")})
        else:
            problems.append(f"documents[{n}]: needs a title")
    return tuple(out)


def _remind(raw: Any, problems: list[str]) -> tuple[int, ...]:
    values = raw if isinstance(raw, list) else [raw]
    try:
        days = tuple(sorted({int(v) for v in values}, reverse=True))
    except (TypeError, ValueError):
        problems.append("remind_days: give whole working days, e.g. [3, 1]")
        return ()
    if any(d < 0 for d in days):
        problems.append("remind_days: days before the deadline cannot be negative")
    return days
