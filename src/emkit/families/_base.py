"""The interface every component family implements.

A family is a stateless description of one kind of mixture component: it maps
rows to per-component log densities, rows plus responsibilities to additive
sufficient statistics, and summed statistics to new parameters.  The EM engine,
the convergence monitor and the initialisation only ever talk to this
interface, so a new family is one new file.

Parameters are passed around as plain ``dict`` objects mapping names to
arrays.  The key ``"weights"`` (mixing proportions, shape ``(n_components,)``)
belongs to the engine; every other key belongs to the family.

Besides the EM hooks, a family carries what the layers above need so that
none of them knows a family by name: its registry entry (estimator name,
command-line options, the constructor parameter model selection varies, the
per-row side data it takes), :meth:`describe` for tables and JSON, and
:meth:`marginal_density` / :meth:`marginal_range` / :meth:`ellipses` for
plots.  See ``docs/architecture.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import numpy as np

from .._validation import check_finite
from ._batch import BatchHooks
from ._describe import DescriptionHooks
from ._entry import RegistryEntry

#: rows per block when precomputing parameter-free log terms
_BASE_MEASURE_BLOCK = 65536


class Family(RegistryEntry, DescriptionHooks, BatchHooks):
    """Base class of component families.

    Subclasses set :attr:`name` and :attr:`param_names` and implement
    :meth:`log_prob`, :meth:`suff_stats`, :meth:`m_step`,
    :meth:`n_parameters` and :meth:`sample`.  Instances must be immutable
    configuration only (for example a covariance type or a regularisation
    constant): no fitted state lives in a family.
    """

    #: short name used in messages and model files
    name: str = "family"
    #: names of the family's learnable parameters (those ``fixed`` may name)
    param_names: tuple[str, ...] = ()
    #: the default start may agglomerate rows hierarchically under a Gaussian
    #: criterion (model-based hierarchical clustering, see emkit.engine.mbhac)
    hierarchical_start: bool = False

    # ------------------------------------------------------------------ E-step
    def log_prob(self, X, params: Mapping, aux: Mapping) -> np.ndarray:
        """Unweighted log density of every row under every component.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
            One chunk of rows.
        params : dict
            Current parameters.
        aux : dict of ndarray
            Per-row side data sliced like ``X`` (for example binomial trials).

        Returns
        -------
        log_prob : ndarray of shape (n_samples, n_components)

        Notes
        -----
        A family implements this or :meth:`log_prob_cached`; by default it is
        the first value of :meth:`log_prob_cached`.
        """
        if type(self).log_prob_cached is Family.log_prob_cached:
            raise NotImplementedError(
                f"{type(self).__name__} implements neither log_prob nor log_prob_cached")
        return self.log_prob_cached(X, params, aux)[0]

    def log_prob_cached(self, X, params, aux):
        """Like :meth:`log_prob` but also return a cache for :meth:`suff_stats`.

        Families override this to share work (for example centred data)
        between the E-step and the statistics of the same chunk.

        Returns
        -------
        log_prob : ndarray of shape (n_samples, n_components)
        cache : object or None
        """
        return self.log_prob(X, params, aux), None

    def weighted_log_prob_cached(self, X, params, aux, log_weights):
        """:meth:`log_prob_cached` plus the log mixing weights, as the E-step needs them.

        Parameters
        ----------
        log_weights : ndarray of shape (n_components,)
            ``log(params["weights"])`` (``-inf`` for a weight of 0).

        Returns
        -------
        log_prob : ndarray of shape (n_samples, n_components)
            float64, writable (the caller normalises it in place).
        cache : object or None

        Notes
        -----
        A family whose log densities come out of a product with a row of
        ones may fold the weights into that product instead of adding them
        in a pass over the result.
        """
        lp, cache = self.log_prob_cached(X, params, aux)
        if lp.flags.writeable and lp.dtype == np.float64:
            lp += log_weights  # the family's fresh array: no copy
        else:
            lp = lp + log_weights
        return lp, cache

    def suff_stats(self, X, resp, aux: Mapping, cache=None) -> dict:
        """Additive statistics of one chunk.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
        resp : ndarray of shape (n_samples, n_components)
            Responsibilities already multiplied by the sample weights.
        aux : dict of ndarray
        cache : object or None
            What :meth:`log_prob_cached` returned for this chunk, if anything.

        Returns
        -------
        stats : dict of ndarray
            The engine adds ``"nk"`` (summed weighted responsibilities) itself
            unless the family returns it.
        """
        raise NotImplementedError

    def fused_e_step(self, data, params: Mapping, labels=None, rows=None):
        """The whole E-step of in-memory data, or of its chunk of rows ``rows[0]:rows[1]``
        (a family may keep per-data work between passes), or None for the generic path.

        Returns ``(stats, loglik)``: the statistics (``"nk"`` included, rows
        weighted) and ``sum_i w_i log p(x_i)``; fills ``labels`` (shape
        (n_samples,), or the chunk's rows) with every row's most likely
        component when given.
        """
        return None

    # ------------------------------------------------------------------ M-step
    def m_step(self, stats: Mapping, params: Mapping, fixed: frozenset) -> dict:
        """New component parameters from summed statistics.

        Parameters
        ----------
        stats : Stats
            Summed statistics, including ``"nk"`` of shape (n_components,).
        params : dict
            Previous parameters (used for the ones named in ``fixed``).
        fixed : frozenset of str
            Parameter names to keep at their previous values.

        Returns
        -------
        params : dict
            The family's parameters (without ``"weights"``).
        """
        raise NotImplementedError

    # ------------------------------------------------------------ bookkeeping
    def n_parameters(self, params: Mapping, fixed: frozenset = frozenset()) -> int:
        """Number of free component parameters (weights not included)."""
        raise NotImplementedError

    def sample(self, params: Mapping, labels: np.ndarray, rng, aux: Mapping) -> np.ndarray:
        """Draw one row for each entry of ``labels`` (component indices).

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
        """
        raise NotImplementedError

    # ------------------------------------------------------ stored parameters
    def param_shapes(self, n_components: int, n_features: int) -> dict:
        """Shape of every stored parameter (``"weights"`` excluded).

        The default gives every name of :attr:`param_names` the shape
        (n_components, n_features).  Model-file loading compares the arrays
        of a file with these shapes before anything is computed from them.

        Returns
        -------
        shapes : dict of str to tuple of int
        """
        return {p: (n_components, n_features) for p in self.param_names}

    def check_params(self, params: Mapping) -> None:
        """Raise ValueError unless ``params`` lie in the family's parameter space.

        Called on parameters of the shapes of :meth:`param_shapes`, all
        finite (the caller checks both); families check their support here
        (probabilities in [0, 1], positive definite covariances, ...).
        """

    def likelihood_slack(self) -> float:
        """Relative fall of the mean log-likelihood one M-step may cause.

        0 for an exact M-step (EM never decreases the likelihood); a
        regularised M-step (a covariance floor) is not an exact maximisation
        and may lower it slightly, so the convergence monitor warns only
        beyond this slack.
        """
        return 0.0

    def degenerate_components(self, params: Mapping) -> list[int]:
        """Components that sit on a spurious (unbounded-likelihood) maximum."""
        return []

    # ------------------------------------------------------------ set-up
    def check_settings(self) -> None:
        """Raise ValueError for an invalid configuration (called before fitting)."""

    def side_aux(self, n_samples: int, n_features: int, kwargs: Mapping, where: str) -> dict:
        """Validated per-row side data from the keywords of fit, predict or sample.

        Parameters
        ----------
        n_samples, n_features : int
        kwargs : dict
            The keywords given (only :attr:`side_data` is accepted).
        where : str
            The calling method, for messages.

        Returns
        -------
        aux : dict of ndarray
            Arrays with ``n_samples`` rows.
        """
        if kwargs:
            raise TypeError(f"{where} got unexpected keyword argument(s) "
                            f"{', '.join(sorted(kwargs))}")
        return {}

    def check_support(self, X, aux: Mapping, start: int = 0) -> None:
        """Raise ValueError naming the first value of a chunk outside the support.

        Parameters
        ----------
        X : ndarray of shape (n_chunk, n_features)
            Finite values.
        aux : dict of ndarray
            The chunk's side data.
        start : int
            Index of the chunk's first row in the whole data (for messages).
        """

    def start_transform(self):
        """Coordinates the starts cluster rows in, or None for the rows as they are.

        Called on the prepared family.  A family whose rows are not
        comparable coordinates as they stand (columns of different types and
        scales, missing cells) returns a picklable callable mapping an
        (n, n_features) chunk to an (n, n_out) float64 array without NaN;
        k-means and random-row starts then find their centres, and assign
        rows, in those coordinates, chunk by chunk.
        """
        return None

    def check_missing_policy(self, marginalize: bool) -> None:
        """Raise ValueError for a setting that needs ``missing="marginalize"`` without it."""

    def unknown_as_missing(self, X):
        """``X`` with values the settings declare missing (unseen categories) as NaN."""
        return X

    def check_rows(self, X, aux: Mapping, start: int = 0) -> None:
        """Raise ValueError naming the first unusable cell of one chunk (finite values, support)."""
        check_finite(X, row_offset=start)
        self.check_support(X, aux, start)

    def scan(self, chunk) -> tuple:
        """Data-dependent set-up of one chunk: a tuple of arrays that add over chunks."""
        return ()

    def configure(self, totals: tuple, data, init: Mapping) -> Family:
        """The family configured from the summed :meth:`scan` tuples.

        ``init`` holds initial values that may widen the set-up (for example
        the categories of ``probs_init``).
        """
        return self

    def prepare(self, data, backend, init: Mapping | None = None):
        """Check the data and do all data-dependent set-up in one pass.

        Every chunk is checked (:meth:`check_support`) and scanned
        (:meth:`scan`) in the same pass over the data; the sums configure the
        family (:meth:`configure`) and :meth:`prepare_aux` adds per-row side
        data that does not change during EM.

        Parameters
        ----------
        data : Data
            Rows, weights and side data.
        backend : NumpyBackend or DaskBackend
        init : dict, optional
            Initial values that may shape the set-up.

        Returns
        -------
        family : Family
            Configured for this data.
        data : Data
            With the extra side data.
        """
        totals, (wx, wsum) = self._check_chunks(data, backend)
        mean = wx / wsum
        data = replace(data, mean=mean if np.all(np.isfinite(mean)) else None)
        family = self.configure(totals, data, init or {})
        return family, family.prepare_aux(data)

    def check_data(self, data, backend) -> None:
        """Check every chunk of ``data`` (:meth:`check_rows`), as :meth:`prepare` does."""
        self._checked_pass(data, backend)

    def _check_chunks(self, data, backend):
        """One pass: the first problem of any chunk raises.

        Returns the summed :meth:`scan` tuples and the weighted sum of the
        rows with the sum of the weights (for :attr:`Data.mean`).
        """
        def summary(chunk):
            w = chunk.sample_weight
            return (*self.scan(chunk), w @ np.asarray(chunk.X, dtype=np.float64), w.sum())

        parts = self._checked_pass(data, backend, summary)
        totals = parts[0]
        for part in parts[1:]:
            totals = tuple(a + b for a, b in zip(totals, part, strict=True))
        return totals[:-2], totals[-2:]

    def _checked_pass(self, data, backend, summary=None):
        """One pass over ``data``: every chunk checked (:meth:`check_rows`) and summarised.

        The first problem of any chunk raises ValueError.  Returns None
        without ``summary``, else the list of ``summary(chunk)`` of every
        chunk, in order.
        """
        def one_chunk(chunk):
            out = np.empty(1, dtype=object)
            try:
                self.check_rows(chunk.X, chunk.aux, chunk.start)
            except ValueError as exc:
                out[0] = (str(exc), None)
                return out
            out[0] = ("", None if summary is None else summary(chunk))
            return out

        results = backend.map_concat(one_chunk, data)
        problems = [m for m, _ in results if m]
        if problems:
            raise ValueError(problems[0])
        return None if summary is None else [part for _, part in results]

    def log_base_measure(self, X, aux: Mapping):
        """Parameter-free part of the log density of every row, shape (n_samples,), or None.

        Families with such a term (binomial coefficients, ``log x!``) return
        it; :meth:`prepare_aux` computes it once per fit so EM iterations do
        not, and :meth:`log_prob` uses ``aux["log_base_measure"]`` when given.
        """
        return None

    def base_measure_of(self, X, aux: Mapping):
        """``aux["log_base_measure"]`` when :meth:`prepare_aux` gave it, else computed for ``X``."""
        const = aux.get("log_base_measure")
        return self.log_base_measure(X, aux) if const is None else const

    def prepare_aux(self, data):
        """``data`` with ``aux["log_base_measure"]`` precomputed, for in-memory data.

        Computed in row blocks (no full-size temporary); left to
        :meth:`log_prob` for data that is not a NumPy array (evaluated chunk
        by chunk anyway).
        """
        if not isinstance(data.X, np.ndarray) or self.log_base_measure(data.X[:1], {
                k: v[:1] for k, v in data.aux.items()}) is None:
            return data
        step = _BASE_MEASURE_BLOCK
        parts = [self.log_base_measure(data.X[s:s + step], {k: v[s:s + step] for k, v in data.aux.items()})
                 for s in range(0, data.n_samples, step)]
        return replace(data, aux={**data.aux, "log_base_measure": np.concatenate(parts)})

    def check_init(self, values: Mapping, n_components: int, n_features: int) -> dict:
        """Validated initial parameters from the estimator's ``*_init`` values.

        Parameters
        ----------
        values : dict
            The non-None values of :attr:`init_names`.
        n_components, n_features : int

        Returns
        -------
        params : dict
            Family parameters (a subset of :attr:`param_names` and what they imply).
        """
        return {}

    def held_keys(self, fixed: frozenset) -> list:
        """Parameter keys the engine keeps at their values when ``fixed`` is held.

        The engine applies ``fixed`` itself after every M-step and SQUAREM
        extrapolation; a family lists here the keys that move with a held
        parameter (Gaussian: ``precisions_cholesky`` with ``covariances``).
        """
        return [k for k in self.param_names if k in fixed]

    def for_params(self, params: Mapping) -> Family:
        """The family that scores with fitted ``params`` (the set-up they imply)."""
        return self

    def derived(self, params: Mapping) -> dict:
        """Extra fitted attributes of the estimator (name with trailing ``_`` -> value)."""
        return {}

    # ------------------------------------------------------ acceleration hooks
    def to_unconstrained(self, params: Mapping, fixed: frozenset) -> dict:
        """Map the free parameters to unconstrained coordinates (for SQUAREM)."""
        raise NotImplementedError(f"{self.name} does not support acceleration")

    def from_unconstrained(self, theta: Mapping, params: Mapping, fixed: frozenset) -> dict:
        """Inverse of :meth:`to_unconstrained`; ``params`` supplies fixed values."""
        raise NotImplementedError(f"{self.name} does not support acceleration")
