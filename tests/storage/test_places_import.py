"""Directory import of places (YAML section and XLSX sheet) and community regions."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage.directory import DirectoryImportError, export_directory, import_directory
from storage.models import Place, Region

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "insight" / "main" / "places.yaml"
Sessions = sessionmaker[Session]

REGIONS = """regions:
  - {code: s, name: 云州市, level: city}
  - {code: k, name: 桐川县, level: county, parent: s}
  - {code: t, name: 城关镇, level: 镇, parent: k}
  - {code: c, name: 城东社区, level: 社区, parent: t}
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "d.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_fixture_gazetteer_imports_and_reimports_unchanged(sessions: Sessions) -> None:
    with sessions.begin() as s:
        report = import_directory(s, FIXTURE)
    assert report.created == {"regions": 15, "places": 65}
    with sessions.begin() as s:
        again = import_directory(s, FIXTURE)
    assert again.changed == 0
    with sessions() as s:
        place = s.scalars(select(Place).where(Place.name == "东门农贸市场")).one()
        assert place.kind == "landmark" and place.aliases == ["东门菜场", "东门菜市场"]
        region = s.get(Region, place.region_id)
        assert region is not None and region.level == "community"
        assert len(export_directory(s)["places"]) == 65


def test_places_only_file_into_existing_regions(sessions: Sessions, tmp_path: Path) -> None:
    with sessions.begin() as s:
        import_directory(s, _write(tmp_path, REGIONS))
    places = """places:
  - {name: 阳光花园, kind: 小区, region: c, lat: 29.1, lng: 119.9, aliases: 阳光小区、阳光}
  - {name: 人民路, kind: road, region: t}
  - {name: 桐川大道, kind: road, region: k}
"""
    with sessions.begin() as s:
        report = import_directory(s, _write(tmp_path, places))
    assert report.created == {"places": 3}
    with sessions() as s:
        estate = s.scalars(select(Place).where(Place.name == "阳光花园")).one()
        assert estate.kind == "estate" and estate.aliases == ["阳光小区", "阳光"]


def test_bad_place_rows_are_named(sessions: Sessions, tmp_path: Path) -> None:
    bad = (
        REGIONS
        + """places:
  - {name: 阳光花园, kind: estate, region: zz}
  - {name: 人民路, kind: river, region: t}
  - {name: 市广场, kind: landmark, region: s}
  - {name: 二中, kind: landmark, region: c, lat: 29.1}
  - {name: 阳光花园, kind: estate, region: zz}
  - {name: 老街, region: c}
"""
    )
    with sessions.begin() as s, pytest.raises(DirectoryImportError) as caught:
        import_directory(s, _write(tmp_path, bad))
    errors = [str(e) for e in caught.value.report.errors if e.source == "places"]
    assert any("row 1" in e and "unknown region 'zz'" in e for e in errors)
    assert any("row 2" in e and "kind" in e for e in errors)
    assert any("row 3" in e and "not a city" in e for e in errors)
    assert any("row 4" in e and "both lat and lng" in e for e in errors)
    assert any("row 5" in e and "duplicate place" in e for e in errors)
    assert any("row 6" in e and "needs kind" in e for e in errors)
    with sessions() as s:
        assert s.scalars(select(Region)).first() is None


def test_xlsx_places_sheet(sessions: Sessions, tmp_path: Path) -> None:
    with sessions.begin() as s:
        import_directory(s, _write(tmp_path, REGIONS))
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "地点"
    sheet.append(["序号", "名称", "类型", "区域", "纬度", "经度", "别名"])
    sheet.append([1, "东门农贸市场", "地标", "c", 29.101, 119.905, "东门菜场、东门菜市场"])
    sheet.append([2, "人民路", "道路", "t", None, None, None])
    path = tmp_path / "places.xlsx"
    book.save(path)
    with sessions.begin() as s:
        report = import_directory(s, path)
    assert report.created == {"places": 2}
    with sessions() as s:
        market = s.scalars(select(Place).where(Place.name == "东门农贸市场")).one()
        assert market.lat == 29.101 and market.aliases == ["东门菜场", "东门菜市场"]
