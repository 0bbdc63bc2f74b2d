"""The general mechanisms added for fresh2: lists, post-cues, split names, suffixed plates …"""

from __future__ import annotations

import pytest

from tests.handlers.privacy.helpers import found


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("戴建华、戴建国兄弟俩为宅基地的事闹了三年", ["戴建华", "戴建国"]),
        ("章海军、章海民、章海英三兄妹不赡养老人", ["章海军", "章海民", "章海英"]),
        ("卓文和聂晓丽夫妻俩都失业了", ["卓文", "聂晓丽"]),
        ("我们三家：吴志强、林国栋、许月娥", ["吴志强", "林国栋", "许月娥"]),
        ("宁静是我妹妹，她的补助停了", ["宁静"]),
        ("夏天是我们小区的业主，他也反映过", ["夏天"]),
        ("请核对姓名甘露", ["甘露"]),
        ("符海燕说她的电动车被偷了", ["符海燕"]),
        ("巫春花的低保被取消了", ["巫春花"]),
        ("杨光明说他会处理", ["杨光明"]),
        ("马国华家门口的路坏了", ["马国华"]),
        ("医生吴志明说要住院", ["吴志明"]),
        ("皇甫云家的狗咬伤了孩子", ["皇甫云"]),
        ("陆振东家的车停在我车位上", ["陆振东"]),
        ("滕飞上周搬走了", ["滕飞"]),
        ("我外婆章月娥九十岁了", ["章月娥"]),
        ("电话是0577-6478 1236，找林秀珍", ["林秀珍"]),
        ("被投诉人：洪伟，养了很多鸽子", ["洪伟"]),
    ],
)
def test_names_found(text: str, names: list[str]) -> None:
    assert [v for v, t in found(text) if t == "name"] == names


@pytest.mark.parametrize(
    "text",
    [
        "陈皮和黄芪的价格都涨了",
        "韩式和日式的装修",
        "吴语和闽南语",
        "水泥、沙子和钢筋都堆在路边",
        "宁静是我们的追求",
        "高速公路说修就修",
        "林业局说不归他们管",
        "黄金周说到就到",
        "找工作的事情一直没人管",
        "找房子太难了",
        "通知说下周停水",
        "李主任和王阿姨都说要等上面批",
    ],
)
def test_not_names(text: str) -> None:
    assert found(text) == []


@pytest.mark.parametrize(
    ("text", "span", "kind"),
    [
        ("驾校的教练车浙C·0831学在小区里练车", "浙C·0831学", "plate"),
        ("一辆浙C·1028警的警车", "浙C·1028警", "plate"),
        ("我住世纪花园5栋3零2，", "世纪花园5栋3零2", "address"),
        ("灵江路33号是我家，隔壁占道", "灵江路33号", "address"),
        ("我住华府天地3栋2单元1502", "华府天地3栋2单元1502", "address"),
        ("我家住幸福路12号院3号楼2单元301", "幸福路12号院3号楼2单元301", "address"),
        ("凤凰城小区21幢东单元301室楼上漏水", "凤凰城小区21幢东单元301室", "address"),
    ],
)
def test_structured(text: str, span: str, kind: str) -> None:
    assert found(text) == [(span, kind)]


@pytest.mark.parametrize(
    "text",
    [
        "税务局二楼203办公室的工作人员态度很差",
        "请到县政府5楼502室办理",
        "水费账户0123456789，这个月用了35吨",
        "宽带账号057712345678，报修三天了",
        "交易流水号6217000012345670，银行说查不到",
    ],
)
def test_not_personal(text: str) -> None:
    assert found(text) == []
