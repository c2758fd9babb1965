"""Mixtures of mixed-type components (latent profile / latent class analysis)."""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.utils.validation import check_is_fitted

from .. import registry
from .._validation import check_choice
from ..families.mixed import MixedFamily, block_prefix, block_view
from ._base import BaseMixture

MISSING = ("error", "marginalize")


class MixedMixture(BaseMixture):
    """Mixture whose components are products of independent blocks of columns.

    Every block is one registered family (Gaussian, Bernoulli, binomial,
    Poisson, categorical, ...) over some columns of ``X``; given the
    component, blocks are independent.  With binary or categorical blocks this
    is latent class analysis, with Gaussian blocks latent profile analysis,
    and any mix of the two for tables of mixed types.

    Parameters
    ----------
    n_components : int, default=1
    blocks : list of (family, columns) or (family, columns, options)
        ``family`` is a registered family name ("gaussian", "bernoulli",
        "binomial", "poisson", "categorical"); ``columns`` a list of column
        indices, or of column names when ``X`` is a DataFrame; ``options`` a
        dict of that family's estimator settings, for example
        ``{"covariance_type": "diag"}``, ``{"n_trials": 10}`` or
        ``{"n_categories": 4}``.  Every column of ``X`` must be in exactly
        one block.
    tol : float, default=1e-9
        Convergence threshold on Aitken's estimate of how much the mean
        per-sample log-likelihood can still gain (Böhning et al. 1994); see
        :mod:`emkit.engine.monitor`.
    max_iter : int, default=1000
        Maximum number of data passes (EM iterations) per run.
    n_init : int, default=1
    init_params : {"auto", "kmeans", "k-means++", "random", "random_from_data"}, default="auto"
        How runs start.  ``"auto"``: short EM runs from k-means and random-row
        starts on a subsample of at most 2,000 rows, the best two continued
        to convergence on all rows (emEM, Biernacki, Celeux & Govaert 2003;
        see :mod:`emkit.engine.starts`).  Centres are found in the columns
        standardised to unit variance with missing cells at the column mean,
        and every row is assigned chunk by chunk; hard labels are softened by
        mixing in 10% uniform mass.
    weights_init : array-like of shape (n_components,), default=None
    random_state : int, RandomState instance or None, default=None
    warm_start : bool, default=False
    verbose : int, default=0
    verbose_interval : int, default=10
    fixed : sequence of str, default=()
        Parameters held at their initial values: ``"weights"`` and/or block
        parameters by their stored name (``"b0_means"``, ``"b1_probs"``).
    chunk_size : int or None, default=None
    acceleration : {None, "squarem"}, default="squarem"
        SQUAREM extrapolation of EM steps (Varadhan & Roland 2008); None runs
        plain EM.
    missing : {"error", "marginalize"}, default="error"
        What a missing cell (NaN) means.  ``"error"`` rejects it, naming the
        cell.  ``"marginalize"`` integrates it out under missingness at
        random: a row whose cells of a block are all missing drops that
        block's factor from every component's density (``score_samples`` is
        the log density of the observed blocks, ``predict`` works on
        incomplete rows) and the block's M-step leaves the row out.  Single
        missing cells are integrated out too: in a full or tied Gaussian
        block with the conditional mean and covariance of the missing cells
        given the observed ones (Ghahramani & Jordan 1994), in a diagonal or
        spherical one by dropping the cell's factor, in
        a product family's block (Bernoulli, binomial, Poisson, categorical,
        exponential) by dropping the cell's factor, with each feature's
        M-step over the rows that observe it.

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
    b{b}_{name}_ : ndarray
        The parameters of block ``b`` under its family's names, for example
        ``b0_means_``, ``b0_covariances_``, ``b1_probs_``.
    block_params_ : list of dict
        The same, one dict per block, without the prefix.
    converged_, n_iter_, lower_bound_, history_, n_features_in_
        As for the other estimators.

    Examples
    --------
    >>> import numpy as np
    >>> from emkit import MixedMixture
    >>> rng = np.random.default_rng(0)
    >>> z = rng.integers(0, 2, 400)
    >>> X = np.c_[rng.normal(3 * z, 1), rng.random(400) < np.where(z, .9, .1)]
    >>> mm = MixedMixture(2, blocks=[("gaussian", [0]), ("bernoulli", [1])],
    ...                   random_state=0).fit(X)
    >>> np.round(np.sort(mm.b1_probs_.ravel()), 1)
    array([0.1, 0.9])
    """

    _family_type = MixedFamily

    def __init__(
        self,
        n_components=1,
        *,
        blocks=(),
        tol=1e-9,
        max_iter=1000,
        n_init=1,
        init_params="auto",
        weights_init=None,
        random_state=None,
        warm_start=False,
        verbose=0,
        verbose_interval=10,
        fixed=(),
        chunk_size=None,
        acceleration="squarem",
        missing="error",
    ):
        self.n_components = n_components
        self.blocks = blocks
        self.tol = tol
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.fixed = fixed
        self.chunk_size = chunk_size
        self.acceleration = acceleration
        self.missing = missing

    # ------------------------------------------------------------- blocks
    def _block_specs(self) -> list:
        """``[(family name, columns as given, options)]`` with the shape checked."""
        blocks = self.blocks
        if isinstance(blocks, (str, bytes)) or not hasattr(blocks, "__iter__"):
            raise ValueError(f"blocks must be a list of (family, columns) pairs, got {blocks!r}")
        specs = []
        for b, spec in enumerate(blocks):
            if not isinstance(spec, (tuple, list)) or len(spec) not in (2, 3):
                raise ValueError(
                    f"blocks[{b}] must be (family, columns) or (family, columns, options), got {spec!r}"
                )
            name, cols = spec[0], spec[1]
            options = dict(spec[2]) if len(spec) == 3 and spec[2] is not None else {}
            registry.get(name)  # ValueError naming the families
            if isinstance(cols, (str, numbers.Integral)):
                cols = [cols]
            cols = list(cols)
            if not cols:
                raise ValueError(f"blocks[{b}] ({name}) has no columns")
            specs.append((name, cols, options))
        if not specs:
            raise ValueError("blocks is empty: give at least one (family, columns) pair")
        return specs

    def _resolve_columns(self, n_features: int) -> list:
        """Integer column indices of every block; every column in exactly one block."""
        names = getattr(self, "feature_names_in_", None)
        owner = {}
        resolved = []
        for b, (name, cols, _) in enumerate(self._block_specs()):
            idx = []
            for c in cols:
                if isinstance(c, str):
                    if names is None:
                        raise ValueError(
                            f"blocks[{b}] ({name}) names column {c!r}, but X has no column names; "
                            "pass a DataFrame or give column indices"
                        )
                    hit = np.flatnonzero(np.asarray(names) == c)
                    if hit.size == 0:
                        raise ValueError(f"blocks[{b}] ({name}): X has no column named {c!r}")
                    j = int(hit[0])
                elif isinstance(c, numbers.Integral) and not isinstance(c, bool):
                    j = int(c)
                    if not 0 <= j < n_features:
                        raise ValueError(
                            f"blocks[{b}] ({name}): column index {j} is out of range for X with "
                            f"{n_features} columns"
                        )
                else:
                    raise ValueError(f"blocks[{b}] ({name}): column {c!r} is not an index or a name")
                label = repr(c) if names is None or isinstance(c, str) else repr(str(names[j]))
                if j in idx:
                    raise ValueError(f"blocks[{b}] ({name}) names column {label} twice")
                if j in owner:
                    raise ValueError(
                        f"column {label} is in two blocks (blocks[{owner[j]}] and blocks[{b}]); "
                        "put every column in exactly one block"
                    )
                owner[j] = b
                idx.append(j)
            resolved.append(np.asarray(idx, dtype=np.int64))
        left = [j for j in range(n_features) if j not in owner]
        if left:
            shown = ", ".join(repr(str(names[j])) if names is not None else str(j) for j in left[:5])
            raise ValueError(
                f"column(s) {shown} of X are in no block; add them to a block or drop them from X"
            )
        return resolved

    # ---------------------------------------------------------- estimator hooks
    @property
    def _param_attrs(self) -> dict:
        out = {}
        for b, (name, _, _) in enumerate(self._block_specs()):
            for key in registry.estimator_class(name)._param_attrs:
                out[block_prefix(b) + key] = f"{block_prefix(b)}{key}_"
        return out

    def _block_families(self) -> list:
        """Every block's family, configured by the block's options (before any data)."""
        out = []
        for b, (name, _, options) in enumerate(self._block_specs()):
            family = registry.get(name)
            unknown = sorted(set(options) - set(family.settings_params))
            if unknown:
                raise ValueError(
                    f"blocks[{b}] ({name}): bad option(s) {', '.join(map(repr, unknown))}; the "
                    f"{name} family takes {', '.join(map(repr, family.settings_params)) or 'none'}"
                )
            out.append(family(**options))
        return out

    def _check_parameters(self):
        families = self._block_families()
        names = [block_prefix(b) + p for b, fam in enumerate(families) for p in fam.param_names]
        MixedFamily(tuple((fam, np.zeros(0, dtype=np.int64)) for fam in families),
                    marginalize=self.missing == "marginalize").check_settings()
        check_choice(self.missing, "missing", MISSING)
        self._check_common_params(tuple(names))

    def _configured_family(self) -> MixedFamily:
        d = getattr(self, "n_features_in_", None)
        if d is None:
            raise ValueError("MixedMixture needs X (or a fitted model) to lay out its blocks")
        cols = self._resolve_columns(int(d))
        names = getattr(self, "feature_names_in_", None)
        return MixedFamily(tuple(zip(self._block_families(), cols, strict=True)), int(d),
                           self.missing == "marginalize",
                           None if names is None else tuple(str(n) for n in names))

    @property
    def block_params_(self) -> list:
        """Parameters of every block, without the ``"b{b}_"`` prefix (list of dict)."""
        check_is_fitted(self)
        params = self._fitted_params()
        return [block_view(params, b) for b in range(len(self._block_specs()))]


__all__ = ["MixedMixture"]
