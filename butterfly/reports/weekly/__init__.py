"""The weekly recurring-issue report for one ISO week, one module per section: recurring problems
(``recurring``), demand signals (``demand``), review coverage (``coverage``), action items (``actions``), findings
(``findings``), stories (``stories``) and the summary that opens the report (``summary``); silent customers come
from ``butterfly.silent``. ``model`` holds the data (weeks are ``butterfly.periods``), ``common`` what the
sections share, ``build`` puts the report together.

All counting is done by SQL aggregates or narrow indexed fetches; only the text grouping of the week's closed
tickets runs in Python (vectorised: ``butterfly.reports.problems`` over ``butterfly.similarity``). A ticket is
*closed in the week* when its status is closed or resolved and ``closed_at`` falls in the week; weeks run Monday
00:00 to Monday 00:00 in the report's time zone.
"""
