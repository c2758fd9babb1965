"""Atomic file writes: every file emkit writes goes through :func:`atomic_write`.

The bytes go to a temporary file with a unique name in the target's folder,
are flushed and fsynced, and the temporary file is renamed over the target
(an atomic step on POSIX and Windows); the folder is then fsynced so the
rename survives a crash.  If anything fails, the temporary file is removed
and an older file at the target is left untouched.

A process killed while writing (SIGKILL, power loss) cannot remove its
temporary file.  Temporary names carry the writer's process id
(``.NAME.PID.RANDOM.tmp``), and every write first removes the leftovers
for the same target whose process no longer runs (on this machine), so
stale files do not pile up; readers never look at them.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
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
    remove_stale_temporaries(folder, base)
    fd, tmp = tempfile.mkstemp(prefix=f".{base}.{os.getpid()}.", suffix=".tmp", dir=folder)
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


def remove_stale_temporaries(folder: str, base: str) -> list[str]:
    """Remove temporary files of earlier writes of ``base`` whose writer process is gone.

    Returns
    -------
    removed : list of str
        Paths removed.
    """
    removed = []
    pattern = re.compile(r"\." + re.escape(base) + r"\.(\d+)\.[^.]+\.tmp\Z")
    for name in glob.glob(os.path.join(glob.escape(folder), f".{glob.escape(base)}.*.tmp")):
        m = pattern.match(os.path.basename(name))
        if m is None or _process_alive(int(m.group(1))):
            continue
        with contextlib.suppress(OSError):
            os.unlink(name)
            removed.append(name)
    return removed


def _process_alive(pid: int) -> bool:
    """Whether process ``pid`` runs (an unknown answer counts as yes: nothing is removed)."""
    if pid == os.getpid() or os.name == "nt":  # Windows' os.kill would terminate the process
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError, OverflowError, ValueError):
        return True
    return True


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
