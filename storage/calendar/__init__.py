"""The office's calendar data: the State Council's holidays and 调休 workdays, year by year.

`parse_calendar` checks a `calendar:` section (from a directory YAML or its own file);
`import_calendar` stores it, replacing each year it names; `load_office_calendar` is what the
bot layer hands to `handlers.workcal.WorkCalendar`, ahead of the chinese_calendar library.
"""

from storage.calendar.fileformat import CalendarFile, YearSchedule, parse_calendar, read_calendar
from storage.calendar.store import (
    CalendarImport,
    OfficeCalendar,
    YearInfo,
    import_calendar,
    load_office_calendar,
    stored_years,
)

__all__ = [
    "CalendarFile",
    "CalendarImport",
    "OfficeCalendar",
    "YearInfo",
    "YearSchedule",
    "import_calendar",
    "load_office_calendar",
    "parse_calendar",
    "read_calendar",
    "stored_years",
]
