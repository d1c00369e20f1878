"""The walk's ``$EDITOR`` (key ``e`` at a text answer): the answer in a private temp file, the question as comments.

Errors are :class:`~butterfly.review.answer_parse.AnswerError` with a ``walk.yaml`` key, so the walk says them in
the reviewer's language (the key's text has the hint in it: no ``.hint`` key is looked up for these).
"""

import os
import shlex
import subprocess
import tempfile
from pathlib import Path

from butterfly.review.answer_parse import AnswerError


def editor_template(comment: str, initial: str) -> str:
    """The answer, a blank line, then ``comment`` (the question and how to answer) as ``#`` lines."""
    head = "\n".join(f"# {line}" for line in comment.splitlines())
    return f"{initial}\n\n{head}\n"


def strip_editor_comments(text_in: str) -> str:
    return "\n".join(line for line in text_in.splitlines() if not line.startswith("#")).strip()


def edit_answer(initial: str, comment: str, *, editor: str | None = None) -> str:
    """The answer after the reviewer edited ``initial`` under ``comment`` (the ``#`` lines removed)."""
    return strip_editor_comments(run_editor(editor_template(comment, initial), editor=editor))


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
        raise AnswerError(
            f"cannot use the editor '{command}'",
            hint="set EDITOR, e.g. EDITOR=nano",
            key="editor.unusable",
            editor=command,
        )
    fd, path = tempfile.mkstemp(prefix="butterfly-answer-", suffix=".md")  # created 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(initial)
        try:
            result = subprocess.run([*argv, path], check=False)
        except OSError as exc:
            raise AnswerError(
                f"cannot start the editor '{argv[0]}': {exc.strerror}",
                hint="set EDITOR, e.g. EDITOR=nano",
                key="editor.cannot_start",
                editor=argv[0],
                reason=exc.strerror,
            ) from None
        if result.returncode != 0:
            raise AnswerError(
                f"the editor exited with code {result.returncode}; the answer is unchanged",
                key="editor.exit_code",
                code=result.returncode,
            )
        return Path(path).read_text(encoding="utf-8")
    finally:
        try:
            os.unlink(path)
        except OSError:
            pass
