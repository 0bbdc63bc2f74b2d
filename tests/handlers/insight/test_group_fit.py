"""A report joins a group only when the group's objects allow it; the object and fault reading
(longest fault term first, lamp patterns, words that only look like a term, related objects,
dialect words)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from handlers.insight.analysis import Analysis, analyse
from handlers.insight.memory_index import MemoryIndex
from handlers.insight.normalise import normalise
from handlers.insight.pair_model import shipped
from handlers.insight.similar import (
    Candidate,
    Settings,
    best_match,
    placed_probability,
    problem_score,
    wording_score,
)
from tests.handlers.insight.support import gazetteer

ACCEPT = shipped().threshold  # what the pair model needs at one place

T0 = datetime(2026, 5, 4, 9, 0, tzinfo=timezone(timedelta(hours=8)))
G = gazetteer()


def _a(text: str, days: float = 0) -> Analysis:
    return analyse(G, text, T0 + timedelta(days=days))


# a report naming no object whose faults (黑, 晃) fit both a dark lamp and a loose manhole
VAGUE = "阳光花园门口这几天一到晚上就黑黑的 走着晃得厉害"
MANHOLE = "阳光花园门口有个井盖松了 车一压哐当哐当的"


def _candidate(group_objects: frozenset[str]) -> Candidate:
    member = _a(VAGUE)
    return Candidate(2, 1, member.features.at, member.features, 2, group_objects)


def test_object_report_does_not_join_another_objects_group_through_a_vague_member() -> None:
    new = _a(MANHOLE, days=1).features
    cfg = Settings()
    # alone, the pair passes
    assert (placed_probability(new, _a(VAGUE).features, "place") or 0.0) >= ACCEPT
    assert wording_score(new, _a(VAGUE).features) < 0.6
    # the vague report joined the streetlight group: the manhole is another problem
    assert best_match(new, [_candidate(frozenset({"streetlight"}))], cfg) is None
    # a group that names the manhole, or no object at all, is joined
    for objects in (frozenset({"manhole"}), frozenset()):
        match = best_match(new, [_candidate(objects)], cfg)
        assert match is not None and match.case_id == 1


def test_memory_index_knows_each_groups_objects() -> None:
    index = MemoryIndex()
    index.add(1, 1, _a("阳光花园的路灯坏了好几天了").features)
    index.add(2, 1, _a(VAGUE, days=0.5).features)
    new = _a(MANHOLE, days=1).features
    found = index.candidates(new, Settings())
    assert {c.group_objects for c in found} == {frozenset({"streetlight"})}
    assert best_match(new, found, Settings()) is None


def test_voltage_is_not_a_sagging_line() -> None:
    assert _a("阳光花园电压低 空调开不起来").features.faults == {"unstable"}
    assert "sag" in _a("阳光花园门口的电线垂得很低").features.faults


def test_a_lamp_with_a_dark_fault_is_a_street_lamp_but_a_signal_stays_a_signal() -> None:
    assert _a("阳光花园门口的灯一个不亮").features.objects == {"streetlight"}
    assert _a("阳光花园门口红绿灯坏了").features.objects == {"signal"}


def test_words_that_only_look_like_a_term_are_no_hit() -> None:
    feats = _a("阳光花园交了取暖费还不供热 这不是坑人嘛").features
    assert "road_surface" not in feats.objects
    assert "heating" in feats.objects and "cold" in feats.faults


def test_related_objects_are_a_weaker_shared_object() -> None:
    ditch = _a("阳光花园门口的水沟堵了 臭得很").features
    drain = _a("阳光花园门口下水道堵了 一股臭味", days=1).features
    lamp = _a("阳光花园门口路灯堵了 臭得很").features
    assert (placed_probability(drain, ditch, "place") or 0.0) >= ACCEPT
    assert (placed_probability(lamp, ditch, "place") or 0.0) < ACCEPT


def test_dialect_words_are_read_as_mandarin() -> None:
    assert normalise("成日冇水 好嘈") == "天天没水 好吵"
    assert normalise("俺们小区埋汰") == "我们小区脏"
    assert "tap_water" in _a("阳光花园又冇水了").features.objects


def test_a_shared_where_object_is_no_shared_problem() -> None:
    drain = _a("阳光花园下水道堵了 整个楼道一股味").features
    shed = _a("阳光花园的电动车棚给拆了 电动车只能放楼道里", days=1).features
    stairs = _a("阳光花园楼道里堆满了杂物 也没人清", days=1).features
    assert "stairwell" in drain.objects & shed.objects
    assert problem_score(drain, shed) < 0.25  # each names what is wrong: two problems
    # a report about the stairwell itself still shares it
    assert problem_score(shed, stairs) > problem_score(drain, shed)


def test_a_harm_object_is_compared_as_that_harm() -> None:
    noise = _a("阳光花园旁边粮库的烘干机整夜轰隆隆的 睡不着").features
    dust = _a("阳光花园旁边粮库烘干的时候粉尘扬得到处都是", days=1).features
    other_dust = _a("阳光花园门口灰尘太大了 车一过全是灰", days=1).features
    assert dust.faults == frozenset()  # stored as read: no fault named
    assert (placed_probability(dust, noise, "place") or 0.0) < ACCEPT
    assert (placed_probability(other_dust, dust, "place") or 0.0) >= ACCEPT
