"""The weekly recurring-issue report for one ISO week, one module per section: recurring problems
(``recurring``), demand signals (``demand``), review coverage (``coverage``), action items (``actions``), findings
(``findings``) and stories (``stories``); silent customers come from ``butterfly.reports.silent``. ``model`` holds
the data, ``weeks`` the week maths, ``common`` what the sections share, ``build`` puts the report together.

All counting is done by SQL aggregates or narrow indexed fetches; only the text grouping of the week's closed
tickets runs in Python (vectorised, see ``textsim``). A ticket is *closed in the week* when its status is
closed or resolved and ``closed_at`` falls in the week; weeks run Monday 00:00 to Monday 00:00 in the report's
time zone.
"""
