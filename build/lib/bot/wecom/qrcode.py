"""Printable kf QR codes for stations and door plates (`lianxin wecom qrcode`).

The station's scene (SceneCode, created on first use) goes into kf/add_contact_way; a door
plate travels as `scene_param` appended to the returned link, and enter_session echoes both
back. The PNG shows the QR code with the station name and plate under it, in a CJK font
shipped with lianxin (a GB 2312 subset of WenQuanYi Micro Hei, see fonts/README.md).
"""

from __future__ import annotations

import hashlib
import logging
import re
from functools import cache
from pathlib import Path
from urllib.parse import quote

import qrcode
from PIL import Image, ImageDraw, ImageFont
from qrcode.constants import ERROR_CORRECT_M
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.runtime import Runtime
from bot.wecom.client import WeComApi
from storage.models import KeyValue, SceneCode, Station

log = logging.getLogger(__name__)

FONT_DIR = Path(__file__).with_name("fonts")
BUNDLED_FONT = FONT_DIR / "wqy-microhei-gb2312.ttf"
SYSTEM_FONTS = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
)
HINT = "微信扫一扫，向人大代表反映问题"
SCENE_RE = re.compile(r"^[0-9A-Za-z_-]{1,32}$")
SCENE_PARAM_MAX_BYTES = 128
BOX = 12  # pixels per QR module: about 5 cm wide at 300 dpi for a typical link


def make_station_qrcode(
    rt: Runtime, *, station_code: str, plate: str | None, out: Path | None
) -> Path:
    """Create (or reuse) the station's kf contact link and write a printable PNG; its path."""
    plate = (plate or "").strip() or None
    if plate and len(plate.encode("utf-8")) > SCENE_PARAM_MAX_BYTES:
        raise ValueError(f"door plate text is longer than {SCENE_PARAM_MAX_BYTES} bytes")
    with rt.sessions() as session, session.begin():
        station = session.scalars(select(Station).where(Station.code == station_code)).first()
        if station is None:
            raise ValueError(f"no station with code {station_code!r}")
        scene = station_scene(session, station)
        name = station.name
    link = contact_link(rt, scene, plate)
    path = out or default_path(rt, station_code, plate)
    render_png(link, name, plate).save(path, format="PNG", dpi=(300, 300))
    log.info("kf QR code for station %s (scene %s) written to %s", station_code, scene, path)
    return path


def station_scene(session: Session, station: Station) -> str:
    """The station's own scene (no plate), created on first use."""
    stmt = select(SceneCode).where(SceneCode.station_id == station.id, SceneCode.plate.is_(None))
    found = session.scalars(stmt.order_by(SceneCode.id)).first()
    if found is not None:
        return found.scene
    scene = station.code if SCENE_RE.match(station.code) else f"st{station.id}"
    taken = session.scalars(select(SceneCode).where(SceneCode.scene == scene)).first()
    if taken is not None:
        scene = f"st{station.id}"
    session.add(SceneCode(scene=scene, station_id=station.id, plate=None))
    session.flush()
    return scene


def contact_link(rt: Runtime, scene: str, plate: str | None) -> str:
    """The kf link for `scene` (kept for reuse), with the plate as scene_param."""
    open_kfid = rt.settings.wecom.open_kfid
    cache_key = f"wecom:contact_url:{open_kfid}:{scene}"[:160]
    with rt.sessions() as session:
        row = session.get(KeyValue, cache_key)
        url = row.value if row else None
    if url is None:
        result = WeComApi(rt).post("kf/add_contact_way", {"open_kfid": open_kfid, "scene": scene})
        url = str(result["url"])
        with rt.sessions() as session, session.begin():
            session.merge(KeyValue(key=cache_key, value=url))
    if plate:
        url += ("&" if "?" in url else "?") + "scene_param=" + quote(plate, safe="")
    return url


def default_path(rt: Runtime, station_code: str, plate: str | None) -> Path:
    """var/qrcodes/<station>[-<plate hash>].png"""
    safe = re.sub(r"[^0-9A-Za-z_-]", "_", station_code)
    suffix = f"-{hashlib.sha1(plate.encode('utf-8')).hexdigest()[:8]}" if plate else ""
    folder = rt.settings.var_dir / "qrcodes"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{safe}{suffix}.png"


# ---------------------------------------------------------------- drawing


def render_png(link: str, station_name: str, plate: str | None) -> Image.Image:
    """QR code on white with the station name, the plate and a hint centred under it."""
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=BOX, border=4)
    qr.add_data(link)
    qr.make(fit=True)
    code = qr.make_image(fill_color="black", back_color="white").get_image().convert("RGB")
    width = code.width
    lines = [(station_name, max(width // 11, 28))]
    if plate:
        lines.append((plate, max(width // 15, 22)))
    lines.append((HINT, max(width // 24, 16)))
    heights = [size + size // 2 for _, size in lines]
    canvas = Image.new("RGB", (width, code.height + sum(heights) + BOX * 3), "white")
    canvas.paste(code, (0, 0))
    draw = ImageDraw.Draw(canvas)
    y = code.height  # below the quiet zone, which must stay white for scanners
    for (text, size), height in zip(lines, heights, strict=True):
        font = _fit(draw, text, size, width - 4 * BOX)
        left, _, right, _ = draw.textbbox((0, 0), text, font=font)
        draw.text(((width - (right - left)) // 2, y), text, font=font, fill="black")
        y += height
    return canvas


def _fit(draw: ImageDraw.ImageDraw, text: str, size: int, max_width: int) -> ImageFont.FreeTypeFont:
    """The largest font up to `size` in which `text` fits the width."""
    while True:
        font = _font_for(text, size)
        left, _, right, _ = draw.textbbox((0, 0), text, font=font)
        if right - left <= max_width or size <= 10:
            return font
        size -= 2


def _font_for(text: str, size: int) -> ImageFont.FreeTypeFont:
    """The bundled font, or a system CJK font when the text uses a character it lacks."""
    for path in (str(BUNDLED_FONT), *SYSTEM_FONTS):
        if Path(path).exists() and _covers(path, text):
            return _load(path, size)
    log.warning("no font covers every character of %r; some may print as boxes", text)
    return _load(str(BUNDLED_FONT), size)


def _covers(path: str, text: str) -> bool:
    font = _load(path, 24)
    notdef = font.getmask("\U0010ffff").getbbox()  # a missing glyph: empty, or a box
    for ch in set(text):
        if ch.isspace():
            continue
        box = font.getmask(ch).getbbox()
        if box is None or (notdef is not None and box == notdef):
            return False
    return True


@cache
def _load(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)
