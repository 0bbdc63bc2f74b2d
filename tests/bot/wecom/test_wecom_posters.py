"""Printable posters: an A4 station poster and door-plate stickers, rendered and scanned."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import select

from bot.commands_qrcode import households_arg, write_household_stickers, write_station_poster
from bot.examples import DIRECTORY
from bot.runtime import Runtime
from bot.simulators.wecom import WeComSimulator
from bot.wecom.posters import POSTER_CODE_MM, missing_glyphs
from storage.directory import import_directory
from storage.models import Constituent, Deputy, DeputyStation, Station
from tests.support import drain

DPI = 150
pytestmark = pytest.mark.skipif(
    shutil.which("pdftoppm") is None, reason="poppler-utils (pdftoppm) is not installed"
)


@pytest.fixture()
def county(rt: Runtime) -> None:
    with rt.sessions.begin() as session:
        import_directory(session, DIRECTORY)


def _render(pdf: Path, page: int = 1) -> Image.Image:
    base = pdf.with_suffix("")
    subprocess.run(
        [
            "pdftoppm",
            "-r",
            str(DPI),
            "-png",
            "-f",
            str(page),
            "-l",
            str(page),
            "-singlefile",
            str(pdf),
            f"{base}-p{page}",
        ],
        check=True,
    )
    return Image.open(f"{base}-p{page}.png")


def _text(pdf: Path) -> str:
    out = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True)
    return out.stdout


def test_station_poster_renders_and_its_code_scans_from_a_metre(
    sim: WeComSimulator, lianxin: str, rt: Runtime, county: None, tmp_path: Path
) -> None:
    pdf = write_station_poster(rt, "dh01", tmp_path / "poster.pdf")
    page = _render(pdf)
    w, h = page.size  # A4 portrait
    assert abs(w - 210 / 25.4 * DPI) < 2 and abs(h - 297 / 25.4 * DPI) < 2
    [code] = zxingcpp.read_barcodes(page)
    assert code.format == zxingcpp.BarcodeFormat.QRCode
    # modules at least 100 mm wide: a phone reads a code from about ten times its width
    width_px = code.position.top_right.x - code.position.top_left.x
    assert width_px / DPI * 25.4 >= POSTER_CODE_MM * 0.9
    words = _text(pdf)
    for want in (
        "东湖镇人大代表联络站",
        "张明",
        "周一、周三",
        "扫码",
        "描述问题",
        "收到编号和答复",
    ):
        assert want in words, want
    assert "东湖镇人大主席团" in words and "常委会" not in words  # a township's body signs
    with rt.sessions() as s:  # every deputy of the station, as the directory has them
        names = s.scalars(
            select(Deputy.name)
            .join(DeputyStation, DeputyStation.deputy_id == Deputy.id)
            .join(Station, Station.id == DeputyStation.station_id)
            .where(Station.code == "dh01", Deputy.active.is_(True))
        ).all()
    assert len(names) >= 2 and all(name in words for name in names), names
    sim.user_enter("wmFromThePoster", code.text)  # a WeChat user scans the printed poster
    drain(rt)
    with rt.sessions() as s:
        person = s.scalars(select(Constituent)).one()
        station = s.get(Station, person.station_id)
    assert station is not None and station.code == "dh01"


def test_door_plate_stickers_carry_one_code_per_household(
    sim: WeComSimulator, rt: Runtime, county: None, tmp_path: Path
) -> None:
    plates = [f"光明社区3幢{h}" for h in households_arg("101-106,201-206,301-302")]
    pdf = write_household_stickers(rt, "gm01", plates, tmp_path / "stickers.pdf")
    words = _text(pdf)
    assert all(p in words for p in plates) and "东湖镇光明社区代表联络点" in words
    first = zxingcpp.read_barcodes(_render(pdf, 1))
    second = zxingcpp.read_barcodes(_render(pdf, 2))
    assert (len(first), len(second)) == (12, 2)
    found = {parse_qs(urlsplit(c.text).query)["scene_param"][0] for c in [*first, *second]}
    assert found == set(plates)
    assert [c[0] for c in sim.calls].count("kf/add_contact_way") == 1  # one link, many plates


def test_households_and_fonts() -> None:
    assert households_arg("101-103, 201，B1") == ["101", "102", "103", "201", "B1"]
    assert households_arg("01-03") == ["01", "02", "03"]
    for bad in ("106-101", "1 0 1", "", "x-y"):
        with pytest.raises(Exception, match="户号"):
            households_arg(bad)
    assert missing_glyphs("东湖镇人大代表联络站 张明 周一至周四") == set()
    from handlers import texts

    fixed = [texts.POSTER_HEADLINE, texts.POSTER_DEPUTIES_HEAD, texts.POSTER_NO_DEPUTIES]
    fixed += [texts.STICKER_HINT, *(part for step in texts.POSTER_STEPS for part in step)]
    assert missing_glyphs(*fixed) == set()  # the bundled font prints every fixed text


def test_cli_in_the_sandbox_uses_the_running_sandboxs_simulator(
    sim: WeComSimulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from bot.cli import main
    from bot.config import load_settings
    from bot.sandbox import published
    from tests.bot.wecom.conftest import CORP_ID, OPEN_KFID, SECRET

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LIANXIN_CONFIG", raising=False)
    monkeypatch.setenv("LIANXIN_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("LIANXIN_SANDBOX", "on")
    assert main(["directory", "import", str(DIRECTORY)]) == 0
    poster = tmp_path / "dh01.pdf"
    argv = ["wecom", "qrcode", "--station", "dh01", "--poster", str(poster)]
    assert main(argv) == 1  # no `lianxin run` yet: said plainly, no gettoken ConnectionError
    err = capsys.readouterr().err
    assert "沙盒没有在运行" in err and "ConnectionError" not in err
    # what `lianxin run` publishes when it starts the sandbox (here: this test's simulator)
    settings = load_settings()
    published.publish(
        settings,
        {
            "LIANXIN_WECOM__API_BASE": sim.base_url,
            "LIANXIN_WECOM__CORP_ID": CORP_ID,
            "LIANXIN_WECOM__SECRET": SECRET,
            "LIANXIN_WECOM__OPEN_KFID": OPEN_KFID,
        },
    )
    try:
        assert main(argv) == 0, capsys.readouterr().err
        assert [c[0] for c in sim.calls].count("kf/add_contact_way") == 1
        assert poster.exists() and "已写入" in capsys.readouterr().out
        stickers = tmp_path / "s.pdf"
        assert (
            main(
                [
                    *argv[:4],
                    "--building",
                    "3幢",
                    "--households",
                    "101-102",
                    "--stickers",
                    str(stickers),
                ]
            )
            == 0
        )
        assert "3幢101" in _text(stickers)
        assert main([*argv[:4], "--building", "3幢"]) == 2  # stickers need all three options
    finally:
        published.withdraw(settings)
    assert published.running_env(settings) is None


def test_a_name_outside_the_font_still_prints_and_the_operator_is_told(
    sim: WeComSimulator,
    rt: Runtime,
    county: None,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from storage.models import Deputy

    with rt.sessions.begin() as s:  # 堃 is outside GB 2312, the bundled font's range
        s.scalars(select(Deputy).where(Deputy.code == "d001")).one().name = "张堃"
    pdf = write_station_poster(rt, "dh01", tmp_path / "poster.pdf")
    assert zxingcpp.read_barcodes(_render(pdf))  # the poster is whole
    err = capsys.readouterr().err
    if missing_glyphs("堃"):  # no system CJK font has it either
        assert "堃" in err and "fonts-wqy-microhei" in err
    else:
        assert "张堃" in _text(pdf)
