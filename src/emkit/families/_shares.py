"""Responsibilities too small to matter are taken as exactly zero.

In an E-step each row's log densities are shifted by their largest before
``exp``.  A component far from a row (well-separated data) leaves a gap of
hundreds of log units: its share ``exp(gap)`` is between ``exp(-745)`` and
``exp(-708)`` a subnormal number, and subnormal operands make ``exp``, the
division by the row sums and the moments' matrix products several times
slower on x86 (each takes a microcode assist).  A share below
``exp(FLUSH_GAP) ~ 1e-261`` of the row's largest is far under the rounding of
every sum it enters (the M-step also adds ``10 eps`` to every ``nk``), so
setting it to zero changes no statistic beyond rounding.
"""

from __future__ import annotations

import numpy as np

#: log-density gap below a row's most likely component past which a component's
#: share is taken as exactly zero
FLUSH_GAP = -600.0


def flush_tiny(gaps: np.ndarray) -> None:
    """Set the gaps (log densities minus each row's largest) below :data:`FLUSH_GAP`
    to ``-inf``, in place, so ``exp`` gives exactly zero there.

    Parameters
    ----------
    gaps : ndarray of any shape
        Non-positive log-density gaps (``-inf`` allowed), float64.
    """
    if gaps.size and gaps.min() < FLUSH_GAP:  # one cheap reduction spares the mask otherwise
        np.putmask(gaps, gaps < FLUSH_GAP, -np.inf)
