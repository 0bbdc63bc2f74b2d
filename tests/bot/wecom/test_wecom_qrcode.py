"""Station QR codes: the kf contact link with the station's scene, a door plate, a printable PNG."""

from __future__ import annotations

from pathlib import Path

import qrcode
from PIL import Image
from qrcode.constants import ERROR_CORRECT_M
from sqlalchemy import select

from bot.runtime import Runtime
from bot.simulators.wecom import WeComSimulator
from bot.wecom.qrcode import BOX, BUNDLED_FONT, _covers, contact_link, make_station_qrcode
from storage.models import Constituent, SceneCode, Station
from tests.bot.wecom.conftest import STATION_SCENE, Directory
from tests.support import drain

PLATE = "幸福小区3栋2单元"


def test_png_carries_the_station_link_and_a_door_plate_reaches_intake(
    sim: WeComSimulator, lianxin: str, rt: Runtime, directory: Directory, tmp_path: Path
) -> None:
    out = make_station_qrcode(rt, station_code="ST-SOUTH", plate=PLATE, out=tmp_path / "qr.png")
    assert out == tmp_path / "qr.png"
    [(path, body)] = [c for c in sim.calls if c[0] == "kf/add_contact_way"]
    assert body["scene"] == STATION_SCENE

    link = contact_link(rt, STATION_SCENE, PLATE)  # cached: no second add_contact_way
    assert [c[0] for c in sim.calls].count("kf/add_contact_way") == 1
    assert "enc_scene=" in link and "&scene_param=" in link

    image = Image.open(out)
    dpi = image.info.get("dpi")
    assert image.format == "PNG" and isinstance(dpi, tuple) and dpi[0] >= 299
    expected = _qr_image(link)
    assert image.width == expected.width and image.height > expected.height + 60
    top = image.crop((0, 0, expected.width, expected.height)).convert("L")
    assert top.tobytes() == expected.tobytes()  # the code itself, quiet zone included
    caption = image.crop((0, expected.height, image.width, image.height)).convert("L")
    darkest, _ = caption.getextrema()
    assert darkest < 80  # the station name and plate are printed

    sim.user_enter("wmFromThePoster", link)  # the WeChat user scans the printed code
    drain(rt)
    with rt.sessions() as s:
        person = s.scalars(select(Constituent)).one()
    assert person.station_id == directory.station_id
    assert person.plate == PLATE


def test_a_station_without_a_scene_gets_one(
    sim: WeComSimulator, rt: Runtime, directory: Directory, tmp_path: Path
) -> None:
    with rt.sessions.begin() as s:
        station = s.get(Station, directory.station_id)
        assert station is not None
        north = Station(code="ST_NORTH", name="城北代表联络站", region_id=station.region_id)
        s.add(north)
    path = make_station_qrcode(rt, station_code="ST_NORTH", plate=None, out=None)
    assert path.parent == rt.settings.var_dir / "qrcodes" and path.exists()
    with rt.sessions() as s:
        scene = s.scalars(select(SceneCode).where(SceneCode.scene == "ST_NORTH")).one()
        assert scene.plate is None


def test_the_bundled_font_prints_station_names() -> None:
    assert BUNDLED_FONT.exists()
    assert _covers(
        str(BUNDLED_FONT), "城南代表联络站 幸福小区3栋2单元 微信扫一扫，向人大代表反映问题"
    )
    assert not _covers(str(BUNDLED_FONT), "堃")  # outside GB 2312: a system font is tried


def _qr_image(link: str) -> Image.Image:
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=BOX, border=4)
    qr.add_data(link)
    qr.make(fit=True)
    return qr.make_image(fill_color="black", back_color="white").get_image().convert("L")
