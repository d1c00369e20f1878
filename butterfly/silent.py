"""The silent-customer rule: demand that suddenly drops, and only a verdict the data can carry.

A customer is *silent* when their tickets in the recent window (default the last 4 weeks) fell far below their own
baseline (default the 12 weeks before it): the weekly rate dropped by at least ``min_drop`` (default 75 %), the
baseline was busy enough to mean something (at least ``min_baseline`` tickets, default 6) and spread over the
baseline (tickets in at least ``min_baseline_weeks`` distinct weeks, default 4: a one-day burst is not a habit).
Tickets count by when they were opened (``created_at``): a request is demand.

No customer is called silent when the data cannot tell (the check's ``status``):

- ``not_enough_history``: the whole population has tickets in fewer than ``min_covered_weeks`` of the baseline
  weeks (the data begins too late);
- ``data_ended``: the data's last ticket was opened more than a week before the window's end (an export that
  stops is not customers going quiet);
- ``volume_dropped``: everyone's tickets dropped together (the population's weekly rate fell by at least
  ``max_population_drop``): a holiday or a partial export, not one customer finding a substitute.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from sqlalchemy import bindparam, text

from butterfly.store.models import UTCDateTime
from butterfly.timeutil import as_utc

if TYPE_CHECKING:
    from sqlmodel import Session

STATUSES = ("checked", "not_enough_history", "data_ended", "volume_dropped")


@dataclass(frozen=True)
class SilentRule:
    recent_weeks: int = 4
    baseline_weeks: int = 12
    min_baseline: int = 6  # tickets in the baseline window
    min_drop: float = 0.75  # share of the weekly rate lost
    min_baseline_weeks: int = 4  # distinct baseline weeks in which the customer opened a ticket
    min_covered_weeks: int = 6  # baseline weeks in which anyone opened a ticket
    max_population_drop: float = 0.5  # everyone's weekly rate fell this much: no verdict
    data_end_slack_days: int = 7  # the data may end this long before the window's end


class SilentCustomer(BaseModel):
    customer: str
    recent: int  # tickets opened in the recent window
    baseline: int  # tickets opened in the baseline window
    baseline_weeks_seen: int = 0  # distinct baseline weeks with a ticket
    recent_per_week: float
    baseline_per_week: float
    drop: float  # 0..1: share of the weekly rate lost
    last_ticket_at: datetime | None


class SilentCheck(BaseModel):
    """What the data allowed: the status, where the data starts and ends, the population's rates."""

    status: str = "checked"
    data_from: datetime | None = None  # first ticket opened (whole database)
    data_to: datetime | None = None  # last ticket opened
    covered_weeks: int = 0  # baseline weeks with any ticket
    population_recent_per_week: float = 0.0
    population_baseline_per_week: float = 0.0
    silent_count: int = 0


def is_silent(recent: int, baseline: int, rule: SilentRule, baseline_weeks_seen: int | None = None) -> bool:
    """The rule itself, on counts (``baseline_weeks_seen``: distinct baseline weeks with a ticket, when known)."""
    if baseline < rule.min_baseline:
        return False
    if baseline_weeks_seen is not None and baseline_weeks_seen < rule.min_baseline_weeks:
        return False
    base_rate = baseline / rule.baseline_weeks
    recent_rate = recent / rule.recent_weeks
    return recent_rate <= base_rate * (1 - rule.min_drop)


def volume_query(end: datetime, rule: SilentRule) -> tuple[str, dict[str, object]]:
    """The one aggregate the rule needs (SQL text and parameters, portable across SQLite and PostgreSQL): per
    customer the recent count, then one count per baseline week (oldest first), and the last ticket."""
    recent_start = end - timedelta(weeks=rule.recent_weeks)
    base_start = recent_start - timedelta(weeks=rule.baseline_weeks)
    params: dict[str, object] = {"recent_start": recent_start, "base_start": base_start, "end": end}
    weeks = []
    for i in range(rule.baseline_weeks):
        params[f"w{i}"] = base_start + timedelta(weeks=i)
        upper = f":w{i + 1}" if i + 1 < rule.baseline_weeks else ":recent_start"
        weeks.append(f"SUM(CASE WHEN created_at >= :w{i} AND created_at < {upper} THEN 1 ELSE 0 END) AS b{i}")
    sql = (
        "SELECT customer, "
        "SUM(CASE WHEN created_at >= :recent_start THEN 1 ELSE 0 END) AS recent, "
        + ", ".join(weeks)
        + ", MAX(created_at) AS last_at "
        "FROM ticket WHERE created_at >= :base_start AND created_at < :end AND customer IS NOT NULL "
        "GROUP BY customer"
    )
    return sql, params


def _extent(session: Session) -> tuple[datetime | None, datetime | None]:
    first, last = session.connection().execute(text("SELECT MIN(created_at), MAX(created_at) FROM ticket")).one()
    return as_utc(_parse(first)), as_utc(_parse(last))


def _parse(value: Any) -> datetime | None:
    if isinstance(value, str):
        return datetime.fromisoformat(value)
    return value if isinstance(value, datetime) else None


def check_silent(
    *, session: Session, end: datetime, rule: SilentRule | None = None
) -> tuple[SilentCheck, list[SilentCustomer]]:
    """The check at ``end`` (exclusive) and the silent customers, biggest drop in tickets per week first; no
    customer when the status is not ``checked``."""
    rule = rule or SilentRule()
    data_from, data_to = _extent(session)
    sql, params = volume_query(end, rule)
    stmt = text(sql).bindparams(*(bindparam(name, type_=UTCDateTime()) for name in params))
    rows = []
    population_recent = 0
    population_weeks = [0] * rule.baseline_weeks
    for row in session.connection().execute(stmt, params):
        customer, recent, *weekly, last_at = row
        counts = [int(v or 0) for v in weekly]
        recent = int(recent or 0)
        population_recent += recent
        for i, n in enumerate(counts):
            population_weeks[i] += n
        rows.append((str(customer), recent, counts, last_at))
    check = SilentCheck(
        data_from=data_from,
        data_to=data_to,
        covered_weeks=sum(1 for n in population_weeks if n),
        population_recent_per_week=round(population_recent / rule.recent_weeks, 2),
        population_baseline_per_week=round(sum(population_weeks) / rule.baseline_weeks, 2),
    )
    if check.covered_weeks < rule.min_covered_weeks:
        check.status = "not_enough_history"
    elif data_to is None or data_to < end - timedelta(days=rule.data_end_slack_days):
        check.status = "data_ended"
    elif check.population_recent_per_week <= check.population_baseline_per_week * (1 - rule.max_population_drop):
        check.status = "volume_dropped"
    if check.status != "checked":
        return check, []
    out = []
    for customer, recent, counts, last_at in rows:
        baseline = sum(counts)
        seen = sum(1 for n in counts if n)
        if not is_silent(recent, baseline, rule, seen):
            continue
        base_rate = baseline / rule.baseline_weeks
        recent_rate = recent / rule.recent_weeks
        out.append(
            SilentCustomer(
                customer=customer,
                recent=recent,
                baseline=baseline,
                baseline_weeks_seen=seen,
                recent_per_week=round(recent_rate, 2),
                baseline_per_week=round(base_rate, 2),
                drop=round(1 - recent_rate / base_rate, 3),
                last_ticket_at=as_utc(_parse(last_at)),
            )
        )
    out.sort(key=lambda s: (-(s.baseline_per_week - s.recent_per_week), s.customer))
    check.silent_count = len(out)
    return check, out


def silent_customers(*, session: Session, end: datetime, rule: SilentRule | None = None) -> list[SilentCustomer]:
    """The silent customers at ``end`` (exclusive); none when the data cannot tell (see :func:`check_silent`)."""
    return check_silent(session=session, end=end, rule=rule)[1]
