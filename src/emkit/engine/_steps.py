"""The steps one SQUAREM run asks for, and their answers taken one by one.

:func:`emkit.engine.squarem.squarem_steps` is a generator of :class:`Step`;
:func:`take_step` answers a step for one run, as the inline code did, and
:func:`emkit.engine.batch.advance_together` answers the steps of several
runs together through the family's batched hooks.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import NamedTuple

import numpy as np

from ..backends.numpy_backend import Data, NumpyBackend
from ..families._base import Family
from .em import LabelKeeper, expectation, maximization


class Step(NamedTuple):
    """One step a SQUAREM run asks for (see :func:`~emkit.engine.squarem.squarem_steps`).

    Attributes
    ----------
    kind : {"e", "m", "pack", "unpack", "degenerate"}
        ``"e"``: the E-step of ``params``, answered with ``(stats, mean
        log-likelihood)``; ``"m"``: the M-step (weights included) from
        ``stats`` with ``params`` as the previous iterate, answered with the
        new parameters; ``"pack"``: the family's unconstrained coordinates
        (``to_unconstrained``) of each of ``params`` (a tuple of dicts);
        ``"unpack"``: ``from_unconstrained(stats, params)`` (``stats``: the
        coordinates, ``params``: the reference iterate); ``"degenerate"``:
        ``degenerate_components(params)``.
    params : dict or tuple of dict
    stats : Stats, dict or None
    quiet : bool
        Floating-point warnings off (an extrapolated point may overflow).
    """

    kind: str
    params: dict
    stats: object = None
    quiet: bool = False


def take_step(family: Family, step: Step, data: Data, backend: NumpyBackend, fixed: frozenset,
              keeper: LabelKeeper | None = None):
    """The answer to one :class:`Step` of one run (raises what the step raises)."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore") if step.quiet \
            else nullcontext():
        if step.kind == "e":
            return expectation(family, step.params, data, backend, keeper)
        if step.kind == "m":
            return maximization(family, step.stats, step.params, fixed)
        if step.kind == "pack":
            return [family.to_unconstrained(p, fixed) for p in step.params]
        if step.kind == "unpack":
            return family.from_unconstrained(step.stats, step.params, fixed)
        return family.degenerate_components(step.params)
