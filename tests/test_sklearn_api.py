"""scikit-learn conventions: estimator checks, clone, Pipeline, GridSearchCV."""

import warnings

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import emkit
from emkit.datasets import load_faithful


@parametrize_with_checks(
    [
        emkit.GaussianMixture(random_state=0),
        emkit.GaussianMixture(n_components=2, covariance_type="diag", random_state=0),
        emkit.GaussianMixture(n_components=2, covariance_type="tied", n_init=2, random_state=0),
    ]
)
def test_sklearn_estimator_checks(estimator, check):
    # the generic checks fit tiny random data (e.g. 15 rows in 30 dimensions) whose
    # covariances are truly singular: the degenerate-component warning is correct there
    # and is tested on purpose in test_gaussian_mixture.py
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", emkit.DegenerateComponentWarning)
        check(estimator)


def test_clone_get_set_params():
    gm = emkit.GaussianMixture(3, covariance_type="diag", fixed=("weights",), chunk_size=50)
    params = gm.get_params()
    assert params["n_components"] == 3 and params["fixed"] == ("weights",)
    c = clone(gm)
    assert c is not gm and c.get_params() == params
    c.set_params(n_components=4, covariance_type="spherical")
    assert (c.n_components, c.covariance_type) == (4, "spherical")
    assert gm.n_components == 3
    fitted = emkit.GaussianMixture(2, random_state=0).fit(load_faithful())
    assert not hasattr(clone(fitted), "means_")


def test_pipeline_and_grid_search():
    X = load_faithful()
    pipe = make_pipeline(StandardScaler(), emkit.GaussianMixture(random_state=0))
    search = GridSearchCV(
        pipe,
        {"gaussianmixture__n_components": [1, 2, 3], "gaussianmixture__covariance_type": ["full", "diag"]},
        cv=3,
    )
    search.fit(X)
    # the held-out log-likelihood prefers more than one component on Old Faithful
    assert search.best_params_["gaussianmixture__n_components"] >= 2
    scores = search.cv_results_["mean_test_score"]
    assert np.all(np.isfinite(scores))
    labels = search.best_estimator_.predict(X)
    assert labels.shape == (272,)
