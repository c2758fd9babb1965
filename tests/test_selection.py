"""emkit.select_model: the table against independent recomputation, and its choices."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import multivariate_normal, poisson

import emkit
from emkit.datasets import load_faithful

KEYS = {
    "covariance_type", "n_components", "criterion", "value", "log_likelihood", "n_parameters",
    "converged", "degenerate", "best", "start", "monotone", "error", "model",
}


@pytest.fixture(scope="module")
def faithful():
    return load_faithful()


@pytest.fixture(scope="module")
def faithful_selection(faithful):
    return emkit.select_model(faithful, random_state=0)


def full_covariances(model):
    """Every component's covariance as a (K, d, d) array, whatever the type."""
    K, d = model.means_.shape
    c = model.covariances_
    if model.covariance_type == "full":
        return c
    if model.covariance_type == "tied":
        return np.broadcast_to(c, (K, d, d))
    if model.covariance_type == "diag":
        return np.stack([np.diag(v) for v in c])
    return np.stack([v * np.eye(d) for v in c])


def independent_loglik(model, X):
    """Log-likelihood from the fitted parameters with scipy's multivariate normal."""
    covs = full_covariances(model)
    logp = np.column_stack([
        multivariate_normal(m, S).logpdf(X) + np.log(w)
        for m, S, w in zip(model.means_, covs, model.weights_, strict=True)
    ])
    return logsumexp(logp, axis=1).sum()


def n_free_parameters(cov, K, d):
    per_cov = {"full": K * d * (d + 1) // 2, "tied": d * (d + 1) // 2, "diag": K * d, "spherical": K}
    return (K - 1) + K * d + per_cov[cov]


def test_faithful_table_shape_and_choice(faithful_selection):
    best, table = faithful_selection
    assert len(table) == 9 * 4  # the defaults: 1..9 components, four covariance types
    assert [(r["covariance_type"], r["n_components"]) for r in table] == [
        (c, k) for c in ("full", "tied", "diag", "spherical") for k in range(1, 10)
    ]
    for row in table:
        assert KEYS <= row.keys()
        assert row["criterion"] == "bic" and row["error"] is None
    assert sum(r["best"] for r in table) == 1
    chosen = next(r for r in table if r["best"])
    valid = [r for r in table if not r["degenerate"]]
    assert chosen["value"] == min(r["value"] for r in valid)
    assert (best.covariance_type, best.n_components) == (
        chosen["covariance_type"], chosen["n_components"]
    )
    # mclust's answer (reference case 7): tied covariance, three components
    assert (best.covariance_type, best.n_components) == ("tied", 3)
    assert chosen["value"] == pytest.approx(2314.3, abs=0.05)
    assert chosen["log_likelihood"] == pytest.approx(-1126.32, abs=0.005)
    assert not best.degenerate_components_


def test_faithful_table_matches_recomputed_bic(faithful, faithful_selection):
    _, table = faithful_selection
    n, d = faithful.shape
    for row in table:
        model = row["model"]
        assert (model.n_components, model.covariance_type) == (
            row["n_components"], row["covariance_type"])
        assert row["value"] == pytest.approx(model.bic(faithful), rel=1e-12)
        assert row["n_parameters"] == n_free_parameters(row["covariance_type"], row["n_components"], d)
        # independent check from the parameters with scipy
        ll = independent_loglik(model, faithful)
        assert row["log_likelihood"] == pytest.approx(ll, rel=1e-9)
        bic = -2 * ll + row["n_parameters"] * math.log(n)
        assert row["value"] == pytest.approx(bic, rel=1e-9)
        assert row["converged"] == model.converged_
        # the kept fit is never worse than the estimator's own default fit of the cell
        default = emkit.GaussianMixture(
            row["n_components"], covariance_type=row["covariance_type"], random_state=0
        ).fit(faithful)
        if not default.degenerate_components_:
            assert ll >= independent_loglik(default, faithful) - 1e-9 * abs(ll)


def test_best_model_matches_scipy_bic(faithful, faithful_selection):
    best, _ = faithful_selection
    n, d = faithful.shape
    p = n_free_parameters(best.covariance_type, best.n_components, d)
    expected = -2 * independent_loglik(best, faithful) + p * math.log(n)
    assert best.bic(faithful) == pytest.approx(expected, rel=1e-9)


def test_aic_criterion(faithful):
    best, table = emkit.select_model(
        faithful, n_components=[1, 2, 3], covariance_types=["diag", "full"], criterion="aic",
        random_state=0,
    )
    assert len(table) == 6 and all(r["criterion"] == "aic" for r in table)
    for row in table:
        ll = row["log_likelihood"]
        assert row["value"] == pytest.approx(-2 * ll + 2 * row["n_parameters"], rel=1e-12)
    # the table's value and a recomputation may differ in the last bit
    assert best.aic(faithful) == pytest.approx(min(r["value"] for r in table), rel=1e-14)


def test_degenerate_candidate_never_chosen():
    rng = np.random.default_rng(0)
    # a smooth bulk plus one value repeated many times: an extra component
    # collapses onto the repeated value and its likelihood explodes
    X = np.r_[rng.normal(0, 1, 200), np.full(30, 5.0)][:, None]
    best, table = emkit.select_model(X, n_components=[1, 2, 3], covariance_types="full", random_state=0)
    degenerate = [r for r in table if r["degenerate"]]
    assert degenerate, "the repeated value should make some candidate degenerate"
    chosen = next(r for r in table if r["best"])
    assert not chosen["degenerate"] and not best.degenerate_components_
    # the degenerate fit would have won on BIC alone
    assert min(r["value"] for r in degenerate) < chosen["value"]
    # its DegenerateComponentWarning was recorded (and not emitted: warnings are errors here)
    assert all(any("collapsed" in w for w in r["warnings"]) for r in degenerate)


def test_all_degenerate_raises():
    X = np.r_[np.full(20, 1.0), np.full(20, 2.0), np.full(20, 3.0)][:, None]
    with pytest.raises(ValueError, match="no candidate could be chosen"):
        emkit.select_model(X, n_components=[3], covariance_types="full", random_state=0)


def test_failed_candidate_is_recorded():
    X = np.random.default_rng(2).normal(size=(6, 2))
    best, table = emkit.select_model(X, n_components=[1, 10], covariance_types="full", random_state=0)
    assert best.n_components == 1
    failed = table[1]
    assert failed["n_components"] == 10 and not failed["best"]
    assert "larger than the number of samples" in failed["error"]
    assert failed["value"] is None and failed["degenerate"] is None


def test_convergence_warnings_recorded(faithful):
    _, table = emkit.select_model(
        faithful, n_components=[3], covariance_types="full", max_iter=1, tol=0.0, random_state=0
    )
    assert table[0]["converged"] is False
    assert any("did not converge" in w for w in table[0]["warnings"])


def test_sample_weight_equals_repeated_rows(faithful):
    w = np.random.default_rng(4).integers(1, 4, len(faithful))
    best, table = emkit.select_model(
        faithful, n_components=[1, 2], covariance_types=["full"], sample_weight=w, random_state=0
    )
    repeated = np.repeat(faithful, w, axis=0)
    chosen = next(r for r in table if r["best"])
    # BIC of the weighted fit equals the BIC the same model gets on the repeated data
    assert chosen["value"] == pytest.approx(best.bic(repeated), rel=1e-10)


def test_callback_sees_every_candidate(faithful):
    seen = []
    emkit.select_model(faithful, n_components=[1, 2], covariance_types=["diag", "tied"],
                       random_state=0, callback=seen.append)
    assert [(s["index"], s["total"]) for s in seen] == [(i, 4) for i in range(4)]
    assert [(s["covariance_type"], s["n_components"]) for s in seen] == [
        ("diag", 1), ("diag", 2), ("tied", 1), ("tied", 2)
    ]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"criterion": "hqc"}, "criterion must be 'bic', 'aic' or 'icl'"),
        ({"family": "gamma"}, "family must be one of"),
        ({"covariance_types": ["full", "banded"]}, "covariance type must be one of"),
        ({"n_components": [0, 1]}, "integers >= 1"),
        ({"n_components": []}, "n_components is empty"),
    ],
)
def test_bad_arguments(faithful, kwargs, match):
    with pytest.raises(ValueError, match=match):
        emkit.select_model(faithful, **kwargs)


@pytest.mark.parametrize("name", [n for n in ["PoissonMixture"] if hasattr(emkit, n)])
def test_poisson_family(name):
    rng = np.random.default_rng(6)
    rates = np.array([[1.0, 2.0], [8.0, 12.0]])
    z = rng.integers(0, 2, 400)
    X = rng.poisson(rates[z]).astype(float)
    best, table = emkit.select_model(X, n_components=[1, 2, 3], family="poisson", random_state=0)
    assert isinstance(best, getattr(emkit, name))
    assert all(r["covariance_type"] is None for r in table) and len(table) == 3
    assert best.n_components == 2
    for row in table:
        model = row["model"]
        assert isinstance(model, getattr(emkit, name)) and model.n_components == row["n_components"]
        ll = logsumexp(
            poisson.logpmf(X[:, None, :], model.rates_[None]).sum(axis=2) + np.log(model.weights_),
            axis=1,
        ).sum()
        p = row["n_components"] * (1 + X.shape[1]) - 1
        assert row["n_parameters"] == p
        assert row["value"] == pytest.approx(-2 * ll + p * math.log(len(X)), rel=1e-9)
