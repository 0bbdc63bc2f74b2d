"""`lianxin wecom qrcode`: a station's kf QR code as a PNG, an A4 poster or door-plate stickers.

    lianxin wecom qrcode --station dh01                      # PNG (var/qrcodes/…)
    lianxin wecom qrcode --station dh01 --poster 东湖站.pdf    # A4 station poster
    lianxin wecom qrcode --station gm01 --building 光明社区3幢 \\
        --households 101-106,201-206 --stickers 3幢.pdf      # one sticker per household

In the sandbox the codes come from the WeCom simulator of the running `lianxin run` (found
through bot.sandbox.published), so a printed code also works on the sandbox page.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot.config import Settings
from handlers import texts

HOUSEHOLD_RE = re.compile(r"^[0-9A-Za-z]{1,8}$")
MAX_HOUSEHOLDS = 600


def add_parser(wecom: Any) -> None:
    """Add `wecom qrcode` to the `wecom` subparsers."""
    qr = wecom.add_parser(
        "qrcode",
        help="联络站二维码：图片、A4 海报或门牌贴纸",
        description="生成联络站的微信客服二维码：默认一张 PNG；--poster 生成 A4 海报；"
        "--building/--households/--stickers 生成一户一码的门牌贴纸。",
    )
    qr.add_argument("--station", required=True, metavar="联络站", help="联络站代码或名称")
    qr.add_argument("--plate", help="门牌（PNG 用），随码带给 scene_param")
    qr.add_argument("--out", type=Path, help="PNG 路径（默认 var/qrcodes/…）")
    qr.add_argument("--poster", type=Path, metavar="FILE.pdf", help="写一张 A4 联络站海报")
    qr.add_argument("--building", metavar="楼栋", help="门牌前缀，例如 光明社区3幢")
    qr.add_argument(
        "--households", type=households_arg, metavar="户号", help="例如 101-106,201-206"
    )
    qr.add_argument(
        "--stickers", type=Path, metavar="FILE.pdf", help="写门牌贴纸（A4，每页 12 张）"
    )
    qr.set_defaults(func=cmd_wecom_qrcode)


def households_arg(value: str) -> list[str]:
    """argparse type: 101-106,201-206,301 → every household number, in order."""
    out: list[str] = []
    for part in (p.strip() for p in re.split(r"[,，、]", value)):
        if not part:
            continue
        if "-" in part:
            first, _, last = part.partition("-")
            if not (first.isdigit() and last.isdigit()) or int(first) > int(last):
                raise argparse.ArgumentTypeError(f"「{part}」不是户号范围，例如 101-106。")
            width = len(first)
            out += [str(n).zfill(width) for n in range(int(first), int(last) + 1)]
        elif HOUSEHOLD_RE.match(part):
            out.append(part)
        else:
            raise argparse.ArgumentTypeError(f"「{part}」不是户号，例如 101 或 101-106。")
    if not out:
        raise argparse.ArgumentTypeError("请写出户号，例如 101-106,201-206。")
    if len(out) > MAX_HOUSEHOLDS:
        raise argparse.ArgumentTypeError(f"一次最多 {MAX_HOUSEHOLDS} 户，请分楼栋生成。")
    return list(dict.fromkeys(out))


def cmd_wecom_qrcode(args: argparse.Namespace, settings: Settings) -> int:
    """Create the station's kf contact link and write the PNG, poster or stickers asked for."""
    wants_stickers = args.stickers or args.building or args.households
    if wants_stickers and not (args.stickers and args.building and args.households):
        print(
            "lianxin: 门牌贴纸需要同时给出 --building、--households 和 --stickers。",
            file=sys.stderr,
        )
        return 2
    if settings.sandbox_mode:
        from bot.sandbox.published import sandbox_settings

        running = sandbox_settings(settings)
        if running is None:
            print(
                "lianxin: 沙盒没有在运行。请先在另一个终端运行 `lianxin run`，再生成二维码"
                "（二维码由沙盒里的企业微信模拟器签发）。",
                file=sys.stderr,
            )
            return 1
        settings = running
    from bot.commands import _runtime
    from bot.registry import SendError

    rt = _runtime(settings)
    try:
        if args.poster:
            path = write_station_poster(rt, args.station, args.poster)
        elif wants_stickers:
            plates = [f"{args.building.strip()}{h}" for h in args.households]
            path = write_household_stickers(rt, args.station, plates, args.stickers)
        else:
            from bot.wecom.qrcode import make_station_qrcode

            path = make_station_qrcode(
                rt, station_code=args.station, plate=args.plate, out=args.out
            )
    except LookupError as exc:
        print(f"lianxin: {exc.args[0]}", file=sys.stderr)
        return 1
    except (ValueError, SendError, OSError) as exc:
        print(f"lianxin: 没有生成二维码：{exc}", file=sys.stderr)
        return 1
    print(f"已写入 {path}")
    return 0


def _station_scene(rt: Any, station_key: str) -> tuple[Any, str]:
    from bot.wecom.qrcode import station_scene
    from handlers import queries

    with rt.sessions() as session, session.begin():
        station = queries.find_station(session, station_key)
        if station is None:
            raise LookupError(f"没有代码或名称为「{station_key}」的联络站。")
        return station.id, station_scene(session, station)


def write_station_poster(rt: Any, station_key: str, out: Path) -> Path:
    """The A4 poster of a station (code or name) with its kf link."""
    from bot.wecom import posters
    from bot.wecom.qrcode import contact_link

    station_id, scene = _station_scene(rt, station_key)
    with rt.sessions() as session:
        info = poster_info(session, station_id)
    _warn_glyphs(info.station, info.address or "", *(d.name for d in info.deputies))
    return posters.write_poster(out, info, contact_link(rt, scene, None))


def write_household_stickers(rt: Any, station_key: str, plates: list[str], out: Path) -> Path:
    """Door-plate stickers: one code per plate, the plate as scene_param."""
    from bot.wecom import posters
    from bot.wecom.qrcode import SCENE_PARAM_MAX_BYTES, contact_link
    from storage.models import Station

    too_long = [p for p in plates if len(p.encode("utf-8")) > SCENE_PARAM_MAX_BYTES]
    if too_long:
        raise ValueError(f"门牌「{too_long[0]}」超过 {SCENE_PARAM_MAX_BYTES} 字节")
    station_id, scene = _station_scene(rt, station_key)
    with rt.sessions() as session:
        name = session.get_one(Station, station_id).name
    _warn_glyphs(name, *plates)
    links = [(plate, contact_link(rt, scene, plate)) for plate in plates]
    return posters.write_stickers(out, name, links)


def poster_info(session: Any, station_id: int) -> Any:
    """The station's name, address, signing body and active deputies with their duty days."""
    from bot.wecom.posters import DeputyOnDuty, PosterInfo
    from storage.models import Deputy, DeputyStation, Region, RosterSlot, Station

    station = session.get_one(Station, station_id)
    region = session.get_one(Region, station.region_id)
    deputies = session.scalars(
        select(Deputy)
        .join(DeputyStation, DeputyStation.deputy_id == Deputy.id)
        .where(DeputyStation.station_id == station_id, Deputy.active.is_(True))
        .order_by(Deputy.id)
    ).all()
    days: dict[int, set[int]] = {}
    for slot in session.scalars(select(RosterSlot).where(RosterSlot.station_id == station_id)):
        days.setdefault(slot.deputy_id, set()).add(slot.weekday)
    on_duty = tuple(DeputyOnDuty(d.name, tuple(sorted(days.get(d.id, ())))) for d in deputies)
    # deputies with duty days first, in weekday order: what a visitor looks for
    on_duty = tuple(sorted(on_duty, key=lambda d: (not d.weekdays, d.weekdays[:1])))
    return PosterInfo(
        station=station.name,
        address=station.address,
        body=texts.congress_body(region.level, region.name),
        deputies=on_duty,
    )


def _warn_glyphs(*lines: str) -> None:
    from bot.wecom.posters import missing_glyphs

    missing = missing_glyphs(*lines)
    if missing:
        print(
            "lianxin: 注意：字体里没有「" + "".join(sorted(missing)) + "」，打印出来会是空白；"
            "可安装 fonts-wqy-microhei 后重新生成。",
            file=sys.stderr,
        )
