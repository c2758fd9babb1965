"""scikit-learn compatible Gaussian mixture on the emkit engine."""

from __future__ import annotations

from ..families.gaussian import GaussianFamily
from ._base import BaseMixture
from ._docs import RUN_ATTRS_DOC, RUNS_DOC, TOL_DOC


class GaussianMixture(BaseMixture):
    __doc__ = ("""Gaussian mixture fitted by EM, a drop-in for scikit-learn's estimator.

    Parameters shared with :class:`sklearn.mixture.GaussianMixture` mean the
    same thing.  The E-step and M-step are fused and run over row chunks, so
    memory beyond ``X`` is bounded by ``chunk_size``.

    Parameters
    ----------
    n_components : int, default=1
        Number of mixture components.
    covariance_type : str, default="full"
        ``"full"``, ``"tied"``, ``"diag"`` or ``"spherical"`` (scikit-learn's
        names and storage), or one of mclust's fourteen models ``"EII"``,
        ``"VII"``, ``"EEI"``, ``"VEI"``, ``"EVI"``, ``"VVI"``, ``"EEE"``,
        ``"VEE"``, ``"EVE"``, ``"VVE"``, ``"EEV"``, ``"VEV"``, ``"EVV"``,
        ``"VVV"`` (volume, shape and orientation Equal, Variable or Identity;
        Celeux & Govaert 1995), or with one feature ``"E"`` / ``"V"``.  full =
        VVV, tied = EEE, diag = VVI and spherical = VII give the same fits;
        the mclust names store covariances as (K, d, d) stacks.
""" + TOL_DOC + """    reg_covar : float, default=1e-6
        Non-negative floor on the diagonal of every covariance, relative to
        the data: ``reg_covar * var_j`` is added to entry ``j``, with
        ``var_j`` the (weighted) variance of feature ``j`` (one scale, the
        mean variance, for spherical and mclust models), so fitting
        ``c * X + b`` gives the transformed fit of ``X`` at any scale.  The
        degeneracy test is measured in the same units.
    reg_covar_relative : bool, default=True
        False adds ``reg_covar`` itself, as scikit-learn does (its fits are
        then reproduced exactly; results depend on the units of ``X``).
""" + RUNS_DOC + """    init_params : {"auto", "mbhac", "kmeans", "k-means++", "random", "random_from_data"}, default="auto"
        How runs start.  ``"auto"``: short EM runs from model-based
        hierarchical agglomeration (Fraley 1998, mclust's start), k-means and
        random rows on a subsample of at most 2,000 rows, the best two
        continued to convergence on all rows, mclust's start among them
        (emEM, Biernacki, Celeux & Govaert 2003; see
        :mod:`emkit.engine.starts`).  ``"mbhac"``: mclust's start alone, the
        partition of the unconstrained (VVV) agglomeration on its scaled-SVD
        coordinates, on at most 1,000 rows (deterministic; see
        :mod:`emkit.engine.hcvvv`).  The others are scikit-learn's single
        starts.
    weights_init : array-like of shape (n_components,), default=None
    means_init : array-like of shape (n_components, n_features), default=None
    precisions_init : array-like, default=None
        Inverse covariances; shape (K, d, d) full, (d, d) tied, (K, d) diag,
        (K,) spherical, (K, d, d) for every mclust model name.
    random_state : int, RandomState instance or None, default=None
    warm_start : bool, default=False
        Start the next ``fit`` from the current parameters (``n_init`` is
        then ignored).
    verbose : int, default=0
        1 logs each initialisation, 2 also every ``verbose_interval``
        iterations, through the ``"emkit"`` logger.
    verbose_interval : int, default=10
    fixed : sequence of str, default=()
        Parameters held at their initial values: any of ``"weights"``,
        ``"means"``, ``"covariances"``.
    chunk_size : int or None, default=None
        Rows processed at once; ``None`` keeps temporaries near 32 MiB.
    acceleration : {None, "squarem"}, default="squarem"
        ``"squarem"`` extrapolates EM steps (Varadhan & Roland, 2008) with the
        same stopping rule and never more than ``max_iter`` data passes; it
        reaches the optimum in several times fewer passes where EM crawls
        (benchmarks/README.md).  ``None`` runs plain EM.
    missing : {"error", "marginalize"}, default="error"
        What a missing cell (NaN) means: an error naming it, or a cell
        integrated out under missingness at random.  With ``"marginalize"``
        the E-step uses each row's observed cells (their marginal density).
        Full and tied covariances: the conditional mean and covariance of
        its missing cells given the observed ones, and the M-step adds that
        conditional covariance (Ghahramani & Jordan 1994; Little & Rubin
        2002, ch. 11).  Diagonal and spherical ones: the features are
        independent given the component, so a missing cell's factor is
        dropped and each feature's M-step weighs the rows that observe it
        (the same likelihood, fewer and cheaper passes).  ``score_samples`` is then the log density of each
        row's observed cells and ``predict`` works on incomplete rows.

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
    means_ : ndarray of shape (n_components, n_features)
    covariances_ : ndarray
        Shape as for ``precisions_init``.
    precisions_ : ndarray
    precisions_cholesky_ : ndarray
""" + RUN_ATTRS_DOC + """    volume_ : ndarray of shape (n_components,)
        ``det(covariance_k) ** (1 / d)``.
    shape_ : ndarray of shape (n_components, n_features)
        Eigenvalues of each covariance over its volume (determinant 1);
        in feature order for diagonal models, else decreasing.
    orientation_ : ndarray of shape (n_components, n_features, n_features)
        Eigenvectors of each covariance as columns (identity for diagonal
        models).
    degenerate_components_ : list of int
        Components that collapsed onto a spurious maximum.
    n_features_in_ : int

    References
    ----------
    Dempster, A. P., Laird, N. M. and Rubin, D. B. (1977). Maximum likelihood
    from incomplete data via the EM algorithm. JRSS-B 39(1):1-38.
    Ghahramani, Z. and Jordan, M. I. (1994). Supervised learning from
    incomplete data via an EM approach. NIPS 6, 120-127.

    Examples
    --------
    >>> import numpy as np
    >>> from emkit import GaussianMixture
    >>> X = np.r_[np.random.default_rng(0).normal(0, 1, (100, 2)),
    ...           np.random.default_rng(1).normal(5, 1, (100, 2))]
    >>> gm = GaussianMixture(2, random_state=0).fit(X)
    >>> np.sort(gm.means_[:, 0]).round().astype(int)
    array([0, 5])
    """)

    _family_type = GaussianFamily
    _param_attrs = {
        "means": "means_",
        "covariances": "covariances_",
        "precisions_cholesky": "precisions_cholesky_",
    }

