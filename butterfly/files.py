"""Files butterfly reads and writes for the user: the one home of both rules.

Reading (:func:`read_input_text`): a user file is read with a size limit, never into memory whole, and a path
that is not a file is named for what it is (a folder, a symbolic-link loop, a device) instead of "not found".
FIFOs and character devices (``--answers <(make-answers)``, ``/dev/stdin``) are read up to the same limit, so
``--answers /dev/zero`` is an error and not an endless read.

Writing (:func:`atomic_output` and :func:`write_private`): a regular file is written to a private (0600)
temporary file beside the target and renamed over it only when complete, so a reader never sees half a file,
a failure (a full disk, Ctrl-C) leaves the old file as it was and no empty leftover, and the target is never
written *through* a symbolic link: a link at the target is replaced, its destination is not touched. A
character device or FIFO named directly (``-o /dev/stdout``, ``-o /dev/null``, ``-o pipe``) is written to as
it is, never replaced by a regular file; anything else that is not a regular file (a folder, a block device, a
socket) is refused before any work.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Literal, overload

from butterfly.errors import FileProblemsError, InvalidInputError, Problem

MAX_INPUT_BYTES = 32 * 1024 * 1024  # checklists, answers, lenses and mapping files are kilobytes


def _mib(n: int) -> str:
    return f"{n / (1024 * 1024):g} MB"


def not_a_file_reason(path: Path, *, streams: bool = True) -> str | None:
    """Why ``path`` cannot be opened as an input file (``None`` when it can be tried).

    ``streams=False``: only a regular file will do (an import reads its file more than once).
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        try:
            os.lstat(path)
        except OSError:
            return "file not found"
        return "a symbolic link to a file that does not exist"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "a symbolic link loop, not a file"
        if exc.errno == errno.ENOTDIR:
            return "file not found (a part of the path is not a folder)"
        return f"cannot read: {exc.strerror}"
    if stat.S_ISDIR(st.st_mode):
        return "a folder, not a file"
    if stat.S_ISBLK(st.st_mode):
        return "a block device, not a file"
    if stat.S_ISSOCK(st.st_mode):
        return "a socket, not a file"
    if not streams and stat.S_ISFIFO(st.st_mode):
        return "a named pipe (FIFO), not a file: give a file (it is read more than once)"
    if not streams and stat.S_ISCHR(st.st_mode):
        return "a device, not a file"
    return None


def read_input_bytes(path: str | Path, *, limit: int = MAX_INPUT_BYTES) -> bytes:
    """The bytes of a small user file, at most ``limit``; :class:`FileProblemsError` naming the file otherwise."""
    p = Path(path)
    name = str(p)
    reason = not_a_file_reason(p)
    if reason is not None:
        raise FileProblemsError(name, [Problem(name, reason)])
    try:
        with p.open("rb") as handle:
            data = handle.read(limit + 1)
    except IsADirectoryError:
        raise FileProblemsError(name, [Problem(name, "a folder, not a file")]) from None
    except OSError as exc:
        raise FileProblemsError(name, [Problem(name, f"cannot read: {exc.strerror}")]) from None
    if len(data) > limit:
        raise FileProblemsError(
            name, [Problem(name, f"larger than {_mib(limit)}: too big for this kind of file (nothing was read in)")]
        )
    return data


def read_input_text(path: str | Path, *, limit: int = MAX_INPUT_BYTES, encoding: str = "utf-8") -> str:
    """The text of a small user file (UTF-8; ``utf-8-sig`` drops a BOM), at most ``limit`` bytes."""
    data = read_input_bytes(path, limit=limit)
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        name = str(path)
        raise FileProblemsError(name, [Problem(name, f"not UTF-8 text ({exc.reason} at byte {exc.start})")]) from None


# -- writing ------------------------------------------------------------------------------------------------


def _write_error(target: Path, exc: OSError, *, replaced: bool = True) -> InvalidInputError:
    reason = exc.strerror or str(exc)
    if exc.errno == errno.EFBIG:
        reason = "File too large (the file-size limit or the disk is full)"
    hint = "nothing was written there; an older file is unchanged" if replaced else None
    return InvalidInputError(f"cannot write {target}: {reason}", hint=hint)


def _direct_target(target: Path, *, devices: bool) -> bool:
    """True when ``target`` is a device or FIFO to write into as it is; raises for what must not be written."""
    try:
        st = os.stat(target)  # follows links: /dev/stdout is a link to the process's own descriptor
    except FileNotFoundError:
        return False  # missing, or a dangling link (which the rename replaces, never follows)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return False  # a link loop: the rename replaces the link
        raise _write_error(target, exc) from None
    if stat.S_ISREG(st.st_mode):
        return False
    if stat.S_ISDIR(st.st_mode):
        raise InvalidInputError(f"cannot write {target}: it is a folder", hint="give a file name, not a folder")
    if devices and (stat.S_ISCHR(st.st_mode) or stat.S_ISFIFO(st.st_mode)):
        return True
    kind = (
        "a block device"
        if stat.S_ISBLK(st.st_mode)
        else "a socket"
        if stat.S_ISSOCK(st.st_mode)
        else "a device or pipe"
    )
    raise InvalidInputError(f"cannot write {target}: it is {kind}, not a regular file")


def check_output(path: str | Path | None, *, devices: bool = True) -> None:
    """Refuse, before any work, a target :func:`atomic_output` would refuse (a folder, a missing folder …).

    ``None`` and ``-`` (standard output) pass.
    """
    if path is None or str(path) == "-":
        return
    target = Path(path).expanduser()
    if _direct_target(target, devices=devices):
        return
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise InvalidInputError(f"cannot write {target}: the folder {folder} does not exist")


@overload
def atomic_output(
    path: str | Path, *, binary: Literal[False] = False, devices: bool = True, newline: str | None = ""
) -> contextlib.AbstractContextManager[IO[str]]: ...
@overload
def atomic_output(
    path: str | Path, *, binary: Literal[True], devices: bool = True, newline: str | None = ""
) -> contextlib.AbstractContextManager[IO[bytes]]: ...
def atomic_output(
    path: str | Path, *, binary: bool = False, devices: bool = True, newline: str | None = ""
) -> contextlib.AbstractContextManager[IO[Any]]:
    """Open ``path`` for writing as the module docstring says (text is UTF-8); use it as a ``with`` block.

    ``devices=False`` (a file butterfly names itself, like the rejects file) refuses devices and FIFOs too.
    Errors are :class:`InvalidInputError` naming ``path``.
    """
    return _atomic_output(Path(path).expanduser(), binary=binary, devices=devices, newline=newline)


@contextmanager
def _atomic_output(target: Path, *, binary: bool, devices: bool, newline: str | None) -> Iterator[IO[Any]]:
    folder = target.parent if str(target.parent) else Path(".")
    if _direct_target(target, devices=devices):
        yield from _direct(target, binary=binary, newline=newline)
        return
    if not folder.is_dir():
        raise InvalidInputError(f"cannot write {target}: the folder {folder} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)  # created 0600
    except OSError as exc:
        raise _write_error(target, exc) from None
    try:
        os.fchmod(fd, 0o600)
        mode = "wb" if binary else "w"
        kwargs: dict[str, Any] = {} if binary else {"encoding": "utf-8", "newline": newline}
        with os.fdopen(fd, mode, **kwargs) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)  # replaces a link at the target, never writes through it
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise _write_error(target, exc) from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _direct(target: Path, *, binary: bool, newline: str | None) -> Iterator[IO[Any]]:
    try:
        fd = os.open(target, os.O_WRONLY | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise _write_error(target, exc, replaced=False) from None
    mode = "wb" if binary else "w"
    kwargs: dict[str, Any] = {} if binary else {"encoding": "utf-8", "newline": newline}
    try:
        with os.fdopen(fd, mode, **kwargs) as handle:
            yield handle
            handle.flush()
    except OSError as exc:
        raise _write_error(target, exc, replaced=False) from None


def write_private(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` with :func:`atomic_output`; returns the path written."""
    target = Path(path).expanduser()
    with atomic_output(target, newline="\n") as handle:
        handle.write(text)
    return target


@contextmanager
def open_output(target: str | Path | None, *, stdout: IO[str]) -> Iterator[IO[str]]:
    """``-`` or ``None``: the given stdout (left open); otherwise :func:`atomic_output`."""
    if target is None or str(target) == "-":
        yield stdout
        return
    with atomic_output(target) as handle:
        yield handle
