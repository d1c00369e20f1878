"""The weekly report's data: one pydantic model per section (JSON is their dump), and the thresholds."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from butterfly.reports.silent import SilentCustomer

if TYPE_CHECKING:
    pass


CLOSED_STATUSES = ("closed", "resolved")
WEAK_SCORE = 0.5  # a cell scoring below this in a review counts as weak
STORY_SCORE = 1.0  # customer.long score that makes a story (or experience level "ultimate")
MAX_LISTED = 10
# -- the data ------------------------------------------------------------------------------------------------


class TicketLink(BaseModel):
    ref: str
    customer: str | None
    subject: str | None


class ActionLink(BaseModel):
    id: int
    kind: str
    text: str
    owner: str | None
    due_date: date | None
    status: str
    overdue: bool
    ticket_ref: str | None


class RecurringGroup(BaseModel):
    label: str
    category: str | None
    tags: list[str]  # tags at least half of the group's tickets carry
    ticket_count: int
    customer_count: int
    customers: list[str]
    first_seen: datetime | None
    weeks_seen: int  # weeks of the trend with at least one ticket
    trend: list[int]  # tickets per week, oldest first; the last is the report week
    tickets: list[TicketLink]
    actions: list[ActionLink]
    process_patch: str  # missing | open | overdue | done
    overdue_actions: int
    outreach_candidates: list[str]
    outreach_candidate_count: int


class DemandExample(BaseModel):
    text: str
    ticket_ref: str
    customer: str | None
    reviewer: str


class DemandGroup(BaseModel):
    label: str
    mentions: int
    customers: list[str]
    examples: list[DemandExample]


class ReviewerCoverage(BaseModel):
    reviewer: str
    complete: int
    drafts: int


class CellWeakness(BaseModel):
    cell_id: str
    title: str
    side: str | None
    horizon: str | None
    weak: int
    scored: int
    average: float | None


class Coverage(BaseModel):
    closed: int
    reviewed: int  # closed tickets with at least one complete review
    draft_only: int  # ... with only draft reviews
    rate: float | None
    by_reviewer: list[ReviewerCoverage]
    weak_cells: list[CellWeakness]
    experience_levels: dict[str, int]


class ActionSummary(BaseModel):
    opened: int
    done: int
    overdue: int
    open_total: int
    overdue_items: list[ActionLink]


class FindingItem(BaseModel):
    kind: str
    detail: str
    reviewer: str
    ticket_ref: str
    created_at: datetime


class FindingSummary(BaseModel):
    counts: dict[str, int]
    items: list[FindingItem]


class Story(BaseModel):
    ticket_ref: str
    customer: str | None
    subject: str | None
    reviewer: str
    experience_level: str | None
    experience_label: str | None
    customer_long_score: float | None


class WeeklyReport(BaseModel):
    kind: str = "weekly"
    week: str
    start: datetime
    end: datetime
    language: str
    timezone: str
    generated_at: datetime
    weeks_back: int
    method: str
    closed_tickets: int
    recurring: list[RecurringGroup]
    silent: list[SilentCustomer]
    silent_rule: dict[str, int | float]
    demand: list[DemandGroup]
    coverage: Coverage
    actions: ActionSummary
    findings: FindingSummary
    stories: list[Story]
    experience: dict[str, Any] | None = None
    consistency: dict[str, Any] | None = (
        None  # butterfly.reports.consistency over the weeks_back weeks up to the week's end
    )
