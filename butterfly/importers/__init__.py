"""Ticket import: generic CSV/JSON/JSON Lines and native helpdesk exports, idempotent and streaming.

``import_files(session=…, paths=[…])`` is the entry point; ``export_tickets_csv`` writes tickets in the
generic CSV format the importer reads back losslessly.

The names below are imported on first use (PEP 562): the worker and load processes
(``python -m butterfly.importers.csv_batches``, ``…columnar``) import this package first and need none of them.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from butterfly.importers.export import export_tickets_csv
    from butterfly.importers.runlog import FileSummary
    from butterfly.importers.service import ImportSummary, import_files

__all__ = ["FileSummary", "ImportSummary", "export_tickets_csv", "import_files"]

_HOMES = {
    "export_tickets_csv": "butterfly.importers.export",
    "FileSummary": "butterfly.importers.runlog",
    "ImportSummary": "butterfly.importers.service",
    "import_files": "butterfly.importers.service",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(home), name)
