"""The interface every component family implements.

A family is a stateless description of one kind of mixture component: it maps
rows to per-component log densities, rows plus responsibilities to additive
sufficient statistics, and summed statistics to new parameters.  The EM engine,
the convergence monitor and the initialisation only ever talk to this
interface, so a new family is one new file.

Parameters are passed around as plain ``dict`` objects mapping names to
arrays.  The key ``"weights"`` (mixing proportions, shape ``(n_components,)``)
belongs to the engine; every other key belongs to the family.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


class Family:
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
        """
        raise NotImplementedError

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
            The engine adds ``"nk"`` (summed weighted responsibilities) itself.
        """
        raise NotImplementedError

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

    def degenerate_components(self, params: Mapping) -> list[int]:
        """Components that sit on a spurious (unbounded-likelihood) maximum."""
        return []

    # ------------------------------------------------------ acceleration hooks
    def to_unconstrained(self, params: Mapping, fixed: frozenset) -> dict:
        """Map the free parameters to unconstrained coordinates (for SQUAREM)."""
        raise NotImplementedError(f"{self.name} does not support acceleration")

    def from_unconstrained(self, theta: Mapping, params: Mapping, fixed: frozenset) -> dict:
        """Inverse of :meth:`to_unconstrained`; ``params`` supplies fixed values."""
        raise NotImplementedError(f"{self.name} does not support acceleration")
