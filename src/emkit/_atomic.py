"""Atomic file writes: every file emkit writes goes through :func:`atomic_write`.

The bytes go to a temporary file with a unique name in the target's folder,
are flushed and fsynced, and the temporary file is renamed over the target
(an atomic step on POSIX and Windows); the folder is then fsynced so the
rename survives a crash.  If anything fails, the temporary file is removed
and an older file at the target is left untouched.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from typing import BinaryIO

__all__ = ["atomic_write"]


def atomic_write(path, write: Callable[[BinaryIO], object]) -> None:
    """Write a file atomically through ``write(fh)``.

    Parameters
    ----------
    path : str or path-like
        The file to create or replace.  Its folder must exist.  A file that
        is replaced keeps its permission bits; a new file gets the usual
        ``0o666`` less the umask.
    write : callable
        Called once with a binary file object open for writing; it writes
        the whole content.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    base = os.path.basename(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{base}.", suffix=".tmp", dir=folder)
    try:
        with contextlib.suppress(AttributeError, OSError):
            os.fchmod(fd, _file_mode(path))
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(folder)


def _file_mode(path: str) -> int:
    """Permission bits for ``path``: those of the file it replaces, else 0o666 less the umask."""
    try:
        return os.stat(path).st_mode & 0o777
    except OSError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask


def _fsync_dir(folder: str) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # e.g. Windows, where folders cannot be opened
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
