"""Loosely named places: kind and region hints, a road or square beside a named place, 「A的B」;
and how matching uses them (positive pairs and trap pairs)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from handlers.insight.analysis import analyse
from handlers.insight.normalise import normalise
from handlers.insight.pair_model import shipped
from handlers.insight.places import Gazetteer, PlaceInfo
from handlers.insight.similar import (
    Candidate,
    Features,
    Settings,
    best_match,
    features,
    placed_probability,
    unplaced_probability,
)
from tests.handlers.insight.support import place_id

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)

# a made-up county, not one of the labelled sets: 0.001° of latitude ≈ 111 m
REGIONS = {
    "ql": "青岭县",
    "ql-cz": "城中街道",
    "ql-dq": "东桥社区",
    "ql-xh": "西河村",
    "ql-nb": "南坝社区",
}
PARENTS = {"ql": None, "ql-cz": "ql", "ql-dq": "ql-cz", "ql-xh": "ql", "ql-nb": "ql"}
PLACES = [
    PlaceInfo(1, "梧桐苑", "estate", "ql-dq", 30.0000, 120.0000),
    PlaceInfo(2, "桂香园", "estate", "ql-cz", 30.0100, 120.0100),
    PlaceInfo(3, "青岭路", "road", "ql", 30.0012, 120.0000),
    PlaceInfo(4, "滨湖路", "road", "ql", 30.0250, 120.0250),
    PlaceInfo(5, "东桥幼儿园", "landmark", "ql-dq", 30.0004, 120.0003),
    PlaceInfo(6, "城中幼儿园", "landmark", "ql-cz", 30.0110, 120.0100),
    PlaceInfo(7, "西河村", "village", "ql-xh", 30.0300, 120.0300),
    PlaceInfo(8, "人民广场", "landmark", "ql-cz", 29.9985, 120.0000),
    PlaceInfo(9, "南坝菜市场", "landmark", "ql-nb", 30.0400, 120.0400),
]
G = Gazetteer(PLACES, REGIONS, PARENTS)


def _resolve(text: str):  # type: ignore[no-untyped-def]
    return G.resolve(normalise(text))


def test_kind_words_give_hints_not_a_place() -> None:
    estate = _resolve("我们小区电梯又坏了")
    assert estate.place_id is None and estate.hints == {1, 2}
    assert _resolve("我们村的垃圾一个礼拜没人收").hints == {7}
    assert _resolve("幼儿园报名太难了").hints == {5, 6}
    assert _resolve("最近天气很热").hints == frozenset()


def test_a_region_and_a_kind_that_leave_one_place_resolve_it() -> None:
    r = _resolve("东桥那边的幼儿园进不去 该扩班了")
    assert r.place_id == place_id(G, "东桥幼儿园") and r.how == "text"
    # the region alone leaves two places: a hint, not a guess
    loose = _resolve("东桥这边自来水压力不够")
    assert loose.place_id is None and loose.hints == {1, 5}
    # a region with one listed place is not that place without a kind word (it may be unlisted)
    only = _resolve("南坝这边自来水压力不够")
    assert only.place_id is None and only.hints == {9}
    assert _resolve("南坝那边卖菜的菜场积水严重").place_id == place_id(G, "南坝菜市场")


def test_a_road_or_square_beside_a_named_place_is_the_place() -> None:
    road = _resolve("梧桐苑对面的马路塌了一块")
    assert road.place_id == place_id(G, "青岭路")
    assert 1 in road.adjacent and 1 not in road.mentioned
    square = _resolve("梧桐苑楼下广场跳舞的太吵了")
    assert square.place_id == place_id(G, "人民广场")
    # 路灯 is a lamp, not a road
    assert _resolve("梧桐苑门口路灯不亮").place_id == place_id(G, "梧桐苑")


def test_at_a_gate_the_landmark_stays_the_place_and_estates_get_no_road() -> None:
    gate = _resolve("东桥幼儿园门口的路一到放学就堵死")
    assert gate.place_id == place_id(G, "东桥幼儿园")
    assert place_id(G, "青岭路") in gate.adjacent
    estate_gate = _resolve("梧桐苑门口的路坑坑洼洼")
    assert estate_gate.place_id == 1 and place_id(G, "青岭路") not in estate_gate.adjacent


def test_a_place_then_的_then_a_place_names_the_second() -> None:
    r = _resolve("桂香园的城中幼儿园学位不够")
    assert r.place_id == place_id(G, "城中幼儿园")
    assert r.mentioned == {6} and 2 in r.adjacent


def _feats(text: str, days: float = 0.0) -> Features:
    return analyse(G, text, T0 + timedelta(days=days)).features


def _cand(case_id: int, feats: Features) -> Candidate:
    return Candidate(case_id, case_id, feats.at, feats)


def test_an_unplaced_report_joins_the_group_its_loose_place_fits() -> None:
    estate = _feats("梧桐苑门口的井盖松了 车一压就哐当响")
    road = _feats("青岭路上有个井盖松了 车一压就哐当响", days=0.5)
    new = _feats("小区门口井盖一直响 能不能来固定一下", days=1)
    match = best_match(new, [_cand(1, estate), _cand(2, road)], Settings())
    assert match is not None and match.case_id == 1 and match.place == "unknown"
    # without the word 小区 both groups fit: it starts its own case
    bare = _feats("门口井盖一直响 能不能来固定一下", days=1)
    assert best_match(bare, [_cand(1, estate), _cand(2, road)], Settings()) is None


def test_trap_two_estates_with_the_problem_leave_an_unplaced_report_alone() -> None:
    one = _feats("梧桐苑门口的井盖松了 车一压就哐当响")
    other = _feats("桂香园门口的井盖松了 车一压就哐当响", days=0.5)
    new = _feats("小区门口井盖一直响 能不能来固定一下", days=1)
    assert best_match(new, [_cand(1, one), _cand(2, other)], Settings()) is None


def test_trap_an_unplaced_report_in_another_sure_category_does_not_join() -> None:
    old = replace(_feats("梧桐苑门口的井盖松了 车一压就哐当响"), category="甲", confidence=0.9)
    new = replace(_feats("小区门口井盖一直响", days=1), category="乙", confidence=0.6)
    assert best_match(new, [_cand(1, old)], Settings()) is None
    unsure = replace(new, confidence=0.3)
    assert best_match(unsure, [_cand(1, old)], Settings()) is not None


def _bare(faults: set[str], grams: set[str]) -> Features:
    return Features(T0, frozenset(), None, None, frozenset(), frozenset(faults), frozenset(grams))


def test_a_hinted_unplaced_report_joins_at_the_lower_threshold() -> None:
    # no object either side and one shared fault; thresholds set around the model's verdicts
    old = replace(_bare({"noise"}, {"甲乙"}), places=frozenset({1}))
    bare = _bare({"noise"}, {"丙丁"})
    hinted = replace(bare, hints=frozenset({1, 2}))
    p_bare, p_hinted = unplaced_probability(bare, old), unplaced_probability(hinted, old)
    assert p_bare < p_hinted  # a loose place that fits is evidence too
    cfg = Settings(threshold_no_place=p_hinted + 0.01, threshold_hinted=p_hinted - 0.01)
    assert best_match(hinted, [_cand(1, old)], cfg) is not None
    assert best_match(bare, [_cand(1, old)], cfg) is None
    # two groups its loose place fits as well: either could be meant, so neither
    twin = replace(old, places=frozenset({2}))
    assert best_match(hinted, [_cand(1, old), _cand(2, twin)], cfg) is None
    # unless one is sure (at threshold_no_place): then it is that one
    sure = Settings(threshold_no_place=p_hinted, threshold_hinted=p_hinted - 0.01)
    lone = replace(twin, places=frozenset({3}))  # not where the loose place fits
    assert unplaced_probability(hinted, lone) < p_hinted
    match = best_match(hinted, [_cand(1, old), _cand(3, lone)], sure)
    assert match is not None and match.case_id == 1


def test_compatible_faults_alone_with_no_wording_alike_do_not_match() -> None:
    # 垂下来 (sag) and 断了 (broken) are compatible; nothing else is alike
    cable = features(normalise("那根光纤线垂下来了"), G.resolve(""), T0)
    rail = features(normalise("那座小桥的栏杆断了一截"), G.resolve(""), T0)
    assert unplaced_probability(cable, rail) < Settings().threshold_no_place
    # at one place, with their predicted categories, the pair model keeps them apart too
    cable, rail = (
        analyse(G, t, T0).features for t in ("那根光纤线垂下来了", "那座小桥的栏杆断了一截")
    )
    assert (placed_probability(rail, cable, "place") or 0.0) < shipped().threshold


def test_the_writers_vehicle_is_not_the_problem_object() -> None:
    rode = features(normalise("骑电动车过去一身灰"), G.resolve(""), T0)
    parked = features(normalise("电动车乱停乱放"), G.resolve(""), T0)
    assert "ebike" not in rode.objects and "ebike" in parked.objects


def test_locative_words_are_not_wording() -> None:
    f = features(normalise("村口那根网线垂下来了"), G.resolve(""), T0)
    assert "村口" not in f.words and "村口" not in f.grams


def test_a_location_with_a_kind_word_picks_the_nearest_place_of_that_kind() -> None:
    # 56 m from 人民广场, 111 m from 梧桐苑
    at = (29.9990, 120.0000)
    estate = G.resolve(normalise("我们小区电梯又坏了"), *at)
    assert estate.place_id == place_id(G, "梧桐苑") and estate.how == "location"
    assert G.resolve(normalise("电梯又坏了"), *at).place_id == place_id(G, "人民广场")
    # no estate within 150 m: the nearest place, as before
    far = G.resolve(normalise("我们小区电梯又坏了"), 29.9975, 120.0000)
    assert far.place_id == place_id(G, "人民广场")
