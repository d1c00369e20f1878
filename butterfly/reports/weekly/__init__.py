"""The weekly recurring-issue report, one module per section: recurring problems, silent customers, demand signals, review coverage,
action items, findings and stories, for one ISO week.

All counting is done by SQL aggregates or narrow indexed fetches; only the text grouping of the week's closed
tickets runs in Python (vectorised, see ``textsim``). A ticket is *closed in the week* when its status is
closed or resolved and ``closed_at`` falls in the week; weeks run Monday 00:00 to Monday 00:00 in the report's
time zone.
"""
