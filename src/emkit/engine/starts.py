"""The default start, ``init_params="auto"``: many cheap starts, short EM runs, the best continued.

EM climbs to the fixed point nearest its start, so where it starts decides
which maximum it reports.  ``"auto"`` follows the short-run EM strategy
("emEM") of Biernacki, Celeux & Govaert (2003): it makes many starts of
different kinds, runs a few EM iterations from each, and hands the best few
to the caller, who continues them to convergence on all the data.  The
starts are

- model-based hierarchical agglomeration (Fraley 1998), deterministic, for
  families that declare ``hierarchical_start``: mclust's default tree (the
  unconstrained VVV criterion on its scaled-SVD coordinates, see
  :mod:`emkit.engine.hcvvv`) and Ward's on scaled-SVD and on raw
  coordinates (see :mod:`emkit.engine.mbhac`);
- k-means (k-means++ seeding and a few Lloyd iterations; Arthur &
  Vassilvitskii 2007);
- random rows as centres.

Budget: the short runs work on a weighted random subsample of at most
:data:`SHORT_RUN_SIZE` rows (all rows below that), the agglomeration on at
most :data:`~emkit.engine.mbhac.MBHAC_SAMPLE_SIZE`, so their cost does not
grow with the data; only the continued runs visit every row.  mclust's
start (``"mbhac-vvv"``) is always among the continued runs: ten EM steps
do not reliably tell which fixed point a start leads to.  Above
:data:`SHORT_RUN_SIZE` rows the finalists first run to convergence on the
subsample and only the best of them is continued on all rows.  Starts whose
M-step fails (for example a singular covariance with ``reg_covar=0``) are
skipped, and a run with a degenerate component never ranks above one
without.

References
----------
Biernacki, C., Celeux, G. and Govaert, G. (2003). Choosing starting values
for the EM algorithm for getting the highest likelihood in multivariate
Gaussian mixture models. Computational Statistics & Data Analysis
41(3-4):561-575.
Fraley, C. (1998). Algorithms for model-based Gaussian hierarchical
clustering. SIAM Journal on Scientific Computing 20(1):270-281.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass

import numpy as np

from ..backends.numpy_backend import Data, NumpyBackend
from ..families._base import Family
from ..families._stats import Stats
from ._order import canonical_centres
from ._shared_starts import draws
from ._short_runs import ShortRuns, drive_alone
from .batch import run_em_batch
from .em import maximization
from .init import (
    INIT_SAMPLE_SIZE,
    Start,
    _weighted_subsample,
    canonical_direction,
    centre_of,
    kmeans_centres,
    params_from_start,
    random_rows,
    start_view,
)
from .mbhac import mbhac_labels, subsample

logger = logging.getLogger("emkit")

#: rows the short runs work on (a weighted subsample above this size)
SHORT_RUN_SIZE = 2000
#: k-means starts and random-row starts
N_KMEANS = 3
N_RANDOM_ROWS = 3
#: EM iterations of each short run, and the tolerance that ends one early
SHORT_ITER = 10
SHORT_TOL = 1e-6
#: short runs handed on to be continued to convergence
N_CONTINUE = 2
#: relative difference of mean log-likelihoods below which two runs tie
TIE_REL = 1e-7
#: relative difference of two starts' parameters below which they are the same start
SAME_RTOL = 1e-12
#: stopping rule of the finalists' plain EM runs on the subsample (:func:`_settle`)
SETTLE_TOL = 1e-7
SETTLE_ITER = 200
#: the start that is continued whatever its short run scored (mclust's default start)
ALWAYS_CONTINUE = "mbhac-vvv"
#: failures a start may raise, dropped rather than ending the fit
START_ERRORS = (ValueError, FloatingPointError, np.linalg.LinAlgError)


@dataclass
class Candidate:
    """One start after its short run.

    Attributes
    ----------
    name : str
        What made it (``"mbhac-svd"``, ``"kmeans-2"``, ...).
    params : dict
    log_likelihood : float
        Mean per-sample log-likelihood on the short-run rows.
    degenerate : bool
    """

    name: str
    params: dict
    log_likelihood: float
    degenerate: bool

    def rank(self):
        """Sort key: non-degenerate first, then higher log-likelihood."""
        ll = self.log_likelihood if np.isfinite(self.log_likelihood) else -np.inf
        return (not self.degenerate, ll)


def _labels_params(family: Family, sub: Data, labels: np.ndarray, K: int, softening: float,
                   user: dict) -> dict:
    # number the clusters along the canonical direction, as the centre starts are
    w = sub.sample_weight
    X = np.asarray(sub.X, dtype=np.float64)
    counts = np.bincount(labels, weights=w, minlength=K)
    means = np.stack([np.bincount(labels, weights=w * col, minlength=K) for col in X.T], axis=1)
    means /= np.maximum(counts, 1e-300)[:, None]
    key = means @ canonical_direction(X.shape[1])
    key[counts <= 0] = np.inf
    rank = np.empty(K, dtype=np.intp)
    rank[np.argsort(key, kind="stable")] = np.arange(K)
    labels = rank[labels]
    resp = np.zeros((sub.n_samples, K))
    resp[np.arange(sub.n_samples), labels] = 1.0
    if softening:
        resp = (1.0 - softening) * resp + softening / K
    resp *= sub.sample_weight[:, None]
    st = family.suff_stats(sub.X, resp, sub.aux, None)
    st["nk"] = resp.sum(axis=0)
    # the first M-step estimates everything; user values (fixed ones included) replace it
    return {**maximization(family, Stats(**st), user, frozenset()), **user}


def auto_starts(family: Family, data: Data, n_components: int, rng: np.random.RandomState,
                backend: NumpyBackend, **kwargs) -> tuple[list[Candidate], list[str]]:
    """:func:`auto_starts_steps` run alone (its short runs answered at once)."""
    return drive_alone(auto_starts_steps(family, data, n_components, rng, backend, **kwargs))


def auto_starts_steps(family: Family, data: Data, n_components: int, rng: np.random.RandomState,
                      backend: NumpyBackend, *, fixed: frozenset = frozenset(),
                      user: dict | None = None, n_continue: int = N_CONTINUE, label: str = "init"):
    """Short EM runs from many starts; the best few, ranked.

    A generator: it yields one :class:`~emkit.engine._short_runs.ShortRuns`
    (the short runs) and receives their results, so that several fits may
    answer theirs together; it returns ``(best, failed)``.

    Parameters
    ----------
    family : Family
        ``family.hierarchical_start`` enables the agglomerative starts and
        ``family.init_softening`` softens hard labels.
    data : Data
    n_components : int
    rng : RandomState
    backend : NumpyBackend or DaskBackend
    fixed : frozenset of str
    user : dict
        User-given initial parameters; they replace the start's.
    n_continue : int
        How many of the best short runs to return.

    Returns
    -------
    best : list of Candidate
        At most ``n_continue``, best first, with distinct log-likelihoods.
    failed : list of str
        ``"name: message"`` of every start that failed.
    """
    K = n_components
    user = dict(user or {})
    soft = float(getattr(family, "init_softening", 0.0))
    # centres live in the family's start coordinates (the rows themselves for most families)
    transform = family.start_transform()
    hierarchical = bool(getattr(family, "hierarchical_start", False))
    # what does not depend on the family (shared by the fits of one selection, _shared_starts)
    shift, work, work_backend, sub, centres = draws(
        data, K, rng, backend, transform is None,
        lambda: _draws(data, K, rng, backend, transform, hierarchical))
    if work is None:  # no subsample: the short runs use all rows
        work, work_backend = data, backend
    starts: list[tuple[str, object]] = []
    if sub is not None and sub.n_samples >= K:
        for kind in ("vvv", "svd", "raw"):
            starts.append((f"mbhac-{kind}", ("labels", kind)))
    starts += [(name, ("centres", C)) for name, C in centres]
    outcomes: list = []  # per start in order: its parameters, or "name: message" of a failure
    seen: list[dict] = []  # the parameters of every start run so far
    for name, (kind, how) in starts:
        try:
            with np.errstate(all="ignore"):
                if kind == "labels":
                    params = _labels_params(family, sub, mbhac_labels(sub, K, how), K, soft, user)
                elif isinstance(how, Exception):
                    raise how
                else:
                    start = Start(K, centres=how, shift=shift, softening=soft, transform=transform)
                    params = {**params_from_start(family, work, start, work_backend), **user}
        except START_ERRORS as exc:
            outcomes.append((name, f"{name}: {exc}"))
            logger.debug("%s: start %s failed: %s", label, name, exc)
            continue
        if any(same_params(params, p) for p in seen):
            # the same start as an earlier one (every start at K = 1, k-means runs that
            # settle on the same centres): its short run would tie with the earlier
            # one, which wins ties, so it is not run again
            logger.debug("%s: start %s repeats an earlier start", label, name)
            continue
        seen.append(params)
        outcomes.append((name, params))
    # the short runs of all starts advance together (one batched pass per iteration on
    # small in-memory data, run_em_batch); each gives what its own run_em gives
    to_run = [(i, name) for i, (name, o) in enumerate(outcomes) if isinstance(o, dict)]
    runs = yield ShortRuns(family, [outcomes[i][1] for i, _ in to_run], work, work_backend, fixed,
                           SHORT_TOL, SHORT_ITER, [f"{label} {name}" for _, name in to_run],
                           START_ERRORS)
    for (i, name), res in zip(to_run, runs):
        if isinstance(res, Exception):
            outcomes[i] = (name, f"{name}: {res}")
            logger.debug("%s: start %s failed: %s", label, name, res)
        else:
            outcomes[i] = (name, res)
    candidates: list[Candidate] = []
    failed: list[str] = []
    for name, res in outcomes:
        if isinstance(res, str):
            failed.append(res)
            continue
        degenerate = bool(family.degenerate_components(res.params))
        candidates.append(Candidate(name, res.params, float(res.lower_bound), degenerate))
    best = pick_best(candidates, n_continue)
    # mclust's own start is always continued: ten EM steps do not tell which fixed
    # point a start leads to (banknote, full, K = 3: the VVV tree's run ranks below
    # random-row runs after ten steps and ends 1.1 above them)
    kept = [c for c in candidates if c.name == ALWAYS_CONTINUE and not c.degenerate]
    if kept and kept[0] not in best and best:
        if not any(is_tie(kept[0].log_likelihood, c.log_likelihood) for c in best):
            best[-1] = kept[0]
    if work is not data and len(best) > 1:
        best = _settle(family, best, work, work_backend, fixed, label)
    return best, failed


def _draws(data: Data, K: int, rng: np.random.RandomState, backend: NumpyBackend, transform,
           hierarchical: bool):
    """The family-independent part of :func:`auto_starts`, drawn from ``rng``.

    Returns the start coordinates' centre, the subsample of the short runs
    and its backend (None, None: all rows), the agglomeration subsample (None without
    ``hierarchical``) and ``(name, centres or the exception that made them
    fail)`` of every k-means and random-row start, in order.
    """
    view = start_view(data, transform)
    shift = centre_of(view, backend)
    # the rows the short runs use: all of them, or a weighted subsample in memory
    work = work_backend = None
    run_view, run_backend = view, backend
    if data.n_samples > SHORT_RUN_SIZE:
        work = _weighted_subsample(data, backend, shift, rng, SHORT_RUN_SIZE, view=view)
        work_backend = run_backend = NumpyBackend()
        run_view = start_view(work, transform)
    sub = subsample(data, backend) if hierarchical else None
    names = [f"kmeans-{i + 1}" for i in range(N_KMEANS)]
    names += [f"random-rows-{i + 1}" for i in range(N_RANDOM_ROWS)]
    centres = []
    for name in names:
        try:
            with np.errstate(all="ignore"):
                if name.startswith("kmeans"):
                    C = kmeans_centres(run_view, K, rng, run_backend, shift,
                                       sample_size=INIT_SAMPLE_SIZE)
                else:
                    C = random_rows(run_view, K, rng, run_backend, shift)
                C = canonical_centres(C)
        except START_ERRORS as exc:
            C = exc
        centres.append((name, C))
    return shift, work, work_backend, sub, centres


def _settle(family: Family, best: list[Candidate], work: Data, backend: NumpyBackend,
            fixed: frozenset, label: str) -> list[Candidate]:
    """The finalists run to convergence on the subsample; only the best goes on to all rows.

    With more rows than :data:`SHORT_RUN_SIZE`, continuing every finalist on
    all rows costs a full EM per finalist; on the subsample it costs a small
    fraction of one, and which fixed point a start leads to is decided
    there (a third stage of emEM, Biernacki, Celeux & Govaert 2003).  The
    winner's settled parameters are the start of the run on all rows.  On
    data of at most :data:`SHORT_RUN_SIZE` rows nothing changes: every
    finalist is continued on all rows, and so are all finalists when every
    settled one has a degenerate component (a collapse on the subsample can
    be an artefact of drawing too few of a component's rows).
    """
    # the finalists advance together (run_em_batch: each as its own run_em)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")  # a finalist that goes wrong is just ranked low
        runs = run_em_batch(family, [c.params for c in best], work, backend, tol=SETTLE_TOL,
                            max_iter=SETTLE_ITER, fixed=fixed, warn_decrease=False,
                            labels=[f"{label} {c.name} (settle)" for c in best],
                            errors=START_ERRORS)
    settled = [Candidate(c.name, res.params, float(res.lower_bound),
                         bool(family.degenerate_components(res.params)))
               for c, res in zip(best, runs) if not isinstance(res, Exception)]
    won = pick_best(settled, 1)
    if not won or won[0].degenerate:
        # a component that collapses on the subsample may be its artefact (too few
        # of its rows drawn): the finalists go on to all rows unsettled, as below
        # SHORT_RUN_SIZE rows
        return best
    return won


def mbhac_start(family: Family, data: Data, n_components: int, backend: NumpyBackend, *,
                user: dict | None = None) -> dict:
    """mclust's start: the partition of the VVV agglomeration tree, then one M-step.

    The tree is built on every row, or on a fixed subsample of at most
    :data:`~emkit.engine.mbhac.MBHAC_SAMPLE_SIZE` rows (mclust's ``subset``),
    whose M-step gives the starting parameters for EM on all rows.
    Deterministic: it does not use ``random_state``.

    Parameters
    ----------
    family : Family
        Must declare ``hierarchical_start`` (a Gaussian criterion).
    data : Data
    n_components : int
    backend : NumpyBackend
    user : dict
        User-given initial parameters; they replace the start's.

    Returns
    -------
    params : dict
    """
    if not getattr(family, "hierarchical_start", False):
        raise ValueError(
            f"init_params='mbhac' (Gaussian model-based agglomeration) is not available for "
            f"the {family.name} family; use 'auto', 'kmeans' or 'random_from_data'"
        )
    sub = subsample(data, backend)
    if sub.n_samples < n_components:
        raise ValueError(
            f"init_params='mbhac' needs at least n_components={n_components} distinct rows "
            f"with positive weight, got {sub.n_samples}"
        )
    soft = float(getattr(family, "init_softening", 0.0))
    labels = mbhac_labels(sub, n_components, "vvv")
    return _labels_params(family, sub, labels, n_components, soft, dict(user or {}))


def same_params(a: dict, b: dict, rtol: float = SAME_RTOL) -> bool:
    """Two parameter dicts equal up to ``rtol`` (relative to each array's largest entry).

    Starts this close run the same short EM to within rounding, so only the
    first of them is run.
    """
    if a.keys() != b.keys():
        return False
    for key in a:
        x, y = np.asarray(a[key]), np.asarray(b[key])
        if x.shape != y.shape:
            return False
        if x.dtype.kind not in "fc" or y.dtype.kind not in "fc":
            if not np.array_equal(x, y):
                return False
            continue
        scale = max(float(np.max(np.abs(x), initial=0.0)), float(np.max(np.abs(y), initial=0.0)))
        if not np.all(np.abs(x - y) <= rtol * scale):
            return False
    return True


def is_tie(a: float, b: float) -> bool:
    """Two mean log-likelihoods equal up to :data:`TIE_REL` (the same solution, reached twice)."""
    return abs(a - b) <= TIE_REL * (1.0 + max(abs(a), abs(b)))


def pick_best(candidates: list[Candidate], n: int) -> list[Candidate]:
    """The ``n`` best distinct candidates, best first.

    Non-degenerate ones rank first, then by log-likelihood; log-likelihoods
    that tie (:func:`is_tie`) count as the same solution and the earlier
    start wins, so rounding (float32 against float64, a different chunking)
    cannot change which run is kept or the order of its components.
    """
    left = list(candidates)
    best: list[Candidate] = []
    while left and len(best) < n:
        top = max(left, key=Candidate.rank)
        ties = [c for c in left if c.degenerate == top.degenerate
                and is_tie(c.log_likelihood, top.log_likelihood)]
        best.append(ties[0])  # the earliest start among the ties
        left = [c for c in left if c not in ties]
    return best
