"""What every handler call needs besides the session: the service clock, calendar and policies."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime

from handlers.workcal import SlaPolicy, WorkCalendar


@dataclass(frozen=True)
class EscalationLadder:
    """When each escalation step fires, in working hours after the missed deadline.

    Step 1 reminds the assignee on the card, step 2 @-mentions station staff in the group,
    step 3 alerts the office. Offsets must not decrease from one step to the next.
    """

    remind_after_hours: float = 0.0
    station_after_hours: float = 4.0
    office_after_hours: float = 8.5

    def __post_init__(self) -> None:
        """Reject a ladder whose steps would fire out of order."""
        offsets = self.offsets
        if any(h < 0 for h in offsets) or list(offsets) != sorted(offsets):
            raise ValueError("escalation offsets must be non-negative and non-decreasing")

    @property
    def offsets(self) -> tuple[float, float, float]:
        """The three offsets in step order."""
        return (self.remind_after_hours, self.station_after_hours, self.office_after_hours)


@dataclass(frozen=True)
class HandlerContext:
    """Built by the bot layer from config; handlers never read the wall clock themselves."""

    now: datetime  # aware UTC: the service clock (time-travel tests pass their own)
    calendar: WorkCalendar = field(default_factory=WorkCalendar)
    sla_defaults: SlaPolicy = field(default_factory=SlaPolicy)
    rating_days: float = 7  # calendar days before an unrated answer closes as 未评价
    ladder: EscalationLadder = field(default_factory=EscalationLadder)
    office_group_id: str | None = None  # DingTalk staff group when a region names none
    reason_window_hours: float = 24  # how long a reply after 不满意 counts as its reason
    # how long the handler's and staff's notice of a 不满意 waits for the reason (one message)
    reason_wait_minutes: float = 10
    burst_minutes: float = 10  # follow-ups within this of the last message are not re-acked
    auto_merge_score: float | None = None  # 附议 without asking at this match score (None: off)
    solicit_cards: bool = False  # 意见征集 as template cards (a solicit card template is set)
    episode_days: float = 10  # a same-place, same-problem report within this is the same case

    def __post_init__(self) -> None:
        """Handlers compare instants; a naive clock would silently shift every deadline."""
        if self.now.tzinfo is None or self.now.utcoffset() is None:
            raise ValueError("HandlerContext.now must be timezone-aware")

    def at(self, now: datetime) -> HandlerContext:
        """The same context at another instant."""
        return dataclasses.replace(self, now=now)
