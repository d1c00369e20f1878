"""``butterfly db check``: the database's health, read only.

:func:`check_database` never changes the database (it does not even apply migrations): SQLite's
``integrity_check`` and ``foreign_key_check``, orphan rows on both backends, and the schema revision against
the newest one this release ships.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import SQLModel

import butterfly.store.models  # noqa: F401 - register the tables
from butterfly.labels import join_items
from butterfly.labels import text as label_text
from butterfly.store import db as database
from butterfly.store.db import alembic_config
from butterfly.urls import redact_url

if TYPE_CHECKING:
    from sqlmodel import Session

Level = Literal["ok", "warning", "problem"]

# (name in db_texts.yaml, the table of the bad rows, SQL counting them and listing a few ids, the tables it needs)
_ORPHAN_CHECKS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    (
        "name.orphans.answer_review",
        "answer",
        "FROM answer c LEFT JOIN review p ON p.id = c.review_id WHERE p.id IS NULL",
        ("answer", "review"),
    ),
    (
        "name.orphans.review_ticket",
        "review",
        "FROM review c LEFT JOIN ticket p ON p.id = c.ticket_id WHERE p.id IS NULL",
        ("review", "ticket"),
    ),
    (
        "name.orphans.change_answer",
        "answer_change",
        "FROM answer_change c LEFT JOIN answer p ON p.id = c.answer_id WHERE p.id IS NULL",
        ("answer_change", "answer"),
    ),
    (
        "name.orphans.change_review",
        "answer_change",
        "FROM answer_change c LEFT JOIN review p ON p.id = c.review_id WHERE p.id IS NULL",
        ("answer_change", "review"),
    ),
    (
        "name.orphans.conversation_review",
        "review_conversation",
        "FROM review_conversation c LEFT JOIN review p ON p.id = c.review_id WHERE p.id IS NULL",
        ("review_conversation", "review"),
    ),
    (
        "name.orphans.finding_review",
        "finding",
        "FROM finding c LEFT JOIN review p ON p.id = c.review_id WHERE p.id IS NULL",
        ("finding", "review"),
    ),
    (
        "name.orphans.action_review",
        "action_item",
        "FROM action_item c LEFT JOIN review p ON p.id = c.review_id WHERE c.review_id IS NOT NULL AND p.id IS NULL",
        ("action_item", "review"),
    ),
    (
        "name.orphans.action_ticket",
        "action_item",
        "FROM action_item c LEFT JOIN ticket p ON p.id = c.ticket_id WHERE c.ticket_id IS NOT NULL AND p.id IS NULL",
        ("action_item", "ticket"),
    ),
    (
        "name.orphans.ticket_import",
        "ticket",
        "FROM ticket c LEFT JOIN import_run p ON p.id = c.import_id WHERE c.import_id IS NOT NULL AND p.id IS NULL",
        ("ticket", "import_run"),
    ),
)

# SQLite messages that mean the file itself is damaged (a finding of the check, not an unreachable database)
_CORRUPT_MARKERS = ("malformed", "not a database", "corrupt")


# -- check ----------------------------------------------------------------------------------------------------


Part = tuple[str, dict[str, Any]]  # a text of db_texts.yaml and its values (a value may be a list of parts)


def _render(part: Part, lang: str) -> str:
    key, values = part
    filled = {
        k: join_items((_render(p, lang) for p in v), lang) if isinstance(v, list) else v for k, v in values.items()
    }
    return label_text("db_texts.yaml", key, lang, **filled)


@dataclass
class CheckItem:
    """One finding of ``db check``: its name and detail in English (``--json``, for scripts) and as texts of
    ``db_texts.yaml`` for the table a person reads (:meth:`shown`)."""

    name: str
    level: Level
    detail: str
    count: int = 0
    sample: list[Any] = field(default_factory=list)
    name_key: str = ""
    parts: list[Part] = field(default_factory=list)

    def shown(self, lang: str) -> tuple[str, str, str]:
        """Name, level and detail in ``lang``."""
        name = label_text("db_texts.yaml", self.name_key, lang) if self.name_key else self.name
        detail = "; ".join(_render(p, lang) for p in self.parts) if self.parts else self.detail
        return name, label_text("db_texts.yaml", f"level.{self.level}", lang), detail

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "level": self.level,
            "detail": self.detail,
            "count": self.count,
            "sample": self.sample,
        }


def _item(name_key: str, level: Level, parts: list[Part], count: int = 0, sample: list[Any] | None = None) -> CheckItem:
    """A finding whose English name and detail come from the same texts as the other languages."""
    name = label_text("db_texts.yaml", name_key, "en")
    detail = "; ".join(_render(p, "en") for p in parts)
    return CheckItem(name, level, detail, count, sample or [], name_key, parts)


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
            "checks": [i.as_dict() for i in self.items],
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
            items.append(_item(f"name.{name}", "problem", [("detail.damaged", {"error": detail})], 1))
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
        items.append(_item("name.integrity", "ok", [("detail.integrity_ok", {})]))
    else:
        found = "; ".join(str(r) for r in result[:5])
        items.append(_item("name.integrity", "problem", [("detail.integrity_problem", {"found": found})], len(result)))
    fk = _rows(session, "PRAGMA foreign_key_check")
    if not fk:
        items.append(_item("name.foreign_keys", "ok", [("detail.foreign_keys_ok", {})]))
    else:
        by_table: dict[str, int] = {}
        for table, *_ in fk:
            by_table[str(table)] = by_table.get(str(table), 0) + 1
        tables: list[Part] = [("detail.in_table", {"n": n, "table": t}) for t, n in sorted(by_table.items())]
        items.append(
            _item(
                "name.foreign_keys",
                "problem",
                [("detail.foreign_keys_problem", {"tables": tables})],
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
        listed = ", ".join(names)
        return [_item("name.indexes", "problem", [("detail.indexes_problem", {"names": listed})], len(names), names)]
    return [_item("name.indexes", "ok", [("detail.indexes_ok", {})])]


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
        return _item("name.migrations", "ok", [("detail.migrations_ok", {"revision": revision})])
    if revision is None:
        return _item("name.migrations", "problem", [("detail.migrations_none", {})], 1)
    values = {"revision": revision, "head": head}
    if revision in known_revisions():
        return _item("name.migrations", "problem", [("detail.migrations_behind", values)], 1)
    return _item("name.migrations", "problem", [("detail.migrations_unknown", values)], 1)


def _schema_matches(session: Session) -> CheckItem:
    """Tables, columns and indexes as the newest migration makes them (e.g. no index lost to a crash)."""
    diff = compare_metadata(MigrationContext.configure(session.connection()), SQLModel.metadata)
    if not diff:
        return _item("name.schema", "ok", [("detail.schema_ok", {})])
    described = [_describe_diff(d) for d in diff]
    # a table of someone's own beside butterfly's does no harm: a warning; anything else is a problem
    extra_only = all(not isinstance(d, list) and d[0] == "remove_table" for d in diff)
    level: Level = "warning" if extra_only else "problem"
    item = _item("name.schema", level, described[:5], len(described))
    item.sample = [_render(p, "en") for p in described[:5]]
    return item


_DIFF_KINDS = {
    "add_table",
    "remove_table",
    "add_column",
    "remove_column",
    "add_index",
    "remove_index",
    "add_constraint",
    "remove_constraint",
    "add_fk",
    "remove_fk",
}


def _describe_diff(diff: Any) -> Part:
    """One Alembic autogenerate difference as a text (what is missing or unexpected in the database)."""
    entry = diff[0] if isinstance(diff, list) else diff  # column changes come as a list of tuples
    action = str(entry[0])
    if action.startswith("modify_"):  # ("modify_nullable", schema, table, column, ...)
        return ("diff.modify", {"what": f"{entry[2]}.{entry[3]}", "how": action.removeprefix("modify_")})
    if action.endswith("column"):  # (action, schema, table, Column)
        what = f"{entry[2]}.{getattr(entry[3], 'name', entry[3])}"
    else:
        obj = entry[1]
        name = getattr(obj, "name", None) or str(obj)
        table = getattr(getattr(obj, "table", None), "name", None)
        what = f"{table + '.' if table else ''}{name}"
    if action in _DIFF_KINDS:
        return (f"diff.{action}", {"what": what})
    return ("diff.other", {"how": action.replace("_", " "), "what": what})


def _orphans(session: Session, tables: set[str]) -> list[CheckItem]:
    items = []
    for name, table, where, needs in _ORPHAN_CHECKS:
        if not set(needs) <= tables:
            continue
        count = int(_rows(session, f"SELECT count(*) {where}")[0][0])
        if count:
            sample = [r[0] for r in _rows(session, f"SELECT c.id {where} ORDER BY c.id LIMIT 5")]
            ids = ", ".join(f"#{i}" for i in sample) + (", …" if count > len(sample) else "")
            found = ("detail.orphans_found", {"count": count, "table": table, "ids": ids})
            items.append(_item(name, "problem", [found], count, sample))
        else:
            items.append(_item(name, "ok", [("detail.orphans_none", {})]))
    return items


def _stale_imports(session: Session, tables: set[str]) -> list[CheckItem]:
    if "import_run" not in tables:
        return []
    rows = _rows(session, "SELECT id FROM import_run WHERE status = 'running' ORDER BY id")
    if not rows:
        return []
    ids = [r[0] for r in rows]
    listed = ", ".join(f"#{i}" for i in ids[:5])
    return [
        _item(
            "name.import_runs", "warning", [("detail.stale_imports", {"n": len(ids), "ids": listed})], len(ids), ids[:5]
        )
    ]
