"""The ticket report's data: what ``report ticket`` renders (Markdown, HTML) or prints as JSON."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel

TIMELINE_FIELDS = ("created_at", "first_response_at", "resolved_at", "closed_at")


class TicketFacts(BaseModel):
    id: int
    ref: str
    source: str
    external_id: str
    customer: str | None
    organization: str | None
    subject: str | None
    description: str | None
    category: str | None
    subcategory: str | None
    tags: list[str]
    status: str
    priority: str | None
    channel: str | None
    group_name: str | None
    assignee: str | None
    problem_id: str | None


class TimelineStep(BaseModel):
    key: str  # created_at | first_response_at | resolved_at | closed_at
    at: datetime
    since_created_s: float | None
    since_previous_s: float | None


class ReviewSummary(BaseModel):
    id: int
    reviewer: str
    status: str
    checklist_id: str
    checklist_version: str
    language: str
    lenses: list[str]
    experience_level: str | None
    experience_label: str | None
    experience_description: str | None
    started_at: datetime
    completed_at: datetime | None
    cell_scores: dict[str, float | None]
    allow_gaps: bool = False  # marked complete with required questions unanswered (--allow-gaps)


class AnswerShown(BaseModel):
    text: str
    answered: bool
    na: bool
    note: str | None = None


class QuestionRow(BaseModel):
    id: str
    text: str
    kind: str
    answers: list[AnswerShown]  # one per review, in the order of ``TicketReport.reviews``


class CellSection(BaseModel):
    id: str
    title: str
    purpose: str
    side: str | None
    horizon: str | None
    scores: list[float | None]  # one per review
    questions: list[QuestionRow]


class LensSection(BaseModel):
    id: str
    title: str
    cells: list[CellSection]


class FindingRow(BaseModel):
    review_id: int
    reviewer: str
    kind: str
    question_id: str | None
    question_text: str | None
    detail: str
    kept: bool
    created_at: datetime


class ActionRow(BaseModel):
    id: int
    kind: str
    text: str
    owner: str | None
    due_date: date | None
    status: str
    overdue: bool
    created_at: datetime
    created_by: str | None


class SimilarRow(BaseModel):
    ref: str
    source: str
    external_id: str
    customer: str | None
    subject: str | None
    category: str | None
    closed_at: datetime | None
    score: float | None


class ConversationMoment(BaseModel):
    """A message of the thread; ``kinds`` say why a key moment is shown (first_reply, chase, plan, need_climbed,
    resolution: one message can be several), empty in the whole thread."""

    kinds: list[str]
    position: int
    at: datetime | None
    role: str
    author: str | None
    public: bool = True
    text: str


class ConversationSection(BaseModel):
    """The certainty facts and key moments: stored with a review (what the reviewer saw), or from the thread."""

    reviewer: str | None  # whose review the facts were stored with; None: the ticket's thread as it is now
    taken_at: datetime | None
    thread_changed: bool  # the thread changed after the facts were stored with the review
    chases: list[ConversationMoment]
    longest_silence_s: float | None
    silence_from: int | None
    first_plan: int | None
    first_plan_at: datetime | None
    plan_phrase: str | None
    need_climbed: int | None
    need_escalation: str | None
    moments: list[ConversationMoment]
    thread: list[ConversationMoment] | None = None  # the whole thread, with --thread
    redacted: bool = False


class StateRow(BaseModel):
    """A step of the state timeline where the state, the group or the assignee changed."""

    position: int
    at: datetime | None
    state: str | None
    group: str | None
    assignee: str | None  # "[agent N]" in a redacted report
    reassigned: bool


class StateSection(BaseModel):
    """The state timeline an event log brought (ServiceNow), compact: the changes, not every repeated step."""

    steps: int  # every step stored
    reassignments: int
    first_at: datetime | None
    last_at: datetime | None
    path: list[str]  # the states in order, a repeated state once per run
    changes: list[StateRow]
    redacted: bool = False


class TicketReport(BaseModel):
    kind: str = "ticket"
    language: str
    timezone: str
    generated_at: datetime
    checklist_id: str
    checklist_title: str
    ticket: TicketFacts
    timeline: list[TimelineStep]
    reviews: list[ReviewSummary]
    cells: list[CellSection]
    lenses: list[LensSection]
    extra_answers: list[QuestionRow]
    findings: list[FindingRow]  # open findings only; blame wording never quoted
    blame_reworded: int = 0  # blame-wording findings whose answer was reworded clean
    blame_dismissed: int = 0  # blame-wording findings dismissed as not blame
    actions: list[ActionRow]
    similar: list[SimilarRow]
    similar_method: str  # "similar": butterfly.review.similar
    conversation: ConversationSection | None = None  # None: no thread imported and no facts stored
    states: StateSection | None = None  # None: no event log imported
