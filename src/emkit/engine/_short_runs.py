"""The short runs of the default start, asked for as a step so that several fits share them.

:func:`~emkit.engine.starts.auto_starts_steps` yields one :class:`ShortRuns`
(the short plain-EM runs from all its starts) and receives their results.
One fit answers it alone (:meth:`ShortRuns.answer`); a model selection that
fits every number of components of one type together
(:func:`emkit.mixture._together.fit_together`) answers the requests of all
those fits in one :func:`~emkit.engine.batch.run_em_batch`
(:func:`answer_together`) when their families and rows batch together (equal
:attr:`ShortRuns.key`, as for :class:`~emkit.engine.batch.SquaremRun`) and
their numbers of components fall in one bucket of two (K = 1, 2-3, 4-5, ...):
the batched E-step pads every run to the largest K, and one batch of all of
K = 1..9 was measured 1.6x slower than nine batches of one K each.  Each run takes
exactly the plain-EM steps it takes alone; its result equals that of its own
fit's batch up to the rounding of the batched steps.
"""

from __future__ import annotations

import warnings

from ..backends.numpy_backend import Data, NumpyBackend
from ..families._base import Family
from .batch import batchable, run_em_batch


class ShortRuns:
    """Short plain-EM runs from ``starts`` (dicts) on ``data``, as ``run_em_batch`` runs them.

    Parameters
    ----------
    family : Family
    starts : list of dict
    data : Data
    backend : NumpyBackend
    fixed : frozenset of str
    tol : float
    max_iter : int
    labels : list of str
    errors : tuple of exception types
        Failures that end one run only (its result is the exception).
    """

    def __init__(self, family: Family, starts: list, data: Data, backend: NumpyBackend,
                 fixed: frozenset, tol: float, max_iter: int, labels: list, errors: tuple):
        self.family, self.starts, self.data, self.backend = family, starts, data, backend
        self.fixed, self.tol, self.max_iter, self.labels, self.errors = (fixed, tol, max_iter,
                                                                         labels, errors)
        self.key = None  # requests with equal keys are answered in one batch
        fam_key = family.batch_key() if starts else None
        if (fam_key is not None and not data.aux and type(backend) is NumpyBackend
                and batchable(family, [*starts, *starts], data, backend, fixed)):
            X = data.X
            self.key = (fam_key, X.shape, X.dtype.str, X.tobytes(), data.sample_weight.tobytes(),
                        backend.chunk_size, fixed, tol, max_iter, errors,
                        max(p["weights"].shape[0] for p in starts) // 2)  # K bucket

    def answer(self) -> list:
        """Per start, its ``run_em`` result or its exception (one of ``errors``)."""
        return answer_together([self])[0]


def answer_together(requests: list[ShortRuns]) -> list[list]:
    """Per request, what :meth:`ShortRuns.answer` gives; requests with equal keys share
    one :func:`~emkit.engine.batch.run_em_batch`."""
    groups: dict = {}
    for i, req in enumerate(requests):
        groups.setdefault(("alone", i) if req.key is None else req.key, []).append(i)
    out: list = [None] * len(requests)
    for members in groups.values():
        lead = requests[members[0]]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a short run that goes wrong is just ranked low
            runs = run_em_batch(lead.family, [p for i in members for p in requests[i].starts],
                                lead.data, lead.backend, tol=lead.tol, max_iter=lead.max_iter,
                                fixed=lead.fixed,
                                labels=[s for i in members for s in requests[i].labels],
                                errors=lead.errors)
        at = 0
        for i in members:
            out[i] = runs[at:at + len(requests[i].starts)]
            at += len(requests[i].starts)
    return out


def drive_alone(steps):
    """Run a generator that yields :class:`ShortRuns` to its end, answering each alone;
    returns what it returns."""
    reply = None
    while True:
        try:
            reply = steps.send(reply).answer()
        except StopIteration as done:
            return done.value
