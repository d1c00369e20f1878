"""SQLModel tables and their public shapes, all in one place.

Times are stored as UTC and always come back timezone-aware (:class:`UTCDateTime`). The schema is created and
changed only by the Alembic migrations in ``butterfly/store/migrations`` (never ``create_all`` at run time).

Bulk writers that bypass the ORM (the importer) must write datetimes in the same form SQLAlchemy uses:
on SQLite the text ``YYYY-MM-DD HH:MM:SS.ffffff`` in UTC, on PostgreSQL ``timestamptz``; JSON columns as
JSON text.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import JSON, Column, Field, SQLModel

from butterfly.timeutil import utcnow


class UTCDateTime(TypeDecorator[datetime]):
    """A datetime column that stores UTC and returns aware UTC datetimes on every backend."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _dt(*, index: bool = False, nullable: bool = True) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), index=index, nullable=nullable))


def _now_dt() -> Any:
    return Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class TicketStatus(StrEnum):
    open = "open"
    pending = "pending"
    resolved = "resolved"
    closed = "closed"
    deleted = "deleted"  # deleted in the helpdesk after it was imported (a later export said so)


class ReviewStatus(StrEnum):
    draft = "draft"
    complete = "complete"


class ActionStatus(StrEnum):
    open = "open"
    done = "done"


class FindingStatus(StrEnum):
    open = "open"  # counts in reports and ``butterfly check``
    reworded = "reworded"  # the answer was reworded clean (its history keeps the old wording)
    dismissed = "dismissed"  # a reviewer judged it not blame (status_by, status_at)


class FindingKind(StrEnum):
    compensation_before_resolution = "compensation_before_resolution"
    blame_wording = "blame_wording"
    publicity_without_consent = "publicity_without_consent"


# -- tickets and imports ----------------------------------------------------------------------------------


class ImportRun(SQLModel, table=True):
    """The import log: one row per ``butterfly import`` of one file."""

    __tablename__ = "import_run"

    id: int | None = Field(default=None, primary_key=True)
    source: str
    format: str
    path: str
    file_sha256: str | None = None
    started_at: datetime = _now_dt()
    finished_at: datetime | None = _dt()
    status: str = "running"  # running | done | failed | interrupted
    rows_read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    rejects_path: str | None = None
    options: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class SyncState(SQLModel, table=True):
    """Where ``butterfly sync`` of one source and account stopped: its cursor or high-water mark, saved only after
    the tickets of the page it follows are committed (a killed sync resumes from the last committed page)."""

    __tablename__ = "sync_state"
    __table_args__ = (sa.UniqueConstraint("source", "account", name="uq_sync_state_source_account"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=64)  # zendesk, freshdesk, jira, github, servicenow
    account: str = Field(max_length=255)  # subdomain, domain, site, owner/name or instance
    state: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = _now_dt()


class TicketBase(SQLModel):
    source: str = Field(max_length=64)
    external_id: str = Field(max_length=255)
    customer: str | None = None
    organization: str | None = None
    subject: str | None = None
    description: str | None = Field(default=None, sa_type=sa.Text)
    category: str | None = None  # looked up through ix_ticket_category_closed_at
    subcategory: str | None = None
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    status: str = Field(default=TicketStatus.closed.value, max_length=16)
    priority: str | None = None
    channel: str | None = None
    group_name: str | None = None
    assignee: str | None = None
    problem_id: str | None = None
    created_at: datetime | None = _dt()
    first_response_at: datetime | None = _dt()
    resolved_at: datetime | None = _dt()
    closed_at: datetime | None = _dt()
    updated_at: datetime | None = _dt()
    # named fields some helpdesks have (migration 0005); empty for sources without them
    requester: str | None = None  # the person who asked (Freshdesk/Zendesk requester name)
    project: str | None = None  # Jira project key, GitHub repository (owner/name)
    resolution: str | None = None  # Jira resolution (Fixed, Won't Do, …)
    satisfaction: str | None = None  # Zendesk satisfaction rating (good, bad, offered, unoffered)
    reopen_count: int | None = None  # ServiceNow reopen_count
    reassignment_count: int | None = None  # ServiceNow reassignment_count
    made_sla: bool | None = None  # ServiceNow made_sla


class Ticket(TicketBase, table=True):
    __table_args__ = (
        sa.UniqueConstraint("source", "external_id", name="uq_ticket_source_external_id"),
        sa.Index("ix_ticket_status_closed_at", "status", "closed_at"),
        sa.Index("ix_ticket_customer_created_at", "customer", "created_at"),
        sa.Index("ix_ticket_category_closed_at", "category", "closed_at"),  # review context: similar tickets
        sa.Index("ix_ticket_external_id", "external_id"),  # `butterfly review T-1042`: tickets named by id alone
    )

    id: int | None = Field(default=None, primary_key=True)
    raw: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    content_hash: str = Field(max_length=64)
    imported_at: datetime = _now_dt()
    import_id: int | None = Field(default=None, foreign_key="import_run.id")


# -- reviews ------------------------------------------------------------------------------------------------


class Review(SQLModel, table=True):
    """One reviewer's butterfly review of one ticket."""

    __table_args__ = (sa.UniqueConstraint("ticket_id", "reviewer", name="uq_review_ticket_reviewer"),)

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    reviewer: str
    checklist_id: str
    checklist_version: str
    language: str
    lenses: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    status: str = Field(default=ReviewStatus.draft.value, max_length=16, index=True)
    experience_level: str | None = None
    position: str | None = None  # id of the question the reviewer was last on (resume point)
    started_at: datetime = _now_dt()
    updated_at: datetime = _now_dt()
    completed_at: datetime | None = _dt()
    # marked complete with required questions unanswered, on purpose (--allow-gaps)
    allow_gaps: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    version: int = 1  # bumped on every change to the review row (optimistic concurrency)


class Answer(SQLModel, table=True):
    """The current answer to one question of one review. Every change is kept in :class:`AnswerChange`."""

    __table_args__ = (sa.UniqueConstraint("review_id", "question_id", name="uq_answer_review_question"),)

    id: int | None = Field(default=None, primary_key=True)
    review_id: int = Field(foreign_key="review.id", index=True)
    question_id: str
    value: Any | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    na: bool = False
    note: str | None = Field(default=None, sa_type=sa.Text)
    answered_at: datetime = _now_dt()
    answered_by: str
    version: int = 1  # bumped on every change (optimistic concurrency)


class AnswerChange(SQLModel, table=True):
    """History: one row per change of an answer (who, when, old and new value)."""

    __tablename__ = "answer_change"

    id: int | None = Field(default=None, primary_key=True)
    answer_id: int = Field(foreign_key="answer.id", index=True)
    review_id: int = Field(foreign_key="review.id", index=True)
    question_id: str
    old_value: Any | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    old_na: bool | None = None
    old_note: str | None = Field(default=None, sa_type=sa.Text)
    new_value: Any | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    new_na: bool = False
    new_note: str | None = Field(default=None, sa_type=sa.Text)
    changed_at: datetime = _now_dt()
    changed_by: str


class Finding(SQLModel, table=True):
    """Something a method guard noticed in a review (e.g. compensation before resolution)."""

    __table_args__ = (sa.UniqueConstraint("review_id", "kind", "question_id", name="uq_finding_review_kind_question"),)

    id: int | None = Field(default=None, primary_key=True)
    review_id: int = Field(foreign_key="review.id", index=True)
    question_id: str | None = None
    kind: str  # FindingKind
    detail: str = Field(sa_type=sa.Text)
    kept: bool = False  # the reviewer saw the prompt and kept their wording
    created_at: datetime = _now_dt()
    status: str = Field(
        default=FindingStatus.open.value,
        sa_column=Column(sa.String(length=16), nullable=False, server_default=FindingStatus.open.value),
    )
    status_by: str | None = None  # who reworded or dismissed it
    status_at: datetime | None = _dt()


class ActionItem(SQLModel, table=True):
    """A follow-up created from a review answer: process patch, outreach, compensation, follow-up."""

    __tablename__ = "action_item"

    id: int | None = Field(default=None, primary_key=True)
    review_id: int | None = Field(default=None, foreign_key="review.id", index=True)
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)
    question_id: str | None = None
    kind: str  # butterfly.checklist.model.ActionKind
    text: str = Field(sa_type=sa.Text)
    owner: str | None = None
    due_date: date | None = Field(default=None, index=True)
    status: str = Field(default=ActionStatus.open.value, max_length=16, index=True)
    created_at: datetime = _now_dt()
    created_by: str | None = None
    done_at: datetime | None = _dt()
    done_by: str | None = None
    version: int = 1


class Message(SQLModel, table=True):
    """One message of a ticket's conversation (customer, agent, system or internal note), in order.

    ``thread_hash`` (the same on every message of a ticket) is the content hash of the whole thread: an import that
    brings the same thread again changes nothing; a changed thread replaces the ticket's messages in place.
    """

    __tablename__ = "message"
    __table_args__ = (sa.UniqueConstraint("ticket_id", "position", name="uq_message_ticket_position"),)

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    position: int  # 1, 2, … in the thread's order
    at: datetime | None = _dt()
    role: str = Field(max_length=16)  # customer | agent | system | internal
    author: str | None = None
    public: bool = True
    text: str = Field(default="", sa_type=sa.Text)
    thread_hash: str = Field(max_length=64)
    external_id: str | None = None  # the helpdesk's id of the comment (incremental comment events merge by it)


class ReviewConversation(SQLModel, table=True):
    """The conversation facts a review was made with: the certainty facts and the key moments (first reply, each
    chase, the plan given, the resolution, with their text) as the reviewer saw them, so the ticket report shows
    what the reviewer saw even when a later import changes the thread. One row per review; refreshed while the
    review is a draft, kept as it is once the review is complete (butterfly/conversation/snapshot.py)."""

    __tablename__ = "review_conversation"
    __table_args__ = (sa.UniqueConstraint("review_id", name="uq_review_conversation_review"),)

    id: int | None = Field(default=None, primary_key=True)
    review_id: int = Field(foreign_key="review.id")
    thread_hash: str = Field(max_length=64)  # the thread's content hash when the facts were taken
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    taken_at: datetime = _now_dt()


class TicketEvent(SQLModel, table=True):
    """One step of a ticket's state timeline (ServiceNow's event log): the state, assignment group and assignee
    from ``at`` on, and whether the step moved the ticket to another group or person (a reassignment).

    ``timeline_hash`` (the same on every step of a ticket): an import of the same log changes nothing; a changed
    timeline replaces the ticket's steps in place.
    """

    __tablename__ = "ticket_event"
    __table_args__ = (sa.UniqueConstraint("ticket_id", "position", name="uq_ticket_event_ticket_position"),)

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    position: int
    at: datetime | None = _dt()
    state: str | None = None
    group_name: str | None = None
    assignee: str | None = None
    reassigned: bool = False
    timeline_hash: str = Field(max_length=64)


class TicketEmbedding(SQLModel, table=True):
    """A ticket's sentence-embedding vector for the optional ``embeddings`` similarity engine, computed once.

    Keyed by ticket and model (``model`` names the model and how its input is made); ``text_hash`` is the hash of
    the text that was embedded, so a ticket whose subject or description changed is embedded again on next use
    (butterfly/similarity/vector_cache.py). ``vector``: ``dim`` little-endian float32 values, unit length.
    """

    __tablename__ = "ticket_embedding"
    __table_args__ = (sa.UniqueConstraint("ticket_id", "model", name="uq_ticket_embedding_ticket_model"),)

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id")
    model: str = Field(max_length=64)
    text_hash: str = Field(max_length=64)
    dim: int
    vector: bytes = Field(sa_column=Column(sa.LargeBinary(), nullable=False))
