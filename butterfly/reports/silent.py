"""The silent-customer rule: demand that suddenly drops.

A customer is *silent* when their tickets in the recent window (default the last 4 weeks) fell far below their own
baseline (default the 12 weeks before it): the weekly rate dropped by at least ``min_drop`` (default 75 %), and the
baseline was busy enough to mean something (at least ``min_baseline`` tickets, default 6, i.e. one every two weeks).
Tickets count by when they were opened (``created_at``): a request is demand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from pydantic import BaseModel
from sqlalchemy import bindparam, text

from butterfly.store.models import UTCDateTime
from butterfly.timeutil import as_utc

if TYPE_CHECKING:
    from sqlmodel import Session


@dataclass(frozen=True)
class SilentRule:
    recent_weeks: int = 4
    baseline_weeks: int = 12
    min_baseline: int = 6  # tickets in the baseline window
    min_drop: float = 0.75  # share of the weekly rate lost


class SilentCustomer(BaseModel):
    customer: str
    recent: int  # tickets opened in the recent window
    baseline: int  # tickets opened in the baseline window
    recent_per_week: float
    baseline_per_week: float
    drop: float  # 0..1: share of the weekly rate lost
    last_ticket_at: datetime | None


def is_silent(recent: int, baseline: int, rule: SilentRule) -> bool:
    """The rule itself, on counts."""
    if baseline < rule.min_baseline:
        return False
    base_rate = baseline / rule.baseline_weeks
    recent_rate = recent / rule.recent_weeks
    return recent_rate <= base_rate * (1 - rule.min_drop)


def volume_query(end: datetime, rule: SilentRule) -> tuple[str, dict[str, object]]:
    """The one aggregate the rule needs (SQL text and parameters, portable across SQLite and PostgreSQL)."""
    recent_start = end - timedelta(weeks=rule.recent_weeks)
    base_start = recent_start - timedelta(weeks=rule.baseline_weeks)
    sql = (
        "SELECT customer, "
        "SUM(CASE WHEN created_at >= :recent_start THEN 1 ELSE 0 END) AS recent, "
        "SUM(CASE WHEN created_at < :recent_start THEN 1 ELSE 0 END) AS baseline, "
        "MAX(created_at) AS last_at "
        "FROM ticket WHERE created_at >= :base_start AND created_at < :end AND customer IS NOT NULL "
        "GROUP BY customer"
    )
    return sql, {"recent_start": recent_start, "base_start": base_start, "end": end}


def silent_customers(*, session: Session, end: datetime, rule: SilentRule | None = None) -> list[SilentCustomer]:
    """Customers silent at ``end`` (exclusive), biggest drop in absolute tickets first."""
    rule = rule or SilentRule()
    sql, params = volume_query(end, rule)
    stmt = text(sql).bindparams(*(bindparam(name, type_=UTCDateTime()) for name in params))
    out = []
    for customer, recent, baseline, last_at in session.connection().execute(stmt, params):
        recent, baseline = int(recent or 0), int(baseline or 0)
        if not is_silent(recent, baseline, rule):
            continue
        base_rate = baseline / rule.baseline_weeks
        recent_rate = recent / rule.recent_weeks
        if isinstance(last_at, str):
            last_at = datetime.fromisoformat(last_at)
        out.append(
            SilentCustomer(
                customer=str(customer),
                recent=recent,
                baseline=baseline,
                recent_per_week=round(recent_rate, 2),
                baseline_per_week=round(base_rate, 2),
                drop=round(1 - recent_rate / base_rate, 3),
                last_ticket_at=as_utc(last_at),
            )
        )
    out.sort(key=lambda s: (-(s.baseline_per_week - s.recent_per_week), s.customer))
    return out
