"""Domain errors. The CLI maps each to ``Error: ...`` on stderr and an exit code.

Library code raises these; it never calls ``sys.exit`` and never imports Typer.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class ButterflyError(Exception):
    """Base class for expected, user-facing errors (exit code 2 unless stated)."""

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class ConfigError(ButterflyError):
    """A setting or configuration file is wrong."""


class DatabaseError(ButterflyError):
    """The database cannot be reached, opened, written or migrated."""


class NotFoundError(ButterflyError):
    """A ticket, review or action item the user named does not exist."""


class ConflictError(ButterflyError):
    """Someone else changed the same record since it was read (optimistic check)."""


class InvalidInputError(ButterflyError):
    """A file or value given by the user is invalid."""


@dataclass(frozen=True)
class Problem:
    """One problem found in a user file: where it is and what is wrong."""

    file: str
    message: str
    line: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
        if self.field:
            where += f": {self.field}"
        return f"{where}: {shorten(self.message)}"


def shorten(text: str, limit: int = 400) -> str:
    """``text`` cut in the middle when longer than ``limit`` (a hostile file's 10 MB value is not echoed back)."""
    if len(text) <= limit:
        return text
    keep = limit // 2
    return f"{text[:keep]} …[{len(text) - 2 * keep:,} characters]… {text[-keep:]}"


@dataclass
class FileProblemsError(ButterflyError):
    """A user file (checklist, answers, mapping) has one or more problems."""

    file: str
    problems: list[Problem] = field(default_factory=list)

    def __post_init__(self) -> None:
        lines = "\n".join(f"  {p}" for p in self.problems)
        n = len(self.problems)
        ButterflyError.__init__(self, f"{self.file}: {n} problem{'s' if n != 1 else ''}\n{lines}")

    def __str__(self) -> str:
        return self.message


def yaml_problem(exc: Exception, file: str, *, what: str = "YAML") -> Problem:
    """A PyYAML parse error as a :class:`Problem` with its line (PyYAML itself is not imported here)."""
    mark = getattr(exc, "problem_mark", None)
    line = mark.line + 1 if mark is not None else None
    problem = getattr(exc, "problem", None) or str(exc)
    return Problem(file, f"not valid {what}: {problem}", line=line)
