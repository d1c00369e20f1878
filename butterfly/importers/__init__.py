"""Ticket import: generic CSV/JSON/JSON Lines and native helpdesk exports, idempotent and streaming.

``import_files(session=…, paths=[…])`` is the entry point; ``export_tickets_csv`` writes tickets in the
generic CSV format the importer reads back losslessly.
"""

from __future__ import annotations

from butterfly.importers.export import export_tickets_csv
from butterfly.importers.runlog import FileSummary
from butterfly.importers.service import ImportSummary, import_files

__all__ = ["FileSummary", "ImportSummary", "export_tickets_csv", "import_files"]
