"""Estimators of the discrete families: Bernoulli, binomial, Poisson, categorical.

Each is its documentation, its family and the names of its fitted
attributes; the constructor is generated (:mod:`emkit.mixture._factory`) and
everything else is :class:`~emkit.mixture._base.BaseMixture` and the family
(support checks naming value, row and column; initial values; side data).
"""

from __future__ import annotations

from ..families.bernoulli import BernoulliFamily
from ..families.binomial import BinomialFamily
from ..families.categorical import CategoricalFamily
from ..families.poisson import PoissonFamily
from ._base import BaseMixture
from ._docs import RUN_ATTRS_DOC, RUNS_DOC, TOL_DOC


_COMMON_DOC = TOL_DOC + RUNS_DOC + """    init_params : {"auto", "kmeans", "k-means++", "random", "random_from_data"}, default="auto"
        How runs start.  ``"auto"``: short EM runs from several k-means and
        random-row starts on at most 2,000 rows, the best two continued to
        convergence (emEM, Biernacki, Celeux & Govaert 2003; see
        :mod:`emkit.engine.starts`).  The others are scikit-learn's: k-means
        on the rows, k-means++ seeds, random soft responsibilities, random
        rows as centres.  Hard labels are softened by mixing in 10% uniform
        mass, so initial probabilities are never exactly 0 or 1 unless the
        data is.
    weights_init : array-like of shape (n_components,), default=None
    random_state : int, RandomState instance or None, default=None
    warm_start : bool, default=False
        Start the next ``fit`` from the current parameters.
    verbose : int, default=0
    verbose_interval : int, default=10
    fixed : sequence of str, default=()
        Parameters held at their initial values: ``"weights"`` and/or ``"{p}"``.
    chunk_size : int or None, default=None
        Rows processed at once; ``None`` keeps temporaries near 32 MiB.
    acceleration : {None, "squarem"}, default="squarem"
        ``"squarem"`` extrapolates EM steps (Varadhan & Roland 2008), with
        the same stopping rule and never more than ``max_iter`` data passes;
        ``None`` runs plain EM.
    missing : {"error", "marginalize"}, default="error"
        What a missing cell (NaN) means: an error naming it, or a cell
        integrated out under missingness at random.  With ``"marginalize"``
        a missing cell's factor is dropped from every component's density
        (``score_samples`` is the log density of each row's observed cells,
        ``predict`` works on incomplete rows) and each feature's M-step uses
        the rows that observe it (:mod:`emkit.families._cells`).
"""

_ATTR_DOC = RUN_ATTRS_DOC + """    n_features_in_ : int
"""


def _sections(p: str, init: str, attr: str, *, shape: str = "(n_components, n_features)",
              settings: str = "", attrs: str = "") -> str:
    """The Parameters and Attributes sections of a discrete estimator's docstring.

    ``p`` names its parameter array (``{p}_init``, ``{p}_``) of ``shape``;
    ``init`` and ``attr`` describe them; ``settings`` documents constructor
    parameters before ``{p}_init`` and ``attrs`` fitted attributes after
    ``{p}_`` (numpydoc lines, indented four spaces).
    """
    attr = f"\n        {attr}" if attr else ""
    return f"""    Parameters
    ----------
    n_components : int, default=1
{settings}    {p}_init : array-like of shape {shape}, default=None
        {init}
{_COMMON_DOC.replace("{p}", p)}
    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
    {p}_ : ndarray of shape {shape}{attr}
{attrs}{_ATTR_DOC}"""


#: the n_trials parameter of BinomialMixture
_TRIALS_DOC = """\
    n_trials : int or None, default=None
        Number of trials of every cell, when it is the same everywhere.
        Trials that differ per row are passed to ``fit`` (and to ``predict``,
        ``score``, ... ) as the keyword ``n_trials``: an int, an array of
        shape (n_samples,) (one number per row, all features) or
        (n_samples, n_features).
"""


#: the probs_init, n_categories and fitted levels of CategoricalMixture
_CATEGORICAL_INIT_DOC = """Initial category probabilities over the categories (the distinct codes
        in increasing order; over more categories than codes were seen it
        takes them as the codes ``0 .. C-1``); every ``probs_init[k, j]`` sums
        to 1."""
_CATEGORIES_DOC = """\
    n_categories : int or None, default=None
        Number of categories ``C`` shared by all features: given, the
        categories are the codes ``0 .. C-1``, observed or not (every one
        counts in BIC); ``None`` takes the distinct codes of ``X``.  At most
        ``emkit.families.categorical.MAX_CATEGORIES`` (100,000) categories:
        more distinct codes (or a larger ``n_categories``) are refused with an
        error, before anything of that size is allocated.
"""
_LEVELS_DOC = """\
    levels_ : ndarray of shape (n_categories,)
        The code of every category, increasing (int64).
    n_categories_ : int
"""


class BernoulliMixture(BaseMixture):
    __doc__ = f"""Mixture of multivariate Bernoulli distributions fitted by EM.

    Every component is a product of independent Bernoulli distributions, one
    per feature (latent class model for binary data).

{_sections("probs", "Initial probabilities of a 1.",
           "Probability of a 1 in every feature of every component.")}
    Notes
    -----
    ``X`` must hold only 0 and 1.  Probabilities of exactly 0 or 1 are valid;
    their logarithms are floored at ``log(tiny) ~ -708.4`` so scores stay finite.

    Examples
    --------
    >>> import numpy as np
    >>> from emkit import BernoulliMixture
    >>> rng = np.random.default_rng(0)
    >>> X = np.r_[rng.random((200, 4)) < .9, rng.random((200, 4)) < .1].astype(int)
    >>> bm = BernoulliMixture(2, random_state=0).fit(X)
    >>> np.round(np.sort(bm.probs_.mean(axis=1)), 1)
    array([0.1, 0.9])
    """

    _family_type = BernoulliFamily
    _param_attrs = {"probs": "probs_"}


class BinomialMixture(BaseMixture):
    __doc__ = f"""Mixture of binomial distributions (success counts) fitted by EM.

    Every component is a product of independent binomial distributions, one
    per feature, with known numbers of trials.  The two- and three-coin
    examples of Do & Batzoglou (Nature Biotechnology 26(8):897, 2008) are
    this estimator with one feature and ``n_trials=10``.

{_sections("probs", "Initial success probabilities.",
           "Success probability of every feature in every component.",
           settings=_TRIALS_DOC)}
    Notes
    -----
    Log-likelihoods include the binomial coefficients.  Probabilities of
    exactly 0 or 1 are valid; their logarithms are floored at
    ``log(tiny) ~ -708.4`` so scores stay finite.

    Examples
    --------
    The two coins of Do & Batzoglou, weights held at 0.5:

    >>> import numpy as np
    >>> from emkit import BinomialMixture
    >>> heads = np.array([[5], [9], [8], [4], [7]])
    >>> bm = BinomialMixture(2, n_trials=10, fixed=("weights",), weights_init=[.5, .5],
    ...                      probs_init=[[.6], [.5]], tol=1e-10, max_iter=1000).fit(heads)
    >>> np.round(bm.probs_.ravel(), 2)
    array([0.8 , 0.52])
    """

    _family_type = BinomialFamily
    _param_attrs = {"probs": "probs_"}


class PoissonMixture(BaseMixture):
    __doc__ = f"""Mixture of Poisson distributions (counts) fitted by EM.

    Every component is a product of independent Poisson distributions, one
    per feature.

{_sections("rates", "Initial rates (non-negative).",
           "Mean count of every feature in every component.")}
    Notes
    -----
    A rate of exactly 0 is valid; its logarithm is floored at
    ``log(tiny) ~ -708.4`` so a positive count scores finitely.

    Examples
    --------
    >>> import numpy as np
    >>> from emkit import PoissonMixture
    >>> rng = np.random.default_rng(0)
    >>> X = np.r_[rng.poisson(2, (300, 1)), rng.poisson(20, (300, 1))]
    >>> pm = PoissonMixture(2, random_state=0).fit(X)
    >>> np.round(np.sort(pm.rates_.ravel()))
    array([ 2., 20.])
    """

    _family_type = PoissonFamily
    _param_attrs = {"rates": "rates_"}


class CategoricalMixture(BaseMixture):
    __doc__ = f"""Mixture of categorical distributions (latent class model) fitted by EM.

    Every component is a product of independent categorical distributions,
    one per feature; ``X`` holds non-negative integer codes.  The categories
    are the distinct codes seen in ``X`` at ``fit`` (over all features), in
    increasing order (``levels_``): ``probs_[k, j, c]`` is the probability of
    the code ``levels_[c]``, and a code seen only at ``predict`` is an error
    (or, with ``unknown="missing"``, a missing cell).

{_sections("probs", _CATEGORICAL_INIT_DOC, "", shape="(n_components, n_features, n_categories)",
           settings=_CATEGORIES_DOC, attrs=_LEVELS_DOC)}
    Notes
    -----
    Category probabilities of exactly 0 are valid; their logarithms are
    floored at ``log(tiny) ~ -708.4`` so scores stay finite.

    References
    ----------
    Goodman, L. A. (1974). Exploratory latent structure analysis using both
    identifiable and unidentifiable models. Biometrika 61(2):215-231.

    Examples
    --------
    >>> import numpy as np
    >>> from emkit import CategoricalMixture
    >>> X = np.r_[np.zeros((50, 3), int), np.full((50, 3), 2)]
    >>> cm = CategoricalMixture(2, random_state=0).fit(X)
    >>> cm.levels_, cm.probs_.shape
    (array([0, 2]), (2, 3, 2))
    """

    _family_type = CategoricalFamily
    _param_attrs = {"probs": "probs_", "levels": "levels_"}


__all__ = ["BernoulliMixture", "BinomialMixture", "CategoricalMixture", "PoissonMixture"]
