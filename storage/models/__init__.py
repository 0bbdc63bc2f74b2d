"""SQLAlchemy 2 typed models, split by area; import them from here.

New areas add a module beside these and one import line below (so Alembic sees the tables).
"""

from storage.models.base import Base, UTCDateTime
from storage.models.calendar import CalendarDay, CalendarYear
from storage.models.cases import (
    CardRef,
    Case,
    CaseEvent,
    Constituent,
    Message,
    Notice,
    NoticeDelivery,
    Rating,
)
from storage.models.directory import (
    Department,
    Deputy,
    DeputyStation,
    Leave,
    Region,
    RosterSlot,
    SceneCode,
    Staff,
    Station,
)
from storage.models.duties import (
    Ballot,
    Document,
    DocumentRead,
    DutyActivity,
    Meeting,
    MeetingAttendee,
    Solicitation,
    SolicitTarget,
)
from storage.models.hotline import HotlineTicket
from storage.models.insight import CasePlace, Place
from storage.models.pipeline import InboxItem, KeyValue, OutboxItem
from storage.models.stats import CaseHours, CaseMask
from storage.models.workbench import AuditEntry, WebSession

__all__ = [
    "Base",
    "UTCDateTime",
    "CalendarDay",
    "CalendarYear",
    "Case",
    "CardRef",
    "CaseEvent",
    "Constituent",
    "Message",
    "Notice",
    "NoticeDelivery",
    "Rating",
    "Department",
    "Deputy",
    "DeputyStation",
    "Leave",
    "Region",
    "RosterSlot",
    "SceneCode",
    "Staff",
    "Station",
    "HotlineTicket",
    "Ballot",
    "Document",
    "DocumentRead",
    "DutyActivity",
    "Meeting",
    "MeetingAttendee",
    "Solicitation",
    "SolicitTarget",
    "CasePlace",
    "Place",
    "InboxItem",
    "KeyValue",
    "OutboxItem",
    "AuditEntry",
    "CaseHours",
    "CaseMask",
    "WebSession",
]
