"""One pydantic model per directory section, plus the small parsers they share.

Every model accepts strings for every field (the YAML reader keeps scalars as written and
spreadsheets give text), so `001` stays a code and is never read as the number 1.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

SECTIONS = (
    "regions",
    "stations",
    "deputies",
    "leaves",
    "staff",
    "departments",
    "scenes",
    "places",
)
LEVEL_RANK = {"community": -1, "township": 0, "county": 1, "city": 2}
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

_LEVEL_WORDS = {
    "市": "city",
    "市级": "city",
    "设区市": "city",
    "县": "county",
    "区": "county",
    "县级": "county",
    "区级": "county",
    "县区": "county",
    "县市区": "county",
    "乡": "township",
    "镇": "township",
    "街道": "township",
    "乡镇": "township",
    "乡镇级": "township",
    "乡镇街道": "township",
    "社区": "community",
    "村": "community",
    "行政村": "community",
    "村社区": "community",
}
_PLACE_KINDS = {
    "道路": "road",
    "路": "road",
    "街道路": "road",
    "小区": "estate",
    "安置小区": "estate",
    "住宅小区": "estate",
    "自然村": "village",
    "村庄": "village",
    "街": "road",
    "街巷": "road",
    "住宅区": "estate",
    "村": "village",
    "地标": "landmark",
    "场所": "landmark",
    "公共场所": "landmark",
    "学校": "landmark",
    "医院": "landmark",
    "市场": "landmark",
    "公园": "landmark",
    "桥": "landmark",
    "桥梁": "landmark",
    "公交站": "landmark",
    "车站": "landmark",
    "广场": "landmark",
}


def _weekday_words() -> dict[str, int]:
    words: dict[str, int] = {}
    english = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    for i, (short, full) in enumerate(zip(WEEKDAYS, english, strict=True)):
        words[short] = words[full] = i
    words.update({"tues": 1, "thur": 3, "thurs": 3})
    for i, digit in enumerate("一二三四五六日"):
        for prefix in ("周", "星期", "礼拜"):
            words[prefix + digit] = i
    for prefix in ("周", "星期", "礼拜"):
        words[prefix + "天"] = 6
    return words


_WEEKDAY_WORDS = _weekday_words()
_RANGE_MARKS = "至到~～—–-"
_RANGE = re.compile(rf"^(.+?)[{_RANGE_MARKS}](.+)$")
_DAY_SEPARATORS = re.compile(r"[,，、/\s]+")
_CODE_SEPARATORS = re.compile(r"[;；,，、\s]+")
_DUTY_GROUPS = re.compile(r"[;；\n]+")
_ALIAS_SEPARATORS = re.compile(r"[;；,，、\n]+")


def split_codes(text: str) -> list[str]:
    """Split '`dh01;gm01`' (also 、 , ， ； or spaces) into codes."""
    return [part for part in _CODE_SEPARATORS.split(text) if part]


def parse_days(value: Any) -> list[int]:
    """Weekday numbers (0 = Monday) from names: mon..sun, 周一..周日, ranges like 周一至周五."""
    if isinstance(value, str):
        text = re.sub(rf"\s*([{_RANGE_MARKS}])\s*", r"\1", value.strip())
        tokens = [t for t in _DAY_SEPARATORS.split(text) if t]
    elif isinstance(value, list):
        tokens = [str(t) for t in value]
    else:
        raise ValueError("weekdays must be a list like [mon, wed] or [周一, 周三]")
    days: set[int] = set()
    for token in tokens:
        days.update(_day_token(token))
    return sorted(days)


def _day_token(token: str) -> list[int]:
    key = token.strip().lower()
    if key in _WEEKDAY_WORDS:
        return [_WEEKDAY_WORDS[key]]
    match = _RANGE.match(key)
    if match and match.group(1) in _WEEKDAY_WORDS and match.group(2) in _WEEKDAY_WORDS:
        first, last = _WEEKDAY_WORDS[match.group(1)], _WEEKDAY_WORDS[match.group(2)]
        if first > last:
            raise ValueError(f"weekday range {token!r} runs backwards")
        return list(range(first, last + 1))
    raise ValueError(f"unknown weekday {token!r} (use mon..sun or 周一..周日)")


def parse_duty_text(text: str, stations: list[str] | None) -> dict[str, list[int]]:
    """Parse '`dh01:周一,周三;gm01:周五`'; a deputy with one station may omit '`code:`'."""
    duty: dict[str, list[int]] = {}
    for group in _DUTY_GROUPS.split(text):
        if not group.strip():
            continue
        station, colon, days = group.replace("：", ":").partition(":")
        if not colon:
            if not stations or len(set(stations)) != 1:
                raise ValueError(f"{group.strip()!r} needs a station: write 'station:days'")
            station, days = stations[0], group
        station = station.strip()
        duty[station] = sorted(set(duty.get(station, [])) | set(parse_days(days)))
    return duty


_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}(-\d{1,6})?$")
_ACTIVE_WORDS = {"是": True, "在任": True, "否": False, "离任": False, "不在任": False}


def normalize_phone(text: str) -> str:
    """An 11-digit mobile (spaces, dashes and +86 dropped) or a landline like 0570-1234567.

    Raises ValueError for anything else, e.g. `1390000001X` or a 10-digit mobile.
    """
    compact = re.sub(r"[\s()（）]", "", text)
    digits = re.sub(r"^(\+?86)(?=1\d{10}$)", "", compact.replace("-", ""))
    if _MOBILE.match(digits):
        return digits
    if _LANDLINE.match(compact):
        return compact
    raise ValueError(
        f"{text!r} is not a phone number: give an 11-digit mobile (1xxxxxxxxxx) "
        "or a landline like 0570-1234567"
    )


def _phone(value: Any) -> Any:
    return normalize_phone(value) if isinstance(value, str) else value


def _active(value: Any) -> Any:
    if isinstance(value, str):
        return _ACTIVE_WORDS.get(value.strip(), value)
    return value


def _level(value: Any) -> Any:
    if isinstance(value, str):
        key = value.strip()
        return _LEVEL_WORDS.get(key, key.lower())
    return value


def _codes(value: Any) -> Any:
    return split_codes(value) if isinstance(value, str) else value


CODE_PATTERN = r"^[\w.\-]+$"
SCENE_PATTERN = r"^[0-9a-zA-Z_-]+$"
ID_PATTERN = r"^\S+$"
ALIAS_PATTERN = r"^[^,，]+$"
PATTERN_HINTS = {
    CODE_PATTERN: "a code may use letters, digits, _ - . only (no spaces or separators)",
    SCENE_PATTERN: "a scene may use 0-9 a-z A-Z _ - only (at most 32)",
    ID_PATTERN: "an id may not contain spaces",
    ALIAS_PATTERN: "an alias may not contain a comma",
}

Code = Annotated[str, StringConstraints(max_length=64, pattern=CODE_PATTERN)]
Level = Annotated[Literal["city", "county", "township"], BeforeValidator(_level)]
RegionLevel = Annotated[Literal["city", "county", "township", "community"], BeforeValidator(_level)]
PlatformId = Annotated[str, StringConstraints(max_length=128, pattern=ID_PATTERN)]
Name64 = Annotated[str, StringConstraints(max_length=64)]
Name128 = Annotated[str, StringConstraints(max_length=128)]
Text256 = Annotated[str, StringConstraints(max_length=256)]
Days = Annotated[float, Field(gt=0, le=365)]
Alias = Annotated[str, StringConstraints(max_length=32, pattern=ALIAS_PATTERN)]
Scene = Annotated[str, StringConstraints(max_length=32, pattern=SCENE_PATTERN)]
# a station as a deputy list names it: its code or its name (resolved by the plan)
StationRef = Annotated[str, StringConstraints(min_length=1, max_length=128)]
Phone = Annotated[str, StringConstraints(max_length=32), BeforeValidator(_phone)]
Active = Annotated[bool, BeforeValidator(_active)]


class RowModel(BaseModel):
    """Common rules: unknown keys are errors, text is stripped, blank text means empty."""

    model_config = ConfigDict(
        extra="forbid", str_strip_whitespace=True, allow_inf_nan=False, populate_by_name=True
    )

    @model_validator(mode="before")
    @classmethod
    def _blank_is_empty(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: None if isinstance(v, str) and not v.strip() else v for k, v in data.items()}
        return data

    def present(self) -> set[str]:
        """The keys the row gave (by their file names), empty or not."""
        fields = type(self).model_fields
        return {fields[name].alias or name for name in self.model_fields_set}


class SlaRow(RowModel):
    """Working-day limits; an empty one inherits from the parent region or the config."""

    claim_days: Days | None = None
    answer_days: Days | None = None
    close_days: Days | None = None

    @model_validator(mode="after")
    def _ordered(self) -> SlaRow:
        given = [v for v in (self.claim_days, self.answer_days, self.close_days) if v is not None]
        if given != sorted(given):
            raise ValueError("expected claim_days <= answer_days <= close_days")
        return self


class RegionRow(RowModel):
    """A city, county, township or community (社区/村)."""

    code: Code
    name: Name128 | None = None
    level: RegionLevel | None = None
    parent: Code | None = None
    sla: SlaRow | None = None
    office_group: PlatformId | None = None


class StationRow(RowModel):
    """A liaison station (联络站) or point (联络点)."""

    code: Code
    name: Name128 | None = None
    region: Code | None = None
    address: Text256 | None = None
    lat: Annotated[float, Field(ge=-90, le=90)] | None = None
    lng: Annotated[float, Field(ge=-180, le=180)] | None = None
    dingtalk_group: PlatformId | None = None


class DeputyRow(RowModel):
    """A deputy with their stations (codes or names) and weekly duty."""

    code: Code
    name: Name64 | None = None
    dingtalk_user_id: PlatformId | None = None
    level: Level | None = None
    phone: Phone | None = None
    active: Active | None = None
    stations: list[StationRef] | None = None
    duty: dict[StationRef, list[int]] | None = None

    @field_validator("stations", mode="before")
    @classmethod
    def _split_stations(cls, value: Any) -> Any:
        return _codes(value)

    @field_validator("duty", mode="before")
    @classmethod
    def _parse_duty(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, str):
            return parse_duty_text(value, info.data.get("stations"))
        if isinstance(value, dict):
            return {k: [] if v is None else parse_days(v) for k, v in value.items()}
        return value


class LeaveRow(RowModel):
    """A deputy's leave; matched by (deputy, from)."""

    deputy: Code
    from_: date = Field(alias="from")
    to: date | None = None
    substitute: Code | None = None


class StaffRow(RowModel):
    """An office or station worker."""

    code: Code
    name: Name64 | None = None
    dingtalk_user_id: PlatformId | None = None
    wecom_user_id: PlatformId | None = None
    region: Code | None = None
    station: Code | None = None


class DepartmentRow(RowModel):
    """A government body cases can be transferred to."""

    code: Code
    name: Name128 | None = None
    region: Code | None = None
    dingtalk_group: PlatformId | None = None
    aliases: list[Alias] | None = None

    @field_validator("aliases", mode="before")
    @classmethod
    def _split_aliases(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [a for a in _ALIAS_SEPARATORS.split(value) if a.strip()]
        return value


class SceneRow(RowModel):
    """A kf QR `scene` resolving to a station and maybe a door plate."""

    scene: Scene
    station: Code | None = None
    plate: Name128 | None = None


def _place_kind(value: Any) -> Any:
    if isinstance(value, str):
        key = value.strip()
        return _PLACE_KINDS.get(key, key.lower())
    return value


PlaceKind = Annotated[
    Literal["road", "estate", "village", "landmark"], BeforeValidator(_place_kind)
]
PlaceAlias = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class PlaceRow(RowModel):
    """A road, estate, village or landmark of the gazetteer; matched by region + name."""

    name: Name128
    region: Code
    kind: PlaceKind | None = None
    lat: Annotated[float, Field(ge=-90, le=90)] | None = None
    lng: Annotated[float, Field(ge=-180, le=180)] | None = None
    aliases: list[PlaceAlias] | None = None

    @field_validator("aliases", mode="before")
    @classmethod
    def _split_aliases(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [a.strip() for a in _ALIAS_SEPARATORS.split(value) if a.strip()]
        return value


ROW_MODELS: dict[str, type[RowModel]] = {
    "regions": RegionRow,
    "stations": StationRow,
    "deputies": DeputyRow,
    "leaves": LeaveRow,
    "staff": StaffRow,
    "departments": DepartmentRow,
    "scenes": SceneRow,
    "places": PlaceRow,
}
