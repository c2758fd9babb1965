"""missing="marginalize" on dask arrays: the same fits and scores as on NumPy arrays."""

import warnings

import dask.array as da
import numpy as np
import pytest

import emkit
from emkit import MixedMixture


def _table(n=600, seed=0):
    rng = np.random.default_rng(seed)
    z = rng.choice(3, n, p=[0.3, 0.3, 0.4])
    X = np.c_[rng.normal(np.array([[0, 0], [3, 1], [6, -1]])[z], 1.0),
              rng.poisson(np.array([1.0, 4.0, 9.0])[z]),
              rng.random(n) < np.array([0.2, 0.8, 0.5])[z]].astype(float)
    X[rng.random(X.shape) < 0.15] = np.nan
    X[np.isnan(X).all(axis=1), 2] = 1.0
    return X


CASES = [
    (MixedMixture, {"blocks": [("gaussian", [0, 1]), ("poisson", [2]), ("bernoulli", [3])]}, slice(None)),
    (emkit.GaussianMixture, {"covariance_type": "full"}, slice(0, 2)),
    (emkit.GaussianMixture, {"covariance_type": "diag"}, slice(0, 2)),
    (emkit.PoissonMixture, {}, slice(2, 3)),
]


@pytest.mark.parametrize("cls,kw,cols", CASES)
def test_dask_fit_and_scores_equal_numpy(cls, kw, cols):
    X = _table()[:, cols]
    opts = dict(missing="marginalize", random_state=0, tol=0.0, max_iter=12, acceleration=None,
                init_params="kmeans", **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", emkit.ConvergenceWarning)
        a = cls(3, **opts).fit(X)
        b = cls(3, **opts).fit(da.from_array(X, chunks=(130, -1)))
    np.testing.assert_allclose(b.history_, a.history_, rtol=1e-10)
    Xd = da.from_array(X, chunks=(97, -1))
    # a row with no observed cell scores log 1 = 0 (to rounding)
    np.testing.assert_allclose(np.asarray(b.score_samples(Xd)), a.score_samples(X), rtol=1e-10,
                               atol=1e-12)
    np.testing.assert_array_equal(np.asarray(b.predict(Xd)), a.predict(X))


def test_dask_inf_cell_is_named():
    X = _table()[:, :2]
    X[301, 1] = np.inf
    with pytest.raises(ValueError, match="inf at row 301, column 1"):
        emkit.GaussianMixture(2, missing="marginalize").fit(da.from_array(X, chunks=(100, -1)))
