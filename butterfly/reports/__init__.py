"""Reports: the per-ticket retrospective and the weekly recurring-issue report (Markdown, HTML, JSON).

``ticket_report`` and ``weekly`` build the data (pydantic models; JSON is their dump), ``rendering`` turns it into
Markdown or HTML through ``butterfly.templating``; ``butterfly.files`` writes them atomically and privately.
"""
