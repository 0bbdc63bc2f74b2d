"""The gazetteer: derived variants, the complained-about place, nearest place by location."""

from __future__ import annotations

from handlers.insight.normalise import normalise
from handlers.insight.places import Gazetteer, PlaceInfo, derive_variants, distance_m
from tests.handlers.insight.support import gazetteer, place_id


def test_variants_drop_prefixes_and_know_abbreviations() -> None:
    g = gazetteer()
    school = g.variants[place_id(g, "桐川县第二中学")]
    assert {"第二中学", "二中", "桐川二中"} <= set(school)
    market = g.variants[place_id(g, "东门农贸市场")]
    assert {"东门菜场", "东门菜市场"} <= set(market)
    assert "翠苑" in g.variants[place_id(g, "翠苑小区")]
    assert "阳光花园小区" in g.variants[place_id(g, "阳光花园")]
    assert "上王" in g.variants[place_id(g, "上王村")]
    assert "人民医院" in g.variants[place_id(g, "县人民医院")]


def test_generic_leftovers_are_not_variants() -> None:
    # 白沙卫生院 without 白沙 would be 卫生院, which names no particular place
    variants = derive_variants("白沙卫生院", "landmark", [], ["白沙镇", "白沙"])
    assert "卫生院" not in variants and "镇卫生院" not in variants
    assert "白沙卫生院" in variants


def test_variant_two_places_share_is_dropped() -> None:
    places = [
        PlaceInfo(1, "南门安置小区", "estate", None, None, None),
        PlaceInfo(2, "北门安置小区", "estate", None, None, None),
    ]
    g = Gazetteer(places)
    assert all(len(ids) == 1 for ids in g.by_variant.values())


def test_complaint_place_not_the_writers_home() -> None:
    g = gazetteer()
    r = g.resolve(normalise("我住阳光花园，东门菜场门口垃圾没人收"))
    assert r.place_id == place_id(g, "东门农贸市场") and r.how == "text"
    assert place_id(g, "阳光花园") not in r.mentioned


def test_home_is_the_place_when_nothing_else_is_named() -> None:
    g = gazetteer()
    r = g.resolve(normalise("我住锦绣家园，电梯坏了三天了"))
    assert r.place_id == place_id(g, "锦绣家园")


def test_crossing_names_both_roads() -> None:
    g = gazetteer()
    r = g.resolve(normalise("人民路解放路路口红路灯坏了"))
    assert r.mentioned == {place_id(g, "人民路"), place_id(g, "解放路")}


def test_nearest_place_to_a_shared_location_within_150_m() -> None:
    g = gazetteer()
    estate = g.places[place_id(g, "阳光花园")]
    assert estate.lat is not None and estate.lng is not None
    r = g.resolve(normalise("我们小区门口路灯不亮"), estate.lat + 0.0005, estate.lng)
    assert r.place_id == estate.id and r.how == "location"
    far = g.resolve(normalise("我们小区门口路灯不亮"), estate.lat + 0.05, estate.lng)
    assert far.place_id is None and far.how == "none"


def test_plate_then_station_when_text_and_location_say_nothing() -> None:
    g = gazetteer()
    r = g.resolve(normalise("门口路灯不亮"), plate="金桂苑3幢")
    assert r.place_id == place_id(g, "金桂苑") and r.how == "plate"
    s = g.resolve(normalise("门口路灯不亮"), station_text="幸福里小区代表联络站")
    assert s.place_id == place_id(g, "幸福里小区") and s.how == "station"


def test_distance() -> None:
    assert 105 < distance_m(29.1, 119.9, 29.101, 119.9) < 118


def test_short_township_name_swaps_and_direction_variants() -> None:
    g = gazetteer("fresh2")
    assert "溪口中心小学" in g.variants[place_id(g, "溪口镇中心小学")]
    assert "金桂园" in g.variants[place_id(g, "金桂苑")]
    assert "翡翠弯" in g.variants[place_id(g, "翡翠湾小区")]
    assert "锦华路" in g.variants[place_id(g, "锦华北路")]
    assert "凤林广场" in g.variants[place_id(g, "凤林文化广场")]
    assert "上楼自然村" in g.variants[place_id(g, "上楼村")]


def test_a_place_name_inside_a_region_name_names_the_region() -> None:
    g = gazetteer("fresh2")
    assert g.resolve(normalise("南湖公园的湖水发臭")).place_id == place_id(g, "南湖公园")
    assert g.resolve(normalise("南湖里面的水臭得很")).place_id == place_id(g, "南湖公园")
    assert g.resolve(normalise("南湖社区门口路灯不亮")).place_id is None


def test_landmarks_beside_a_named_road_are_adjacent_not_estates() -> None:
    g = gazetteer("fresh2")
    r = g.resolve(normalise("府前街有个大坑"))
    assert place_id(g, "华联超市") in r.adjacent
    assert place_id(g, "翡翠湾小区") not in r.adjacent
    assert place_id(g, "府前街") in g.resolve(normalise("华联超市附近有个坑")).adjacent
    # 「华联对面马路上」 places the problem on the road beside 华联 (vague.py): named outright
    beside = g.resolve(normalise("华联对面马路上有个坑"))
    assert beside.place_id == place_id(g, "府前街")
    assert place_id(g, "华联超市") in beside.adjacent
