"""Ctrl-C while the command line starts: exit 130 quietly, not with a traceback.

Loading numpy, scipy and the rest takes a noticeable time, and a
``KeyboardInterrupt`` raised inside an import prints a traceback before the
command line's error guard (:mod:`emkit.cli.application`) exists.  When this
process is the ``emkit`` command (the console script or ``python -m emkit``),
importing :mod:`emkit` therefore first (importing this module) installs a SIGINT handler that says
``emkit: interrupted`` and exits with status 130; the guard puts Python's own
handler back (:func:`release_interrupt`) before it runs a command, so Ctrl-C
during a fit keeps its meaning (stop after the current iteration).  A program
that merely imports emkit is never affected.
"""

from __future__ import annotations

import os
import signal
import sys


def _is_cli_process() -> bool:
    """True when this interpreter was started as the ``emkit`` command."""
    argv0 = os.path.basename(sys.argv[0]) if sys.argv else ""
    if argv0 in ("emkit", "emkit.exe", "emkit-script.py"):
        return True
    orig = list(getattr(sys, "orig_argv", []))
    if "-m" in orig:
        i = orig.index("-m")
        return i + 1 < len(orig) and orig[i + 1] in ("emkit", "emkit.cli")
    return False


def _interrupted(signum, frame):
    try:
        sys.stderr.write("emkit: interrupted\n")
        sys.stderr.flush()
    finally:
        raise SystemExit(130)


def quiet_interrupt_at_startup() -> None:
    """Install :func:`_interrupted` for SIGINT if this is the CLI and Python's handler is in place."""
    try:
        if _is_cli_process() and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            signal.signal(signal.SIGINT, _interrupted)
    except (ValueError, OSError):  # not the main thread, or no signals here
        pass


def release_interrupt() -> None:
    """Give SIGINT back to Python's handler (KeyboardInterrupt) if ours is still installed."""
    try:
        if signal.getsignal(signal.SIGINT) is _interrupted:
            signal.signal(signal.SIGINT, signal.default_int_handler)
    except (ValueError, OSError):
        pass


quiet_interrupt_at_startup()
