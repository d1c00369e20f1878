"""Files butterfly writes for the user (reports, exports, checklist forms): atomically and private (0600).

The one home of the rule: the text goes to a temporary file beside the target, created 0600, flushed to disk and
renamed over the target in one step (``os.replace``, which replaces a link rather than writing through it).
Readers never see a half-written file; on any error the temporary file is removed and the old target is left
as it was.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from butterfly.errors import InvalidInputError


@contextmanager
def atomic_text_file(path: str | Path) -> Iterator[TextIO]:
    """A UTF-8 text stream for ``path`` (``~`` expanded) that replaces it only when the block ends without error.

    Problems with the file (a missing folder, a folder in the way, a full disk) are :class:`InvalidInputError`
    naming the file.
    """
    target = Path(path).expanduser()
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise InvalidInputError(f"cannot write {target}: folder {folder} does not exist")
    if target.is_dir():
        raise InvalidInputError(f"cannot write {target}: it is a folder")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise InvalidInputError(f"cannot write {target}: {exc.strerror}") from None
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise InvalidInputError(f"cannot write {target}: {exc.strerror}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_private(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` with :func:`atomic_text_file`; returns the path written."""
    with atomic_text_file(path) as handle:
        handle.write(text)
    return Path(path).expanduser()


@contextmanager
def open_output(target: str | Path | None, *, stdout: TextIO) -> Iterator[TextIO]:
    """``-`` or ``None``: the given stdout (left open); otherwise :func:`atomic_text_file`."""
    if target is None or str(target) == "-":
        yield stdout
        return
    with atomic_text_file(target) as handle:
        yield handle
