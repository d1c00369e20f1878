"""The walk's ``$EDITOR`` (key ``e`` at a text answer): the answer in a private temp file, the question as comments."""

import os
import shlex
import subprocess
import tempfile
from pathlib import Path

from butterfly.errors import InvalidInputError


def editor_template(question: str, initial: str) -> str:
    head = "\n".join(f"# {line}" for line in question.splitlines())
    return f"{initial}\n\n{head}\n# Lines starting with # are ignored. Save and close the editor to answer.\n"


def strip_editor_comments(text_in: str) -> str:
    return "\n".join(line for line in text_in.splitlines() if not line.startswith("#")).strip()


def edit_answer(initial: str, question: str, *, editor: str | None = None) -> str:
    """The answer to ``question`` after the reviewer edited ``initial`` (comment lines removed)."""
    return strip_editor_comments(run_editor(editor_template(question, initial), editor=editor))


def run_editor(initial: str, *, editor: str | None = None) -> str:
    """Open ``initial`` in ``$VISUAL``/``$EDITOR`` (default ``vi``) in a private temp file; returns the text.

    The editor gets the file path as an argument (an argument list, never a shell string).
    """
    command = editor or os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    try:
        argv = shlex.split(command)
    except ValueError:
        argv = []
    if not argv:
        raise InvalidInputError(f"cannot use the editor '{command}'", hint="set EDITOR, e.g. EDITOR=nano")
    fd, path = tempfile.mkstemp(prefix="butterfly-answer-", suffix=".md")  # created 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(initial)
        try:
            result = subprocess.run([*argv, path], check=False)
        except OSError as exc:
            raise InvalidInputError(
                f"cannot start the editor '{argv[0]}': {exc.strerror}", hint="set EDITOR, e.g. EDITOR=nano"
            ) from None
        if result.returncode != 0:
            raise InvalidInputError(f"the editor exited with code {result.returncode}; the answer is unchanged")
        return Path(path).read_text(encoding="utf-8")
    finally:
        try:
            os.unlink(path)
        except OSError:
            pass
