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

import numpy as np

from ._describe import Column, Description


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

    # ---------------------------------------------------------- registry entry
    #: name of the estimator class that fits this family (exported by emkit)
    estimator_name: str = ""
    #: name in titles ("Gaussian"); defaults to :attr:`name`
    display_name: str = ""
    #: "continuous" (densities, float samples) or "discrete" (pmfs, integer samples)
    data_kind: str = "continuous"
    #: constructor parameter that model selection varies, and its values
    variant_param: str | None = None
    variants: tuple[str, ...] = ()
    #: command-line options the family accepts: option name -> constructor parameter
    cli_params: Mapping[str, str] = {}
    #: keyword of per-row side data that fit, predict, score and sample take
    side_data: str | None = None
    #: what the side data is, for messages ("the number of trials")
    side_data_text: str = ""
    #: table labels of the parameters in the default :meth:`describe`
    param_labels: Mapping[str, str] = {}
    #: what a value of a feature is, for plot axes ("count")
    value_label: str = "value"
    #: discrete values are ordered (pmf points joined by lines) or not (categories)
    ordered: bool = True

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

    def degenerate_components(self, params: Mapping) -> list[int]:
        """Components that sit on a spurious (unbounded-likelihood) maximum."""
        return []

    # ------------------------------------------------------------ description
    def settings(self) -> dict:
        """Configuration shown with the parameters (for example the covariance type)."""
        return {}

    def describe(self, params: Mapping) -> Description:
        """What tables, JSON and plots show of fitted parameters.

        The default shows :meth:`settings` and every parameter of
        :attr:`param_names`, one table column per parameter of shape
        (n_components, n_features) labelled by :attr:`param_labels`.

        Parameters
        ----------
        params : dict
            Fitted parameters.

        Returns
        -------
        description : Description
        """
        fields = {p: params[p] for p in self.param_names}
        fields.update(self.settings())
        columns = tuple(
            Column(self.param_labels.get(p, p), np.asarray(params[p], dtype=np.float64))
            for p in self.param_names if np.ndim(params[p]) == 2
        )
        return Description(fields=fields, columns=columns)

    # ------------------------------------------------------------------ plots
    def marginal_density(self, x, params: Mapping, feature: int, aux: Mapping) -> np.ndarray:
        """Density (continuous) or probability (discrete) of one feature's values.

        Parameters
        ----------
        x : ndarray of shape (m,)
            Points (continuous) or support values (discrete).
        params : dict
        feature : int
            Column index.
        aux : dict of ndarray
            Per-row side data of the plotted rows (a discrete family averages
            over them, as binomial trials).

        Returns
        -------
        density : ndarray of shape (n_components, m)
            Every component's own (unweighted) marginal.
        """
        raise NotImplementedError(f"the {self.name} family has no marginal density")

    def marginal_range(self, params: Mapping, feature: int, x, aux: Mapping) -> tuple:
        """Interval of a feature that holds nearly all of every component's mass.

        Returns
        -------
        lo, hi : float
            For a discrete family ``hi`` is the largest support value to draw
            (an int, at least the largest of ``x``).
        """
        raise NotImplementedError(f"the {self.name} family has no marginal range")

    def ellipses(self, params: Mapping):
        """Centres and covariance matrices to draw as ellipses, or None.

        Returns
        -------
        means : ndarray of shape (n_components, n_features)
        covariances : ndarray of shape (n_components, n_features, n_features)
        """
        return None

    # ------------------------------------------------------ acceleration hooks
    def to_unconstrained(self, params: Mapping, fixed: frozenset) -> dict:
        """Map the free parameters to unconstrained coordinates (for SQUAREM)."""
        raise NotImplementedError(f"{self.name} does not support acceleration")

    def from_unconstrained(self, theta: Mapping, params: Mapping, fixed: frozenset) -> dict:
        """Inverse of :meth:`to_unconstrained`; ``params`` supplies fixed values."""
        raise NotImplementedError(f"{self.name} does not support acceleration")
