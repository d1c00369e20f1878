"""What ``butterfly check`` found: each :class:`Check` (passed or not, enforced or not) and the whole
:class:`GateResult`, whose :meth:`GateResult.to_dict` is the documented, versioned ``--json`` shape
(``"schema": "butterfly.check/1"``). The gate itself (the queries) is :mod:`butterfly.gate`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from butterfly.periods import Period

SCHEMA = "butterfly.check/1"


@dataclass
class Check:
    name: str  # coverage | incomplete_reviews | overdue_actions | publicity_without_consent
    ok: bool
    enforced: bool
    value: float | int | None
    limit: float | int | None
    message: str


@dataclass
class GateResult:
    period: Period
    today: date
    min_coverage: float
    max_overdue: int
    require_complete: bool
    closed_tickets: int = 0
    reviewed: int = 0  # closed tickets with a review that counts (any, or complete with require_complete)
    complete: int = 0  # closed tickets with a complete review
    unreviewed_count: int = 0
    unreviewed: list[dict[str, Any]] = field(default_factory=list)
    drafts_count: int = 0
    drafts: list[dict[str, Any]] = field(default_factory=list)
    overdue_count: int = 0
    overdue: list[dict[str, Any]] = field(default_factory=list)
    publicity_count: int = 0
    publicity: list[dict[str, Any]] = field(default_factory=list)
    with_gaps_count: int = 0  # complete reviews marked complete with required answers missing (--allow-gaps)
    with_gaps: list[dict[str, Any]] = field(default_factory=list)
    limit: int | None = None
    checks: list[Check] = field(default_factory=list)
    timezone: str = "UTC"  # the zone "today" is the date in

    @property
    def coverage(self) -> float | None:
        return self.reviewed / self.closed_tickets if self.closed_tickets else None

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` shape, version ``butterfly.check/1`` (see README: "butterfly check")."""
        return {
            "schema": SCHEMA,
            "ok": self.ok,
            "exit_code": self.exit_code,
            "period": self.period.to_dict(),
            "today": self.today.isoformat(),
            "timezone": self.timezone,
            "thresholds": {
                "min_coverage": self.min_coverage,
                "max_overdue": self.max_overdue,
                "require_complete": self.require_complete,
            },
            "counts": {
                "closed_tickets": self.closed_tickets,
                "reviewed": self.reviewed,
                "complete": self.complete,
                "unreviewed": self.unreviewed_count,
                "incomplete_reviews": self.drafts_count,
                "overdue_actions": self.overdue_count,
                "publicity_without_consent": self.publicity_count,
                "complete_with_gaps": self.with_gaps_count,
            },
            "coverage": None if self.coverage is None else round(self.coverage, 4),
            "checks": [
                {
                    "name": c.name,
                    "ok": c.ok,
                    "enforced": c.enforced,
                    "value": c.value,
                    "limit": c.limit,
                    "message": c.message,
                }
                for c in self.checks
            ],
            "list_limit": self.limit,
            "unreviewed": self.unreviewed,
            "incomplete_reviews": self.drafts,
            "overdue_actions": self.overdue,
            "publicity_without_consent": self.publicity,
            "complete_with_gaps": self.with_gaps,
        }


def judge(result: GateResult) -> None:
    cov = result.coverage
    if cov is None:
        message = "no closed tickets in the period"
        ok = True
    else:
        ok = cov >= result.min_coverage
        what = "complete reviews" if result.require_complete else "reviews"
        message = (
            f"{result.reviewed} of {result.closed_tickets} closed tickets have {what} ({cov:.0%}; "
            f"minimum {result.min_coverage:.0%})"
        )
    result.checks.append(
        Check("coverage", ok, True, None if cov is None else round(cov, 4), result.min_coverage, message)
    )
    result.checks.append(
        Check(
            "incomplete_reviews",
            result.drafts_count == 0 or not result.require_complete,
            result.require_complete,
            result.drafts_count,
            0 if result.require_complete else None,
            f"{result.drafts_count} draft review{'s' if result.drafts_count != 1 else ''}"
            + ("" if result.require_complete else " (not enforced; use --require-complete)"),
        )
    )
    result.checks.append(
        Check(
            "complete_with_gaps",
            True,
            False,
            result.with_gaps_count,
            None,
            f"{result.with_gaps_count} complete review{'s' if result.with_gaps_count != 1 else ''} closed with "
            "required questions unanswered (--allow-gaps)",
        )
    )
    result.checks.append(
        Check(
            "overdue_actions",
            result.overdue_count <= result.max_overdue,
            True,
            result.overdue_count,
            result.max_overdue,
            f"{result.overdue_count} open action item{'s' if result.overdue_count != 1 else ''} past due "
            f"(maximum {result.max_overdue})",
        )
    )
    result.checks.append(
        Check(
            "publicity_without_consent",
            result.publicity_count == 0,
            True,
            result.publicity_count,
            0,
            f"{result.publicity_count} review{'s' if result.publicity_count != 1 else ''} plan publicity "
            "without the customer's consent",
        )
    )
