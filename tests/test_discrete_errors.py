"""Bad input to the discrete mixtures: clear ValueErrors naming value, row and column."""

import numpy as np
import pytest
from _discrete_helpers import known_model

import emkit

GOOD = np.array([[0, 1, 1], [1, 0, 1], [1, 1, 0], [0, 0, 1]])


def _with(value, row=2, col=1, base=GOOD):
    X = base.astype(float)
    X[row, col] = value
    return X


# ------------------------------------------------------------ support
@pytest.mark.parametrize(
    "cls,ctor,X,match",
    [
        (emkit.BernoulliMixture, {}, _with(2), r"\{0, 1\}.*X\[2, 1\] = 2 \(row 2, column 1\)"),
        (emkit.BernoulliMixture, {}, _with(0.5), r"X\[2, 1\] = 0\.5 \(row 2, column 1\)"),
        (emkit.BernoulliMixture, {}, _with(-1, 3, 0), r"X\[3, 0\] = -1 \(row 3, column 0\)"),
        (emkit.BinomialMixture, {"n_trials": 5}, _with(-2), r"non-negative integer.*X\[2, 1\] = -2 is negative \(row 2, column 1\)"),
        (emkit.BinomialMixture, {"n_trials": 5}, _with(1.5), r"X\[2, 1\] = 1\.5 is not an integer \(row 2, column 1\)"),
        (emkit.BinomialMixture, {"n_trials": 5}, _with(6, 0, 2), r"successes exceed trials: X\[0, 2\] = 6 but n_trials is 5 \(row 0, column 2\)"),
        (emkit.PoissonMixture, {}, _with(-3, 1, 2), r"non-negative integer counts; X\[1, 2\] = -3 is negative \(row 1, column 2\)"),
        (emkit.PoissonMixture, {}, _with(2.25), r"X\[2, 1\] = 2\.25 is not an integer \(row 2, column 1\)"),
        (emkit.CategoricalMixture, {}, _with(-1), r"X\[2, 1\] = -1 is negative \(row 2, column 1\)"),
        (emkit.CategoricalMixture, {}, _with(0.5), r"X\[2, 1\] = 0\.5 is not an integer \(row 2, column 1\)"),
        (emkit.CategoricalMixture, {"n_categories": 2}, _with(2, 3, 2),
         r"category code X\[3, 2\] = 2 \(row 3, column 2\) is not below n_categories = 2; codes must lie in 0 \.\. 1"),
    ],
)
def test_values_outside_the_support(cls, ctor, X, match):
    with pytest.raises(ValueError, match=match):
        cls(2, **ctor).fit(X)


@pytest.mark.parametrize("cls,ctor", [
    (emkit.BernoulliMixture, {}),
    (emkit.BinomialMixture, {"n_trials": 5}),
    (emkit.PoissonMixture, {}),
    (emkit.CategoricalMixture, {}),
])
@pytest.mark.parametrize("value,kind", [(np.nan, "NaN"), (np.inf, "inf"), (-np.inf, "inf")])
def test_nan_and_inf_name_row_and_column(cls, ctor, value, kind):
    with pytest.raises(ValueError, match=rf"X contains {kind} .*first at row 2, column 1"):
        cls(2, **ctor).fit(_with(value))


@pytest.mark.parametrize(
    "cls,ctor,X_bad,match",
    [
        (emkit.BernoulliMixture, {}, [[0, 3, 1]], r"X\[0, 1\] = 3 \(row 0, column 1\)"),
        (emkit.PoissonMixture, {}, [[0, 1, 1], [0, -1, 0]], r"X\[1, 1\] = -1 is negative \(row 1, column 1\)"),
        (emkit.CategoricalMixture, {}, [[0, 1, 2]], r"category code X\[0, 2\] = 2 \(row 0, column 2\) is not below the fitted n_categories_ = 2"),
        (emkit.BinomialMixture, {"n_trials": 3}, [[0, 1, 4]], r"successes exceed trials: X\[0, 2\] = 4 but n_trials is 3 \(row 0, column 2\)"),
    ],
)
@pytest.mark.parametrize("method", ["predict", "predict_proba", "score_samples", "score", "component_log_densities"])
def test_support_is_checked_after_fitting_too(cls, ctor, X_bad, match, method):
    est = cls(2, random_state=0, **ctor).fit(GOOD)
    with pytest.raises(ValueError, match=match):
        getattr(est, method)(np.asarray(X_bad))


# ------------------------------------------------------- binomial trials
def test_binomial_without_trials_says_what_is_expected():
    msg = (r"BinomialMixture needs the number of trials: pass n_trials=<int> to the constructor, or "
           r"n_trials=<int or array of shape \(4,\) or \(4, 3\)> to fit")
    with pytest.raises(ValueError, match=msg):
        emkit.BinomialMixture(2).fit(GOOD)


def test_binomial_predict_without_trials_says_what_is_expected():
    est = emkit.BinomialMixture(2, random_state=0).fit(GOOD, n_trials=4)
    with pytest.raises(ValueError, match=r"needs the number of trials.*\(2,\) or \(2, 3\)> to predict/score"):
        est.predict(GOOD[:2])
    with pytest.raises(ValueError, match=r"needs the number of trials.*to sample"):
        est.sample(3)


@pytest.mark.parametrize("n_trials", [np.full(3, 5), np.full((4, 2), 5), np.full((5, 3), 5), np.full((4, 3, 1), 5)])
def test_binomial_trials_of_the_wrong_shape(n_trials):
    shape = str(n_trials.shape).replace("(", r"\(").replace(")", r"\)")
    msg = (rf"n_trials has shape {shape}, but X has shape \(4, 3\): pass an int, an array of shape "
           r"\(4,\) with the trials of every row, or \(4, 3\) with the trials of every cell")
    with pytest.raises(ValueError, match=msg):
        emkit.BinomialMixture(2).fit(GOOD, n_trials=n_trials)


@pytest.mark.parametrize(
    "n_trials,match",
    [
        (np.array([5, 5, -1, 5]), r"n_trials\[2, 0\] = -1 \(row 2, column 0\)"),
        (np.array([5, 5, 5, 2.5]), r"n_trials\[3, 0\] = 2\.5 \(row 3, column 0\)"),
        (np.array([5, np.nan, 5, 5]), r"n_trials\[1, 0\] = nan \(row 1, column 0\)"),
    ],
)
def test_binomial_trials_must_be_non_negative_integers(n_trials, match):
    with pytest.raises(ValueError, match=r"n_trials must hold non-negative integers; " + match):
        emkit.BinomialMixture(2).fit(GOOD, n_trials=n_trials)


def test_binomial_successes_above_per_row_trials():
    with pytest.raises(ValueError, match=r"X\[1, 0\] = 1 but n_trials is 0 \(row 1, column 0\)"):
        emkit.BinomialMixture(2).fit(GOOD, n_trials=np.array([1, 0, 1, 1]))
    N = np.ones((4, 3), int)
    N[2, 1] = 0
    with pytest.raises(ValueError, match=r"X\[2, 1\] = 1 but n_trials is 0 \(row 2, column 1\)"):
        emkit.BinomialMixture(2).fit(GOOD, n_trials=N)


@pytest.mark.parametrize("bad", [-1, 2.5, "10", True])
def test_binomial_constructor_trials_must_be_an_int(bad):
    with pytest.raises(ValueError, match=r"n_trials must be an integer >= 0"):
        emkit.BinomialMixture(2, n_trials=bad).fit(GOOD)


def test_unexpected_keyword_is_a_type_error():
    with pytest.raises(TypeError, match="unexpected keyword argument.*trials"):
        emkit.PoissonMixture(2).fit(GOOD, trials=3)
    with pytest.raises(TypeError, match="unexpected keyword argument.*trial"):
        emkit.BinomialMixture(2).fit(GOOD, n_trials=3, trial=3)


# ------------------------------------------------------- parameters
@pytest.mark.parametrize(
    "cls,kwargs,match",
    [
        (emkit.BernoulliMixture, {"fixed": ("rates",)},
         r"fixed contains 'rates'; BernoulliMixture can hold fixed only 'weights', 'probs'"),
        (emkit.PoissonMixture, {"fixed": ("probs",)},
         r"fixed contains 'probs'; PoissonMixture can hold fixed only 'weights', 'rates'"),
        (emkit.BernoulliMixture, {"probs_init": [[0.5, 0.5, 0.5]]},
         r"probs_init has shape \(1, 3\), but shape \(2, 3\) is needed \(n_components, n_features\)"),
        (emkit.BernoulliMixture, {"probs_init": [[0.5, 1.5, 0.5], [0.5, 0.5, 0.5]]},
         r"probs_init must hold probabilities in \[0, 1\]; probs_init\[0, 1\] = 1\.5"),
        (emkit.BinomialMixture, {"n_trials": 2, "probs_init": [[0.5, 0.5, np.nan], [0.5, 0.5, 0.5]]},
         r"probs_init\[0, 2\] = nan"),
        (emkit.PoissonMixture, {"rates_init": [[1.0, -2.0, 1.0], [1.0, 1.0, 1.0]]},
         r"rates_init must be finite and non-negative; rates_init\[0, 1\] = -2"),
        (emkit.PoissonMixture, {"rates_init": [[1.0, 1.0], [1.0, 1.0]]},
         r"rates_init has shape \(2, 2\), but shape \(2, 3\) is needed"),
        (emkit.CategoricalMixture, {"probs_init": np.full((2, 3, 2), 0.4)},
         r"probs_init\[0, 0\] must sum to 1 over the categories, but sums to 0\.8"),
        (emkit.CategoricalMixture, {"n_categories": 3, "probs_init": np.full((2, 3, 2), 0.5)},
         r"probs_init has shape \(2, 3, 2\), but shape \(2, 3, 3\) is needed"),
        (emkit.CategoricalMixture, {"n_categories": 0}, r"n_categories must be an integer >= 1"),
        (emkit.BernoulliMixture, {"weights_init": [0.2, 0.2]}, r"weights_init must sum to 1"),
        (emkit.PoissonMixture, {"n_components": 5}, r"n_components=5 is larger than the number of samples \(4\)"),
    ],
)
def test_bad_parameters(cls, kwargs, match):
    kwargs = {"n_components": 2, **kwargs}
    with pytest.raises(ValueError, match=match):
        cls(**kwargs).fit(GOOD)


def test_categorical_probs_init_sets_the_number_of_categories():
    est = emkit.CategoricalMixture(2, probs_init=np.full((2, 3, 4), 0.25), random_state=0).fit(GOOD)
    assert est.n_categories_ == 4


def test_categorical_warm_start_with_more_categories_is_refused():
    est = emkit.CategoricalMixture(2, warm_start=True, random_state=0).fit(GOOD)
    with pytest.raises(ValueError, match=r"warm_start: the fitted model has 2 categories but n_categories=3 now"):
        est.set_params(n_categories=3).fit(GOOD)


def test_sample_checks_its_arguments():
    est = known_model(emkit.BinomialMixture, [0.5, 0.5], np.full((2, 3), 0.5), GOOD, n_trials=2)
    with pytest.raises(ValueError, match=r"n_trials has shape \(4,\), but X has shape \(5, 3\)"):
        est.sample(5, n_trials=np.ones(4))
    with pytest.raises(ValueError, match=r"n_samples must be an integer >= 1"):
        est.sample(0)
    with pytest.raises(TypeError, match="unexpected keyword"):
        emkit.PoissonMixture(2).fit(GOOD).sample(3, n_trials=2)
