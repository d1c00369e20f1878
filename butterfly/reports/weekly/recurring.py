"""Section: recurring problems, the week's closed tickets grouped (text, category or both) with their action items."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, or_, select
from sqlmodel import col

from butterfly.reports.recurring import (
    DEFAULT_METHOD,
    GroupInput,
    category_key,
    group_hierarchy,
    group_labels,
    groups_of,
)
from butterfly.reports.textsim import SimilarityParams, normalise
from butterfly.reports.weekly.common import (
    WeekTicket,
    as_datetime,
    cols,
    earlier_of,
    fetch_all,
    history_rows,
    json_key,
    raw_tags,
)
from butterfly.reports.weekly.model import MAX_LISTED, ActionLink, ProblemVariant, RecurringGroup, TicketLink
from butterfly.similarity.engine import EmbeddingEngine
from butterfly.store.models import ActionItem, Review, Ticket
from butterfly.tickets import ticket_ref
from butterfly.timeutil import as_utc

if TYPE_CHECKING:
    from sqlmodel import Session


def _action_links(
    session: Session, start: datetime, end: datetime, today: date, as_of: datetime | None = None
) -> tuple[dict[int, list[ActionLink]], dict[str, list[ActionLink]]]:
    """Action items of the week's closed tickets (by ticket id), and process patches by category key."""
    ticket_id = func.coalesce(ActionItem.ticket_id, Review.ticket_id)
    stmt = (
        select(
            *cols(
                ActionItem.id,
                ActionItem.kind,
                ActionItem.text,
                ActionItem.owner,
                ActionItem.due_date,
                ActionItem.status,
                ActionItem.done_at,
                ActionItem.created_at,
                Ticket.id,
                Ticket.source,
                Ticket.external_id,
                Ticket.category,
                Ticket.subcategory,
                Ticket.tags,
                Ticket.closed_at,
            )
        )
        .select_from(ActionItem)
        .outerjoin(Review, col(Review.id) == ActionItem.review_id)
        .join(Ticket, col(Ticket.id) == ticket_id)
        .where(
            or_(
                col(ActionItem.kind) == "process_patch",
                (col(Ticket.closed_at) >= start) & (col(Ticket.closed_at) < end),
            )
        )
    )
    by_ticket: dict[int, list[ActionLink]] = {}
    patches: dict[str, list[ActionLink]] = {}
    for aid, kind, text, owner, due, status, done_at, created, tid, source, ext, cat, sub, tags, closed in fetch_all(
        session, stmt
    ):
        was_open = status != "done"
        if as_of is not None:  # as the item stood then
            done_at, created = as_utc(done_at), as_utc(created)
            was_open = (was_open or (done_at is not None and done_at >= as_of)) and (created is None or created < as_of)
        link = ActionLink(
            id=aid,
            kind=kind,
            text=text,
            owner=owner,
            due_date=due,
            status=status,
            overdue=was_open and due is not None and due < today,
            ticket_ref=ticket_ref(source, ext),
        )
        closed_at = as_utc(closed)
        if closed_at is not None and start <= closed_at < end:
            by_ticket.setdefault(tid, []).append(link)
        if kind == "process_patch":
            key = category_key(cat, sub, tags if isinstance(tags, list) else [])
            if key is not None:
                patches.setdefault(key, []).append(link)
    return by_ticket, patches


def recurring_groups(
    *,
    session: Session,
    tickets: Sequence[WeekTicket],
    start: datetime,
    end: datetime,
    weeks_back: int,
    today: date,
    method: str = DEFAULT_METHOD,
    params: SimilarityParams | None = None,
    as_of: datetime | None = None,
    engine: EmbeddingEngine | None = None,
) -> list[RecurringGroup]:
    """Groups of the week's tickets seen at two or more customers, with their history over ``weeks_back`` weeks;
    ``engine``: the optional embeddings engine of the ``tfidf`` grouping (vectors cached under each ticket's id)."""
    items = [GroupInput(t.subject, t.description, t.category, t.subcategory, t.tags, key=t.id) for t in tickets]
    if params is not None and method != "tfidf":
        problem_of = variant_of = group_labels(items, method=method, params=params)
    else:
        problem_of, variant_of = group_hierarchy(items, method=method, engine=engine)
    groups = [g for g in groups_of(problem_of) if len({tickets[i].customer for i in g if tickets[i].customer}) >= 2]
    if not groups:
        return []
    # what identifies each group in earlier weeks: its category keys and its exact normalised subjects (with
    # tfidf a category can hold several problems: only a key all of whose tickets this week are in one group)
    by_key: dict[str, int] = {}
    by_subject: dict[str, int] = {}
    key_groups: dict[str, set[int]] = {}
    if method == "tfidf":
        in_group = {i: gi for gi, members in enumerate(groups) for i in members}
        for i, t in enumerate(tickets):
            key = category_key(t.category, t.subcategory, t.tags)
            if key is not None:
                key_groups.setdefault(key, set()).add(in_group.get(i, -1))
    for gi, members in enumerate(groups):
        for i in members:
            t = tickets[i]
            key = category_key(t.category, t.subcategory, t.tags)
            if key is not None and (method in ("hybrid", "category") or key_groups.get(key) == {gi}):
                by_key.setdefault(key, gi)
            subject = normalise(t.subject)
            if subject:
                by_subject.setdefault(subject, gi)
    hist_start = start - timedelta(weeks=weeks_back - 1)
    trend = [[0] * weeks_back for _ in groups]
    first_seen: list[datetime | None] = [None] * len(groups)
    past_customers: list[set[str]] = [set() for _ in groups]
    norm_cache: dict[str, str] = {}
    key_cache: dict[tuple[Any, ...], str | None] = {}
    week_cache: dict[Any, int] = {}
    earliest: list[Any] = [None] * len(groups)
    for customer, org, cat, sub, tags, subject, created, closed in history_rows(session, hist_start, start):
        cache_key = (cat, sub, tags if isinstance(tags, str) else json_key(tags))
        if cache_key in key_cache:
            key = key_cache[cache_key]
        else:
            key = key_cache[cache_key] = category_key(cat, sub, raw_tags(tags))
        hit = by_key.get(key) if key is not None else None
        via_category = hit is not None
        if hit is None and subject:
            norm = norm_cache.get(subject)
            if norm is None:
                norm = norm_cache[subject] = normalise(subject)
            hit = by_subject.get(norm)
        if hit is None:
            continue
        day = closed[:10] if isinstance(closed, str) else closed.date()
        week_index = week_cache.get(day)
        if week_index is None:
            closed_at = as_datetime(closed)
            assert closed_at is not None
            week_index = week_cache[day] = int((closed_at - hist_start) / timedelta(weeks=1))
        trend[hit][min(max(week_index, 0), weeks_back - 1)] += 1
        first = created if created is not None else closed
        if earliest[hit] is None or first < earliest[hit]:  # same type per backend: text (SQLite) or datetime
            earliest[hit] = first
        who = customer or org
        if who and via_category:
            past_customers[hit].add(who)
    for gi, value in enumerate(earliest):
        first_seen[gi] = as_datetime(value)
    actions_by_ticket, patches = _action_links(session, start, end, today, as_of)
    out = []
    for gi, members in enumerate(groups):
        rows = [tickets[i] for i in members]
        customers = sorted({t.customer for t in rows if t.customer})
        label, category, tags = _describe(rows)
        keys = Counter(category_key(t.category, t.subcategory, t.tags) for t in rows)
        keys.pop(None, None)
        trend[gi][-1] = len(rows)
        for t in rows:
            first_seen[gi] = earlier_of(first_seen[gi], as_utc(t.created_at) or as_utc(t.closed_at))
        linked: dict[int, ActionLink] = {}
        for t in rows:
            for a in actions_by_ticket.get(t.id, []):
                linked[a.id] = a
        for key in keys:
            for a in patches.get(key, []):  # type: ignore[arg-type]
                linked[a.id] = a
        actions = sorted(linked.values(), key=lambda a: (a.status == "done", a.due_date or date.max, a.id))
        patch_items = [a for a in actions if a.kind == "process_patch"]
        if not patch_items:
            patch = "missing"
        elif any(a.overdue for a in patch_items):
            patch = "overdue"
        elif any(a.status != "done" for a in patch_items):
            patch = "open"
        else:
            patch = "done"
        candidates = sorted(past_customers[gi] - set(customers))
        out.append(
            RecurringGroup(
                label=label,
                category=category,
                tags=tags,
                ticket_count=len(rows),
                customer_count=len(customers),
                customers=customers[: MAX_LISTED * 2],
                first_seen=first_seen[gi],
                weeks_seen=sum(1 for v in trend[gi] if v),
                trend=trend[gi],
                tickets=[TicketLink(ref=t.ref, customer=t.customer, subject=t.subject) for t in rows[:MAX_LISTED]],
                actions=actions[:MAX_LISTED],
                process_patch=patch,
                overdue_actions=sum(1 for a in actions if a.overdue),
                outreach_candidates=candidates[: MAX_LISTED * 2],
                outreach_candidate_count=len(candidates),
                members=[t.ref for t in rows],
                variants=_variants(tickets, members, variant_of),
            )
        )
    out.sort(key=lambda g: (-g.customer_count, -g.ticket_count, g.label))
    return out


def _describe(rows: Sequence[WeekTicket]) -> tuple[str, str | None, list[str]]:
    """(label, category, tags) of a group of tickets: its most common subject (else category and common tags),
    its most common category › subcategory, and the tags at least half of them carry."""
    subjects = Counter(normalise(t.subject) for t in rows if normalise(t.subject))
    label = ""
    if subjects:
        top = subjects.most_common(1)[0][0]
        label = next((t.subject or "") for t in rows if normalise(t.subject) == top)
    cats = Counter(" › ".join(p for p in (t.category, t.subcategory) if p) for t in rows)
    cats.pop("", None)
    category = cats.most_common(1)[0][0] if cats else None
    tag_counts = Counter(tag for t in rows for tag in t.tags)
    tags = [tag for tag, n in tag_counts.most_common() if n * 2 >= len(rows)]
    label = label or " · ".join(p for p in (category, ", ".join(tags)) if p) or rows[0].ref
    return label, category, tags


def _variants(tickets: Sequence[WeekTicket], members: Sequence[int], variant_of: Sequence[int]) -> list[ProblemVariant]:
    """The sub-variants of one problem, largest first; empty when it has only one."""
    parts: dict[int, list[WeekTicket]] = {}
    for i in members:
        parts.setdefault(variant_of[i], []).append(tickets[i])
    if len(parts) < 2:
        return []
    out = []
    for rows in parts.values():
        label, category, tags = _describe(rows)
        out.append(
            ProblemVariant(
                label=label,
                category=category,
                tags=tags,
                ticket_count=len(rows),
                customer_count=len({t.customer for t in rows if t.customer}),
                members=[t.ref for t in rows],
            )
        )
    out.sort(key=lambda v: (-v.ticket_count, v.label))
    return out
