"""Review and action-item exports for warehouses and spreadsheets, streamed in constant memory.

``iter_review_records`` / ``iter_action_records`` (:mod:`.records`) walk the database with a server-side cursor (``yield_per``;
on PostgreSQL a named cursor, on SQLite the driver's own incremental fetch) and yield one plain dict per record;
``write_records`` (:mod:`.writers`) writes them as JSON Lines, CSV or one JSON array without ever holding them all. Files are
written to a temporary file beside the target (mode 0600) and renamed into place only when complete, so a
failed or interrupted export never leaves a half-written file behind.

Record shapes (field order as listed; the README documents them):

- reviews, ``per="answer"`` (default): one record per stored answer — :data:`ANSWER_FIELDS`.
- reviews, ``per="review"``: one record per review — :data:`REVIEW_FIELDS` plus ``answers`` (JSON) or one
  column per question id (CSV).
- actions: one record per action item — :data:`ACTION_FIELDS`.

``redact=True`` (:mod:`.redact`) masks e-mail addresses, phone numbers (international ``+…``/``00…`` forms, Chinese mobile numbers,
common national forms) and the customer's and organisation's names, in the name fields and inside every free
text.
"""

from butterfly.exports.records import (
    ACTION_FIELDS,
    ANSWER_FIELDS,
    FORMATS,
    PER,
    REVIEW_FIELDS,
    check_format,
    iter_action_records,
    iter_review_records,
    review_question_columns,
)
from butterfly.exports.redact import EMAIL_MASK, NAME_MASK, PHONE_MASK, redact_text
from butterfly.exports.writers import csv_cell, write_records

__all__ = [
    "ACTION_FIELDS",
    "ANSWER_FIELDS",
    "EMAIL_MASK",
    "FORMATS",
    "NAME_MASK",
    "PER",
    "PHONE_MASK",
    "REVIEW_FIELDS",
    "check_format",
    "csv_cell",
    "iter_action_records",
    "iter_review_records",
    "redact_text",
    "review_question_columns",
    "write_records",
]
