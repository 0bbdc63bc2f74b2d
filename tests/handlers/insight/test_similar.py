"""Same case: same place, same problem, same episode; recurrences are linked, not merged."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

from handlers.insight.analysis import Analysis, analyse
from handlers.insight.memory_index import MemoryIndex
from handlers.insight.pair_model import shipped
from handlers.insight.similar import (
    Features,
    Settings,
    best_match,
    category_overlap,
    placed_probability,
    same_place,
)
from tests.handlers.insight.support import gazetteer

T0 = datetime(2026, 5, 4, 9, 0, tzinfo=timezone(timedelta(hours=8)))
G = gazetteer()


def _a(text: str, days: float = 0, lat: float | None = None, lng: float | None = None) -> Analysis:
    return analyse(G, text, T0 + timedelta(days=days), lat, lng)


def _index(*items: Analysis) -> MemoryIndex:
    index = MemoryIndex()
    for number, item in enumerate(items, start=1):
        index.add(number, 1, item.features)
    return index


def _match(earlier: list[Analysis], new: Analysis, cfg: Settings | None = None):  # type: ignore[no-untyped-def]
    cfg = cfg or Settings()
    return best_match(new.features, _index(*earlier).candidates(new.features, cfg), cfg)


def test_differently_worded_reports_of_one_problem_match() -> None:
    first = _a("阳光花园的路灯坏了好几天了，晚上黑漆漆的")
    second = _a("那个 阳光花园小区 路灯 嗯 一到晚上就不亮[捂脸]", days=3)
    match = _match([first], second)
    assert match is not None and match.kind == "same" and match.case_id == 1
    assert match.place == "place" and match.reporters == 2
    assert "streetlight" in match.reasons["objects"]


def test_same_wording_at_another_place_does_not_match() -> None:
    first = _a("阳光花园的路灯坏了好几天了")
    other = _a("锦绣家园的路灯坏了好几天了", days=1)
    assert _match([first], other) is None


def test_another_problem_at_the_same_place_does_not_match() -> None:
    first = _a("阳光花园的路灯坏了好几天了")
    other = _a("阳光花园有个井盖不见了，太危险了", days=1)
    assert _match([first], other) is None


def test_same_problem_two_months_later_is_a_recurrence() -> None:
    first = _a("人民路路面有个大坑，电瓶车摔了好几个")
    again = _a("人民路又塌了个大坑，开车要绕着走", days=60)
    match = _match([first], again)
    assert match is not None and match.kind == "recurrence" and match.case_id == 1


def test_episode_length_is_configurable() -> None:
    first = _a("人民路路面有个大坑")
    later = _a("人民路路面坑很深，希望尽快修补", days=12)
    assert _match([first], later).kind == "recurrence"  # type: ignore[union-attr]
    assert _match([first], later, Settings(episode_days=14)).kind == "same"  # type: ignore[union-attr]


def test_no_place_named_but_locations_within_100_m() -> None:
    lat, lng = 29.1234, 119.9876  # nowhere in the gazetteer
    first = _a("门口垃圾三天没人清运了，臭得很", lat=lat, lng=lng)
    near = _a("我们这里垃圾没人收，臭死了", days=1, lat=lat + 0.0004, lng=lng)
    far = _a("我们这里垃圾没人收，臭死了", days=1, lat=lat + 0.004, lng=lng)
    assert _match([first], near) is not None
    assert _match([first], far) is None


def test_a_road_and_a_landmark_beside_it_match_only_the_same_problem() -> None:
    g = gazetteer("fresh2")
    at = datetime(2026, 10, 2, 8, 0, tzinfo=UTC)
    road = analyse(g, "府前街路面有个大坑 电瓶车差点翻了", at).features
    shop = analyse(g, "华联超市附近那个坑啥时候补啊", at).features
    estate = analyse(g, "翡翠湾小区门口路面有个大坑", at).features
    assert same_place(shop, road, Settings()) == "adjacent"
    assert same_place(estate, road, Settings()) is None


def test_unknown_problem_in_one_category_at_one_place_leans_on_the_wording() -> None:
    # no object or fault the lexicon knows on either side: place, episode, category and the
    # wording (冰 … 滑) agree, and the two join
    first = _a("阳光花园门口那段人行道结了厚厚一层冰 老人走路直打滑")
    second = _a("阳光花园外面的冰好几天没人铲 早上出门滑倒了", days=1)
    assert not first.features.objects and not second.features.objects
    p = placed_probability(second.features, first.features, "place")
    assert p is not None and p >= shipped().threshold
    match = _match([first], second)
    assert match is not None and match.kind == "same"


def test_a_known_object_on_one_side_and_nothing_shared_stays_apart() -> None:
    # the other-problem trap: a roof's leak and a falling tile at one estate
    roof = _a("阳光花园7幢楼顶漏水 顶楼天花板天天滴水")
    tiles = _a("阳光花园外墙的瓷砖往下掉 差点砸到人", days=1)
    assert roof.features.objects
    assert (placed_probability(tiles.features, roof.features, "place") or 0.0) < shipped().threshold
    assert _match([roof], tiles) is None


def test_a_sag_is_read_only_for_objects_that_can_sag() -> None:
    gas = _a("阳光花园的燃气气压太低了 灶台的火苗小得很")
    line = _a("阳光花园的电线垂得很低 快碰到头了")
    assert "sag" not in gas.features.faults
    assert "sag" in line.features.faults


def test_category_overlap_counts_the_shares_both_predictions_hold() -> None:
    at = T0
    base = Features(at, frozenset({1}), None, None, frozenset(), frozenset(), frozenset())
    torn = replace(
        base, category="停车", confidence=0.5, category_scores=(("停车", 0.5), ("道路交通", 0.4))
    )
    other = replace(
        base,
        category="道路交通",
        confidence=0.6,
        category_scores=(("道路交通", 0.6), ("停车", 0.3)),
    )
    sure = replace(base, category="噪音扰民", confidence=0.9, category_scores=(("噪音扰民", 0.9),))
    assert category_overlap(torn, other) == 0.7  # 0.3 of 停车 and 0.4 of 道路交通
    assert category_overlap(torn, sure) == 0.0
    # a case corrected by hand (its category is not the model's first choice) is its category
    corrected = replace(other, category="停车", confidence=1.0)
    assert category_overlap(torn, corrected) == 0.5
    # stored before the shares were kept: the first choice and its confidence
    old = replace(base, category="停车", confidence=0.8)
    assert category_overlap(torn, old) == 0.5
