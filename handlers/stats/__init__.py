"""Every published figure in one place: definitions, the window, and the report builder.

Pages, exports, briefs and `lianxin stats` all call `build_report`, so one figure has one
definition (docs/statistics.md).
"""

from handlers.stats.definitions import DEFINITIONS, FIGURE_KEYS, GROUPINGS, SMALL_SAMPLE
from handlers.stats.figures import Figure
from handlers.stats.report import Group, StatsReport, UnknownRegion, build_report, build_reports
from handlers.stats.window import Window

__all__ = [
    "DEFINITIONS",
    "FIGURE_KEYS",
    "GROUPINGS",
    "SMALL_SAMPLE",
    "Figure",
    "Group",
    "StatsReport",
    "UnknownRegion",
    "Window",
    "build_report",
    "build_reports",
]
