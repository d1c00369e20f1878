"""Writing a report file: atomically (temp file in the same folder, then ``os.replace``) and private (0600)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from butterfly.errors import InvalidInputError


def write_private(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; the file is created readable by its owner only.

    Readers never see a half-written report: the text goes to a temporary file beside ``path`` that replaces it
    in one step. On any error the temporary file is removed and the old ``path`` (if any) is left as it was.
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
            handle.write(text)
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
    return target
