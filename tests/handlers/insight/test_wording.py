"""Lexicon-free similarity: reports of problems problems.yaml never listed still match, and
the trap guards (another problem, another place, after the episode) still hold."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from handlers.insight import wording
from handlers.insight.analysis import Analysis, analyse
from handlers.insight.memory_index import MemoryIndex
from handlers.insight.similar import Match, Settings, best_match, features, problem_score
from tests.handlers.insight.support import gazetteer

T0 = datetime(2026, 5, 4, 9, 0, tzinfo=timezone(timedelta(hours=8)))
G = gazetteer()


def _a(text: str, days: float = 0) -> Analysis:
    return analyse(G, text, T0 + timedelta(days=days))


def _match(first: Analysis, new: Analysis) -> Match | None:
    index = MemoryIndex()
    index.add(1, 1, first.features)
    cfg = Settings()
    return best_match(new.features, index.candidates(new.features, cfg), cfg)


def test_the_new_words_are_not_in_the_lexicon() -> None:
    # the premise of these tests: neither side names a lexicon object
    for text in ("金桂苑7幢的水箱漏水", "东湖路野猪下山拱了红薯地", "阳光花园的冷却塔整夜嗡嗡"):
        assert not _a(text).features.objects


def test_unseen_object_shared_by_two_wordings_matches() -> None:
    first = _a("金桂苑7幢的水箱漏水 最上面一层住户天花板天天滴水")
    second = _a("金桂苑7幢家里墙面渗水发霉 说是上面的水箱破了", days=1)
    match = _match(first, second)
    assert match is not None and match.kind == "same"


def test_unseen_animal_pest_matches() -> None:
    first = _a("东湖新村这几天晚上有野猪下山 把红薯地拱得稀烂")
    second = _a("东湖新村后山的野猪越来越多 种的玉米花生都被糟蹋了", days=1.5)
    match = _match(first, second)
    assert match is not None and match.kind == "same"


def test_unseen_problem_at_another_place_stays_apart() -> None:
    first = _a("金桂苑7幢的水箱漏水 最上面一层住户天花板天天滴水")
    second = _a("翠苑小区7幢的水箱漏水 最上面一层住户天花板天天滴水", days=1)
    assert _match(first, second) is None


def test_unseen_problem_after_the_episode_is_a_recurrence() -> None:
    first = _a("东湖新村这几天晚上有野猪下山 把红薯地拱得稀烂")
    later = _a("东湖新村的野猪又下山了 红薯地又被拱了", days=60)
    match = _match(first, later)
    assert match is not None and match.kind == "recurrence"


def test_another_unseen_problem_at_the_same_place_stays_apart() -> None:
    first = _a("金桂苑7幢的水箱漏水 最上面一层住户天花板天天滴水")
    other = _a("金桂苑的快递柜被人占满 放了杂物也不清", days=1)
    assert _match(first, other) is None


def test_conflicting_faults_are_not_outvoted_by_shared_words() -> None:
    # one object, two faults (fee / not connected): shared 燃气 must not merge them
    first = _a("南门安置小区管道燃气什么时候能开通啊 等了两年了")
    other = _a("南门安置小区燃气开户费要三千多 太贵了", days=1)
    assert _match(first, other) is None


def test_common_words_are_no_anchor() -> None:
    assert wording.anchor(frozenset({"孩子", "晚上"}), frozenset({"孩子", "晚上"})) == 0.0
    assert wording.anchor(frozenset({"野猪"}), frozenset({"野猪", "红薯"})) > 0.7


def test_cosine_weighs_rare_units_more() -> None:
    rare = wording.cosine({"水箱", "晚上"}, {"水箱", "孩子"})
    common = wording.cosine({"孩子", "水箱"}, {"孩子", "晚上"})
    assert rare > common > 0.0


def test_lexicon_term_inside_two_words_is_no_hit() -> None:
    # a term beginning inside one jieba word and ending inside the next is a false hit
    cuts = frozenset({0, 2, 5, 7})  # 乱停|电瓶车|挪车
    assert wording.straddles(1, 3, cuts)  # 停电
    assert not wording.straddles(2, 5, cuts)  # 电瓶车, a whole word
    assert not wording.straddles(0, 1, cuts)  # a single character is never cut out
    assert "outage" in _a("金桂苑停电一整天了").features.faults


def test_words_are_stored_and_score_without_them() -> None:
    # cases stored before this change have no words: the score still works on bigrams
    a = _a("金桂苑7幢的水箱漏水 最上面一层住户天花板天天滴水")
    b = _a("金桂苑7幢家里墙面渗水发霉 说是上面的水箱破了", days=1)
    assert "水箱" in a.features.words
    old = features(a.normalised, a.resolution, a.features.at)
    bare = type(old)(**{**old.__dict__, "words": frozenset()})
    assert 0.0 < problem_score(bare, b.features) <= problem_score(a.features, b.features)


def test_generic_fault_classes_read_unlisted_objects() -> None:
    assert "leak" in _a("金桂苑的水箱漏水").features.faults
    assert "cold" in _a("东湖新村活动室的空调不制热").features.faults
    assert "refused" in _a("县养老中心说失智老人不能入住").features.faults


def test_another_fault_of_one_unseen_place_problem_stays_apart() -> None:
    # a fee and a waiting time at one hospital: two problems, however alike the category
    first = _a("县人民医院住院部陪护床一晚上要钱 太贵了")
    other = _a("县人民医院做个核磁要排两个礼拜 病人等不起", days=1)
    assert _match(first, other) is None
