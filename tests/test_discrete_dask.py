"""The discrete mixtures on dask arrays fit and check input like on NumPy arrays."""

import dask.array as da
import numpy as np
import pytest

import emkit

RNG = np.random.default_rng(4)
COUNTS = RNG.poisson(RNG.choice([1.0, 8.0], size=(300, 1)), size=(300, 2))

CASES = [
    (emkit.BernoulliMixture, (COUNTS > 3).astype(int), {}, {}),
    (emkit.BinomialMixture, np.minimum(COUNTS, 10), {"n_trials": 10}, {}),
    (emkit.BinomialMixture, np.minimum(COUNTS, 10), {}, {"n_trials": np.full(300, 10)}),
    (emkit.PoissonMixture, COUNTS, {}, {}),
    (emkit.CategoricalMixture, np.minimum(COUNTS, 4), {}, {}),
]


@pytest.mark.parametrize("cls,X,ctor,kw", CASES)
def test_dask_fit_equals_numpy_fit(cls, X, ctor, kw):
    a = cls(2, random_state=0, tol=1e-8, **ctor).fit(X, **kw)
    b = cls(2, random_state=0, tol=1e-8, **ctor).fit(da.from_array(X, chunks=70), **kw)
    assert b.n_iter_ == a.n_iter_
    np.testing.assert_allclose(b.history_, a.history_, rtol=1e-12)
    np.testing.assert_allclose(b.score_samples(da.from_array(X, chunks=70), **kw),
                               a.score_samples(X, **kw), rtol=1e-12)


def test_dask_binomial_successes_above_trials_name_the_cell():
    X = np.minimum(COUNTS, 10).astype(float)
    X[250, 1] = 11
    with pytest.raises(ValueError, match=r"X\[250, 1\] = 11 but n_trials is 10 \(row 250, column 1\)"):
        emkit.BinomialMixture(2, n_trials=10).fit(da.from_array(X, chunks=70))


def test_dask_categorical_code_above_fitted_categories_names_the_cell():
    est = emkit.CategoricalMixture(2, random_state=0).fit(np.minimum(COUNTS, 4))
    X = np.minimum(COUNTS, 4)
    X[233, 0] = 7
    with pytest.raises(ValueError, match=r"X\[233, 0\] = 7 \(row 233, column 0\) is not below the fitted n_categories_ = 5"):
        np.asarray(est.predict(da.from_array(X, chunks=70)))  # lazy: checked as blocks compute
