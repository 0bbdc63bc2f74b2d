"""Print-ready PDFs of kf QR codes: an A4 station poster and an A4 sheet of door-plate stickers.

The QR code is drawn as vector squares, so it prints sharp at any size. Sizing rule: a phone
reads a QR code from about ten times its width, so the poster's code (modules, without the
quiet zone) is at least 100 mm wide to scan from 1 m; stickers are read at arm's length at a
door, so theirs is 45 mm. Text uses the CJK font lianxin ships (a GB 2312 subset of WenQuanYi
Micro Hei); a name with a rarer character falls back to a system CJK TrueType font, and when no
font has it the caller is told which characters will print blank (`missing_glyphs`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import qrcode
from qrcode.constants import ERROR_CORRECT_M
from reportlab.lib.colors import Color, HexColor, white
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from bot.wecom.qrcode import BUNDLED_FONT
from handlers import texts

log = logging.getLogger(__name__)

# TrueType outlines only: reportlab cannot embed CFF-based OpenType (Noto CJK .otf/.ttc)
FALLBACK_FONTS = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
)
RED = HexColor("#B3261E")
INK = HexColor("#1F1F1F")
GREY = HexColor("#5F5F5F")
POSTER_CODE_MM = 110.0  # module area; ≥ 100 mm scans from 1 m
STICKER_CODE_MM = 45.0
STICKER_COLUMNS, STICKER_ROWS = 3, 4
PAGE_W, PAGE_H = A4


@dataclass(frozen=True)
class DeputyOnDuty:
    """A deputy of the station and the weekdays (0 = Monday) they receive people there."""

    name: str
    weekdays: tuple[int, ...]


@dataclass(frozen=True)
class PosterInfo:
    """Everything a station poster shows besides its code."""

    station: str
    address: str | None
    body: str  # who runs it: 东湖镇人大主席团, 青溪县人大常委会
    deputies: tuple[DeputyOnDuty, ...]


# ---------------------------------------------------------------- fonts


@dataclass(frozen=True)
class _Font:
    name: str
    chars: frozenset[int]


@cache
def _fonts() -> tuple[_Font, ...]:
    found = []
    for i, path in enumerate((str(BUNDLED_FONT), *FALLBACK_FONTS)):
        if not Path(path).exists():
            continue
        name = f"LianxinCJK{i}"
        try:
            font = (
                TTFont(name, path, subfontIndex=0) if path.endswith(".ttc") else TTFont(name, path)
            )
        except Exception as exc:  # an unusable system font: skip it, the bundled one remains
            log.debug("font %s not usable: %s", path, exc)
            continue
        # the bundled subset and a system WenQuanYi share a face name, under which reportlab
        # embeds one of them for both: give each its own
        font.face.name = name.encode("ascii")
        pdfmetrics.registerFont(font)
        found.append(_Font(name, frozenset(font.face.charToGlyph)))
    return tuple(found)


# One CJK font per document, so a page is set in one consistent typeface.
_DOC_FONT: ContextVar[str | None] = ContextVar("lianxin_poster_font", default=None)


def _font_covering(*lines: str) -> str:
    """The first font (bundled first) with every character of `lines`, else the bundled one."""
    needed = {ord(ch) for line in lines for ch in line if not ch.isspace()}
    for font in _fonts():
        if needed <= font.chars:
            return font.name
    return _fonts()[0].name


def _font_for(text: str) -> str:
    return _DOC_FONT.get() or _font_covering(text)


def _canvas(path: Path, *lines: str) -> Canvas:
    """A4 canvas whose text is set in one font covering `lines` (all the document's text)."""
    _DOC_FONT.set(_font_covering(*lines))
    return Canvas(str(path), pagesize=A4)


def missing_glyphs(*lines: str) -> set[str]:
    """Characters no available font has: they would print blank."""
    have: set[int] = set()
    for font in _fonts():
        have |= font.chars
    return {ch for line in lines for ch in line if not ch.isspace() and ord(ch) not in have}


def _text(
    c: Canvas,
    text: str,
    x: float,
    y: float,
    size: float,
    *,
    width: float | None = None,
    align: str = "left",
    color: Color = INK,
    bold: bool = False,
) -> float:
    """Draw one line, shrunk to fit `width`; return the font size used."""
    font = _font_for(text)
    if width is not None:
        while size > 6 and pdfmetrics.stringWidth(text, font, size) > width:
            size -= 0.5
    drawn = pdfmetrics.stringWidth(text, font, size)
    if align == "center":
        x -= drawn / 2
    elif align == "right":
        x -= drawn
    t = c.beginText(x, y)
    t.setFont(font, size)
    t.setFillColor(color)
    if bold:  # the font has no bold face: stroke the outline as well
        c.setStrokeColor(color)
        c.setLineWidth(size / 28)
        t.setTextRenderMode(2)
    t.textOut(text)
    if bold:  # the render mode is page state in PDF: reset it for the lines after this one
        t.setTextRenderMode(0)
    c.drawText(t)
    return size


# ---------------------------------------------------------------- QR code


def _matrix(link: str) -> list[list[bool]]:
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=0)
    qr.add_data(link)
    qr.make(fit=True)
    return [list(map(bool, row)) for row in qr.get_matrix()]


def qr_size(link: str, modules_width: float) -> float:
    """The printed side of `link`'s code: `modules_width` plus a 4-module quiet zone each side."""
    n = len(_matrix(link))
    return modules_width * (n + 8) / n


def _draw_qr(c: Canvas, link: str, x: float, y: float, modules_width: float) -> float:
    """A vector QR code, lower-left corner of its quiet zone at (x, y); return its side."""
    matrix = _matrix(link)
    n = len(matrix)
    cell = modules_width / n
    quiet = 4 * cell
    total = modules_width + 2 * quiet
    c.setFillColor(white)
    c.rect(x, y, total, total, stroke=0, fill=1)
    c.setFillColor(HexColor("#000000"))
    path = c.beginPath()
    for row, cells in enumerate(matrix):
        top = y + total - quiet - row * cell
        col = 0
        while col < n:
            if not cells[col]:
                col += 1
                continue
            start = col
            while col < n and cells[col]:
                col += 1
            # one rectangle per run, overlapping a hair so no seams show between rows
            path.rect(
                x + quiet + start * cell, top - cell, (col - start) * cell + 0.02, cell + 0.02
            )
    c.drawPath(path, stroke=0, fill=1)
    return total


# ---------------------------------------------------------------- station poster


def write_poster(path: Path, info: PosterInfo, link: str) -> Path:
    """An A4 portrait poster: headline, station, a code that scans from 1 m, steps, deputies."""
    c = _canvas(
        path,
        texts.POSTER_HEADLINE,
        info.station,
        info.address or "",
        info.body,
        texts.POSTER_DEPUTIES_HEAD,
        *(d.name for d in info.deputies),
        *(part for step in texts.POSTER_STEPS for part in step),
    )
    c.setTitle(f"{info.station} 二维码海报")
    c.setAuthor(info.body)
    margin = 15 * mm
    inner = PAGE_W - 2 * margin
    # headline band
    c.setFillColor(RED)
    c.rect(0, PAGE_H - 32 * mm, PAGE_W, 32 * mm, stroke=0, fill=1)
    _text(
        c,
        texts.POSTER_HEADLINE,
        PAGE_W / 2,
        PAGE_H - 21 * mm,
        34,
        align="center",
        width=inner,
        color=white,
        bold=True,
    )
    y = PAGE_H - 50 * mm
    _text(c, info.station, PAGE_W / 2, y, 30, width=inner, align="center", bold=True)
    # the code
    side = POSTER_CODE_MM * mm
    total = qr_size(link, side)
    code_top = y - 4 * mm
    drawn = _draw_qr(c, link, (PAGE_W - total) / 2, code_top - total, side)
    y = code_top - drawn - 4 * mm
    y = _steps(c, margin, y, inner)
    y = _deputies(c, margin, y - 10 * mm, inner, info.deputies)
    c.setStrokeColor(RED)
    c.setLineWidth(1.2)
    c.line(margin, 20 * mm, PAGE_W - margin, 20 * mm)
    _text(
        c,
        texts.poster_footer(info.body, info.address),
        PAGE_W / 2,
        13 * mm,
        12,
        width=inner,
        align="center",
        color=GREY,
    )
    c.showPage()
    c.save()
    return path


def _steps(c: Canvas, x: float, top: float, width: float) -> float:
    """The three steps side by side; return the y below them."""
    gap = 5 * mm
    box_w = (width - 2 * gap) / 3
    box_h = 30 * mm
    for i, (title, detail) in enumerate(texts.POSTER_STEPS):
        left = x + i * (box_w + gap)
        c.setStrokeColor(RED)
        c.setLineWidth(1)
        c.roundRect(left, top - box_h, box_w, box_h, 3 * mm, stroke=1, fill=0)
        c.setFillColor(RED)
        c.circle(left + 8 * mm, top - 8 * mm, 4.5 * mm, stroke=0, fill=1)
        _text(
            c,
            str(i + 1),
            left + 8 * mm,
            top - 10.5 * mm,
            15,
            align="center",
            color=white,
            bold=True,
        )
        _text(c, title, left + 15 * mm, top - 10.3 * mm, 15, width=box_w - 17 * mm, bold=True)
        _wrap(c, detail, left + 4 * mm, top - 18 * mm, box_w - 8 * mm, 10.5, GREY)
    return top - box_h


def _wrap(
    c: Canvas, text: str, x: float, y: float, width: float, size: float, color: Color
) -> None:
    """Break Chinese text at any character to fit `width` (at most three lines)."""
    font = _font_for(text)
    line = ""
    lines: list[str] = []
    for ch in text:
        if pdfmetrics.stringWidth(line + ch, font, size) > width and line:
            lines.append(line)
            line = ""
        line += ch
    lines.append(line)
    for i, part in enumerate(lines[:3]):
        _text(c, part, x, y - i * size * 1.35, size, color=color)


def _deputies(
    c: Canvas, x: float, top: float, width: float, deputies: Sequence[DeputyOnDuty]
) -> float:
    """本站代表 and two columns of name + duty days; return the y below."""
    _text(c, texts.POSTER_DEPUTIES_HEAD, x, top, 16, bold=True, color=RED)
    c.setStrokeColor(RED)
    c.setLineWidth(0.8)
    c.line(x + 36 * mm, top + 2 * mm, x + width, top + 2 * mm)
    y = top - 10 * mm
    if not deputies:
        _text(c, texts.POSTER_NO_DEPUTIES, x, y, 13, color=GREY)
        return y
    col_w = width / 2
    rows = (len(deputies) + 1) // 2
    size = 14 if rows <= 4 else max(9.0, 14 - (rows - 4) * 1.2)
    step = size * 1.9
    for i, d in enumerate(deputies):
        col, row = divmod(i, rows)
        line_y = y - row * step
        left = x + col * col_w
        _text(c, d.name, left, line_y, size, width=col_w * 0.3, bold=True)
        _text(
            c,
            texts.duty_days(d.weekdays),
            left + col_w * 0.32,
            line_y,
            size * 0.9,
            width=col_w * 0.55,
            color=GREY,
        )
    return y - rows * step


# ---------------------------------------------------------------- door-plate stickers


def write_stickers(path: Path, station: str, plates: Sequence[tuple[str, str]]) -> Path:
    """A4 sheets of 3 × 4 stickers with cut lines: one code per (door plate, link)."""
    c = _canvas(path, station, texts.STICKER_HINT, *(plate for plate, _ in plates))
    c.setTitle(f"{station} 门牌二维码")
    per_page = STICKER_COLUMNS * STICKER_ROWS
    cell_w, cell_h = PAGE_W / STICKER_COLUMNS, PAGE_H / STICKER_ROWS
    for start in range(0, len(plates), per_page):
        _cut_lines(c, cell_w, cell_h)
        for i, (plate, link) in enumerate(plates[start : start + per_page]):
            row, col = divmod(i, STICKER_COLUMNS)
            left, bottom = col * cell_w, PAGE_H - (row + 1) * cell_h
            _sticker(c, left, bottom, cell_w, cell_h, station, plate, link)
        c.showPage()
    c.save()
    return path


def _cut_lines(c: Canvas, cell_w: float, cell_h: float) -> None:
    c.setStrokeColor(HexColor("#9E9E9E"))
    c.setLineWidth(0.4)
    c.setDash(3, 3)
    for col in range(1, STICKER_COLUMNS):
        c.line(col * cell_w, 0, col * cell_w, PAGE_H)
    for row in range(1, STICKER_ROWS):
        c.line(0, row * cell_h, PAGE_W, row * cell_h)
    c.setDash()


def _sticker(
    c: Canvas, left: float, bottom: float, w: float, h: float, station: str, plate: str, link: str
) -> None:
    side = STICKER_CODE_MM * mm
    top = bottom + h - 3 * mm
    _text(
        c,
        texts.sticker_label(plate),
        left + w / 2,
        top - 8 * mm,
        17,
        width=w - 8 * mm,
        align="center",
        bold=True,
    )
    size = qr_size(link, side)
    drawn = _draw_qr(c, link, left + (w - size) / 2, top - 11 * mm - size, side)
    below = top - 11 * mm - drawn
    _text(
        c,
        texts.STICKER_HINT,
        left + w / 2,
        below - 2 * mm,
        9.5,
        width=w - 8 * mm,
        align="center",
        color=RED,
    )
    _text(c, station, left + w / 2, below - 7 * mm, 8, width=w - 8 * mm, align="center", color=GREY)
