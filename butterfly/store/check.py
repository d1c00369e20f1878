"""``butterfly db check``: the database's health, read only.

:func:`check_database` never changes the database (it does not even apply migrations): SQLite's
``integrity_check`` and ``foreign_key_check``, orphan rows on both backends, and the schema revision against
the newest one this release ships.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import SQLModel

import butterfly.store.models  # noqa: F401 - register the tables
from butterfly.store import db as database
from butterfly.store.db import alembic_config
from butterfly.urls import redact_url

if TYPE_CHECKING:
    from sqlmodel import Session

Level = Literal["ok", "warning", "problem"]

# (name, what is wrong, SQL counting the bad rows, SQL listing a few of their ids, tables the query needs)
_ORPHAN_CHECKS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    (
        "answers without review",
        "answer",
        "FROM answer c LEFT JOIN review p ON p.id = c.review_id WHERE p.id IS NULL",
        ("answer", "review"),
    ),
    (
        "reviews without ticket",
        "review",
        "FROM review c LEFT JOIN ticket p ON p.id = c.ticket_id WHERE p.id IS NULL",
        ("review", "ticket"),
    ),
    (
        "answer history without answer",
        "answer_change",
        "FROM answer_change c LEFT JOIN answer p ON p.id = c.answer_id WHERE p.id IS NULL",
        ("answer_change", "answer"),
    ),
    (
        "answer history without review",
        "answer_change",
        "FROM answer_change c LEFT JOIN review p ON p.id = c.review_id WHERE p.id IS NULL",
        ("answer_change", "review"),
    ),
    (
        "conversation facts without review",
        "review_conversation",
        "FROM review_conversation c LEFT JOIN review p ON p.id = c.review_id WHERE p.id IS NULL",
        ("review_conversation", "review"),
    ),
    (
        "findings without review",
        "finding",
        "FROM finding c LEFT JOIN review p ON p.id = c.review_id WHERE p.id IS NULL",
        ("finding", "review"),
    ),
    (
        "action items with a missing review",
        "action_item",
        "FROM action_item c LEFT JOIN review p ON p.id = c.review_id WHERE c.review_id IS NOT NULL AND p.id IS NULL",
        ("action_item", "review"),
    ),
    (
        "action items with a missing ticket",
        "action_item",
        "FROM action_item c LEFT JOIN ticket p ON p.id = c.ticket_id WHERE c.ticket_id IS NOT NULL AND p.id IS NULL",
        ("action_item", "ticket"),
    ),
    (
        "tickets with a missing import run",
        "ticket",
        "FROM ticket c LEFT JOIN import_run p ON p.id = c.import_id WHERE c.import_id IS NOT NULL AND p.id IS NULL",
        ("ticket", "import_run"),
    ),
)

# SQLite messages that mean the file itself is damaged (a finding of the check, not an unreachable database)
_CORRUPT_MARKERS = ("malformed", "not a database", "corrupt")


# -- check ----------------------------------------------------------------------------------------------------


@dataclass
class CheckItem:
    """One finding of ``db check``."""

    name: str
    level: Level
    detail: str
    count: int = 0
    sample: list[Any] = field(default_factory=list)


@dataclass
class CheckReport:
    """The outcome of :func:`check_database`: ``ok`` when no item is a problem."""

    url: str
    backend: str
    revision: str | None
    head: str
    items: list[CheckItem]

    @property
    def problems(self) -> list[CheckItem]:
        return [i for i in self.items if i.level == "problem"]

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "backend": self.backend,
            "ok": self.ok,
            "revision": self.revision,
            "head": self.head,
            "problems": len(self.problems),
            "checks": [asdict(i) for i in self.items],
        }


def check_database(*, session: Session) -> CheckReport:
    """Check the database behind ``session`` without changing it.

    Driver errors that mean the file is damaged are reported as problems; an unreachable database raises
    :class:`DatabaseError` (through :func:`butterfly.store.db.open_session`).
    """
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    url = engine.url.render_as_string(hide_password=True)
    backend = engine.dialect.name
    head = database.head_revision()
    items: list[CheckItem] = []
    revision: str | None = None

    def damaged(exc: SQLAlchemyError, name: str) -> bool:
        detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        if any(marker in detail.lower() for marker in _CORRUPT_MARKERS):
            items.append(CheckItem(name, "problem", f"the database file is damaged: {detail}", 1))
            return True
        return False

    try:
        tables = set(inspect(session.connection()).get_table_names())
    except SQLAlchemyError as exc:
        if damaged(exc, "integrity"):
            return CheckReport(redact_url(url), backend, None, head, items)
        raise

    try:
        if backend == "sqlite":
            items.extend(_sqlite_integrity(session))
        elif backend == "postgresql":
            items.extend(_postgres_indexes(session))
        revision = _revision(session, tables)
        items.append(_migration_state(revision, head))
        if revision == head:
            items.append(_schema_matches(session))
        items.extend(_orphans(session, tables))
        items.extend(_stale_imports(session, tables))
    except SQLAlchemyError as exc:
        session.rollback()
        if not damaged(exc, "integrity"):
            raise
    return CheckReport(redact_url(url), backend, revision, head, items)


def _rows(session: Session, sql: str) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in session.execute(text(sql)).all()]


def _sqlite_integrity(session: Session) -> list[CheckItem]:
    items = []
    result = [r[0] for r in _rows(session, "PRAGMA integrity_check(20)")]
    if result == ["ok"]:
        items.append(CheckItem("integrity", "ok", "PRAGMA integrity_check: ok"))
    else:
        items.append(CheckItem("integrity", "problem", "; ".join(str(r) for r in result[:5]), len(result)))
    fk = _rows(session, "PRAGMA foreign_key_check")
    if not fk:
        items.append(CheckItem("foreign keys", "ok", "PRAGMA foreign_key_check: ok"))
    else:
        by_table: dict[str, int] = {}
        for table, *_ in fk:
            by_table[str(table)] = by_table.get(str(table), 0) + 1
        detail = ", ".join(f"{n} in {t}" for t, n in sorted(by_table.items()))
        items.append(
            CheckItem(
                "foreign keys",
                "problem",
                f"rows pointing at missing rows: {detail}",
                len(fk),
                [list(r) for r in fk[:5]],
            )
        )
    return items


def _postgres_indexes(session: Session) -> list[CheckItem]:
    invalid = _rows(
        session,
        "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE NOT i.indisvalid AND n.nspname = current_schema()",
    )
    if invalid:
        names = [r[0] for r in invalid]
        return [CheckItem("indexes", "problem", "invalid indexes: " + ", ".join(names), len(names), names)]
    return [CheckItem("indexes", "ok", "no invalid indexes")]


def _revision(session: Session, tables: set[str]) -> str | None:
    if "alembic_version" not in tables:
        return None
    rows = _rows(session, "SELECT version_num FROM alembic_version")
    return str(rows[0][0]) if rows else None


def known_revisions() -> list[str]:
    """Every migration revision shipped with this release, oldest first."""
    script = ScriptDirectory.from_config(alembic_config())
    return [r.revision for r in reversed(list(script.walk_revisions()))]


def _migration_state(revision: str | None, head: str) -> CheckItem:
    if revision == head:
        return CheckItem("migrations", "ok", f"schema at revision {revision} (the newest)")
    if revision is None:
        return CheckItem("migrations", "problem", "no butterfly schema in this database: run `butterfly db upgrade`", 1)
    if revision in known_revisions():
        return CheckItem(
            "migrations", "problem", f"schema at revision {revision}, newest is {head}: run `butterfly db upgrade`", 1
        )
    return CheckItem(
        "migrations",
        "problem",
        f"schema revision {revision} is unknown to this release (newest {head}): made by a newer butterfly?",
        1,
    )


def _schema_matches(session: Session) -> CheckItem:
    """Tables, columns and indexes as the newest migration makes them (e.g. no index lost to a crash)."""
    diff = compare_metadata(MigrationContext.configure(session.connection()), SQLModel.metadata)
    if not diff:
        return CheckItem("schema", "ok", "tables, columns and indexes as the migrations make them")
    described = [_describe_diff(d) for d in diff]
    # a table of someone's own beside butterfly's does no harm: a warning; anything else is a problem
    extra_only = all(not isinstance(d, list) and d[0] == "remove_table" for d in diff)
    level: Level = "warning" if extra_only else "problem"
    return CheckItem("schema", level, "; ".join(described[:5]), len(described), described[:5])


_DIFF_WORDS = {
    "add_table": "missing table",
    "remove_table": "unexpected table",
    "add_column": "missing column",
    "remove_column": "unexpected column",
    "add_index": "missing index",
    "remove_index": "unexpected index",
    "add_constraint": "missing constraint",
    "remove_constraint": "unexpected constraint",
    "add_fk": "missing foreign key",
    "remove_fk": "unexpected foreign key",
}


def _describe_diff(diff: Any) -> str:
    """One Alembic autogenerate difference in words (what is missing or unexpected in the database)."""
    entry = diff[0] if isinstance(diff, list) else diff  # column changes come as a list of tuples
    action = str(entry[0])
    if action.startswith("modify_"):  # ("modify_nullable", schema, table, column, ...)
        return f"column {entry[2]}.{entry[3]} differs ({action.removeprefix('modify_')})"
    words = _DIFF_WORDS.get(action, action.replace("_", " "))
    if action.endswith("column"):  # (action, schema, table, Column)
        return f"{words} {entry[2]}.{getattr(entry[3], 'name', entry[3])}"
    obj = entry[1]
    name = getattr(obj, "name", None) or str(obj)
    table = getattr(getattr(obj, "table", None), "name", None)
    return f"{words} {table + '.' if table else ''}{name}"


def _orphans(session: Session, tables: set[str]) -> list[CheckItem]:
    items = []
    for name, table, where, needs in _ORPHAN_CHECKS:
        if not set(needs) <= tables:
            continue
        count = int(_rows(session, f"SELECT count(*) {where}")[0][0])
        if count:
            sample = [r[0] for r in _rows(session, f"SELECT c.id {where} ORDER BY c.id LIMIT 5")]
            ids = ", ".join(f"#{i}" for i in sample) + (", …" if count > len(sample) else "")
            items.append(CheckItem(f"orphans: {name}", "problem", f"{count} {table} rows ({ids})", count, sample))
        else:
            items.append(CheckItem(f"orphans: {name}", "ok", "none"))
    return items


def _stale_imports(session: Session, tables: set[str]) -> list[CheckItem]:
    if "import_run" not in tables:
        return []
    rows = _rows(session, "SELECT id FROM import_run WHERE status = 'running' ORDER BY id")
    if not rows:
        return []
    ids = [r[0] for r in rows]
    return [
        CheckItem(
            "import runs",
            "warning",
            f"{len(ids)} import run(s) still marked running ({', '.join(f'#{i}' for i in ids[:5])}): "
            "an import in progress, or one that was stopped: run it again to finish it",
            len(ids),
            ids[:5],
        )
    ]
