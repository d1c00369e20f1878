"""``report ticket --redact``: the ticket report with the customer's identity masked, for sharing outside the team.

The customer and organization (of the ticket and of the similar tickets) become ``[customer]``; e-mail addresses,
phone numbers and those names are masked in the subject, the description and the reviewers' notes
(:func:`butterfly.exports.redact_text`, the one redaction rule). The conversation section redacts message text and
drops author names itself (:mod:`.ticket_conversation`).
"""

from __future__ import annotations

from collections.abc import Sequence

from butterfly.exports import NAME_MASK, redact_text
from butterfly.reports.ticket_model import CellSection, TicketReport


def customer_names(report: TicketReport, extra: Sequence[str | None] = ()) -> list[str]:
    found = [report.ticket.customer, report.ticket.organization, *extra]
    return [n for n in dict.fromkeys(found) if n]


def redact_report(report: TicketReport, names: Sequence[str]) -> TicketReport:
    """A copy of ``report`` with the customer's identity masked (see the module's docstring)."""
    out = report.model_copy(deep=True)
    tk = out.ticket
    tk.customer = NAME_MASK if tk.customer else None
    tk.organization = NAME_MASK if tk.organization else None
    tk.subject = redact_text(tk.subject, names) if tk.subject else tk.subject
    tk.description = redact_text(tk.description, names) if tk.description else tk.description
    for row in out.similar:
        row.customer = NAME_MASK if row.customer else None
        row.subject = redact_text(row.subject, names) if row.subject else row.subject
    sections: list[CellSection] = [*out.cells, *(c for lens in out.lenses for c in lens.cells)]
    for cell in sections:
        for q in cell.questions:
            for a in q.answers:
                a.text = redact_text(a.text, names)
                a.note = redact_text(a.note, names) if a.note else a.note
    for q in out.extra_answers:
        for a in q.answers:
            a.text = redact_text(a.text, names)
            a.note = redact_text(a.note, names) if a.note else a.note
    for action in out.actions:
        action.text = redact_text(action.text, names)
    for f in out.findings:
        f.detail = redact_text(f.detail, names)
    return out
