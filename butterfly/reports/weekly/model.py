"""The weekly report's data: one pydantic model per section (JSON is their dump), and the thresholds."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from butterfly.silent import SilentCheck, SilentCustomer

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


class ProblemVariant(BaseModel):
    """One sub-variant of a problem: a tighter cluster of its texts, or (without text) one tag set."""

    label: str
    category: str | None
    tags: list[str]
    ticket_count: int
    customer_count: int
    members: list[str]  # every ticket ref


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
    members: list[str] = []  # every ticket ref of the group (``tickets`` lists the first few)
    variants: list[ProblemVariant] = []  # two or more when the problem has sub-variants, largest first


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


class CertaintyGroup(BaseModel):
    """One group's certainty gap: of its closed tickets with a thread, how many left the customer chasing or waiting."""

    group: str | None  # the ticket's group (assignment group); None: no group recorded
    with_thread: int
    chased: int  # the customer chased at least CHASES_MIN times
    waited: int  # the longest silence on our side was more than SILENCE_HOURS
    gap: int  # either of the two
    rate: float | None  # gap / with_thread


class CertaintyGap(BaseModel):
    """The certainty gap across the team (#18): the week's closed tickets where the customer chased at least
    ``chases_min`` times or waited more than ``silence_hours`` in silence, by group (largest gap first)."""

    closed: int
    with_thread: int  # closed tickets whose thread was imported (the others cannot be counted)
    chased: int
    waited: int
    gap: int
    rate: float | None
    chases_min: int
    silence_hours: int
    by_group: list[CertaintyGroup]


class Coverage(BaseModel):
    closed: int
    reviewed: int  # closed tickets with at least one complete review
    draft_only: int  # ... with only draft reviews
    rate: float | None
    by_reviewer: list[ReviewerCoverage]
    weak_cells: list[CellWeakness]
    experience_levels: dict[str, int]
    certainty: CertaintyGap | None = None  # None: none of the week's closed tickets has a thread


class ActionSummary(BaseModel):
    opened: int
    done: int
    overdue: int  # open at as_of and due before that day
    open_total: int  # open at as_of
    overdue_items: list[ActionLink]
    as_of: datetime | None = None  # a past week's end; None: now (the report is about the current week)


class FindingItem(BaseModel):
    kind: str
    detail: str
    reviewer: str
    ticket_ref: str
    created_at: datetime
    review_id: int | None = None
    question_id: str | None = None


class FindingSummary(BaseModel):
    counts: dict[str, int]  # open findings by kind
    items: list[FindingItem]
    blame_reworded: int = 0  # blame-wording findings of the week reworded clean
    blame_dismissed: int = 0  # ... dismissed as not blame


class Story(BaseModel):
    ticket_ref: str
    customer: str | None
    subject: str | None
    reviewer: str
    experience_level: str | None
    experience_label: str | None
    customer_long_score: float | None


DEFAULT_TOP = 10
SUMMARY_PROBLEMS = 5  # problems named in the summary itself
# the gate's default target (``butterfly check --min-coverage``)
DEFAULT_COVERAGE_TARGET = 0.8
# findings in the order a manager must see them: what may not be published first
FINDING_ORDER = ("publicity_without_consent", "blame_wording", "compensation_before_resolution")


class SummaryProblem(BaseModel):
    position: int  # 1-based place in the recurring list
    label: str
    customers: int
    tickets: int
    trend: str  # new | rising | falling | steady
    process_patch: str


class WeekFigures(BaseModel):
    week: str
    closed: int
    coverage: float | None
    overdue_patches: int
    findings: int
    silent: int | None  # None: not enough data for a verdict


class WeeklySummary(BaseModel):
    coverage: float | None
    coverage_target: float
    coverage_met: bool | None
    overdue_patches: int
    findings: list[tuple[str, int]]  # (kind, count), publicity without consent first, zero counts left out
    publicity_without_consent: int
    top_problems: list[SummaryProblem]
    problems: int
    new_problems: int  # problems with no ticket in the earlier weeks of the trend
    silent_status: str
    silent: int
    this_week: WeekFigures
    last_week: WeekFigures | None


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
    similarity: str = "tfidf"  # the engine of the tfidf grouping: tfidf, or embeddings for English text
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
    top: int = DEFAULT_TOP  # long lists show this many in the Markdown/HTML; the JSON has them all
    silent_check: SilentCheck | None = None  # whether the data allowed a verdict on silent customers
    trend_from: int = 0  # trend weeks before this index end before the data's first ticket: not drawn as zeros
    not_for_publication: list[str] = []  # tickets whose review found publicity without consent
    summary: WeeklySummary | None = None
    as_of: datetime | None = None  # overdue and open action items are counted as of this instant
