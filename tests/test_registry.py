"""The family registry and the protocol the layers above the engine read."""

import pathlib
import re

import numpy as np
import pytest
from scipy import stats

import emkit
from emkit import registry
from emkit.families._describe import Description

SRC = pathlib.Path(emkit.__file__).parent


def test_registry_lists_every_family_and_its_estimator():
    fams = registry.families()
    assert {"gaussian", "bernoulli", "binomial", "poisson", "categorical"} <= set(fams)
    for name, fam in fams.items():
        cls = registry.estimator_class(name)
        assert cls.__name__ == fam.estimator_name
        assert registry.family_of(cls) is fam
        assert getattr(emkit, fam.estimator_name) is cls
    with pytest.raises(ValueError, match="family must be one of"):
        registry.get("weibull")


def _layer_sources():
    for folder in ("cli", "plotting"):
        yield from (SRC / folder).rglob("*.py")
    yield SRC / "selection.py"


def test_layers_above_the_engine_do_not_dispatch_on_family_names():
    names = "|".join(list(registry.families()) + [f.estimator_name for f in registry.families().values()])
    dispatch = re.compile(
        rf"""(==|!=|\bin\b|startswith\()\s*\(?\s*["']({names})["']|["']({names})["']\s*(==|!=)"""
    )
    # nor name one at all: a quoted family or estimator name (a default, a dict key,
    # a returned name) is family knowledge that belongs in the family's registry entry
    named = re.compile(rf"""["']({names})["']""")
    for path in _layer_sources():
        text = path.read_text()
        assert not dispatch.search(text), f"{path}: {dispatch.search(text).group(0)}"
        assert not named.search(text), f"{path}: {named.search(text).group(0)}"
        assert "COVARIANCE_TYPES" not in text, path
        assert "__name__.lower()" not in text, path


def _fitted(name, rng):
    n = 300
    z = rng.random(n) < 0.4
    if name == "gaussian":
        X = np.where(z[:, None], rng.normal(0, 1, (n, 2)), rng.normal(4, 0.5, (n, 2)))
        return emkit.GaussianMixture(2, random_state=0).fit(X), X, {}
    if name == "bernoulli":
        X = (rng.random((n, 3)) < np.where(z, 0.8, 0.2)[:, None]).astype(float)
        return emkit.BernoulliMixture(2, random_state=0).fit(X), X, {}
    if name == "binomial":
        trials = rng.integers(4, 9, n)
        X = rng.binomial(trials, np.where(z, 0.2, 0.7))[:, None].astype(float)
        return emkit.BinomialMixture(2, random_state=0).fit(X, n_trials=trials), X, {"n_trials": trials}
    if name == "poisson":
        X = rng.poisson(np.where(z, 2.0, 9.0)[:, None], (n, 2)).astype(float)
        return emkit.PoissonMixture(2, random_state=0).fit(X), X, {}
    X = np.where(z[:, None], rng.integers(0, 2, (n, 2)), rng.integers(2, 4, (n, 2))).astype(float)
    return emkit.CategoricalMixture(2, random_state=0).fit(X), X, {}


@pytest.mark.parametrize("name", ["gaussian", "bernoulli", "binomial", "poisson", "categorical"])
def test_marginal_density_matches_scipy(name):
    model, X, kw = _fitted(name, np.random.default_rng(4))
    fam, params = model._fitted_family(), model._fitted_params()
    aux = model._predict_data(X, kw).aux
    j = 0
    lo, hi = fam.marginal_range(params, j, X[:, j], aux)
    if fam.data_kind == "continuous":
        x = np.linspace(lo, hi, 7)
        cov = model.covariances_[:, j, j]
        ref = stats.norm.pdf(x[None], model.means_[:, j, None], np.sqrt(cov)[:, None])
    else:
        x = np.arange(int(hi) + 1)
        if name == "bernoulli":
            ref = stats.bernoulli.pmf(x[None], model.probs_[:, j, None])
        elif name == "poisson":
            ref = stats.poisson.pmf(x[None], model.rates_[:, j, None])
        elif name == "categorical":
            ref = model.probs_[:, j, :]
        else:  # average of the pmf over the rows' numbers of trials
            ref = np.mean([stats.binom.pmf(x[None], t, model.probs_[:, j, None])
                           for t in kw["n_trials"]], axis=0)
        assert hi >= X[:, j].max()
    got = fam.marginal_density(x, params, j, aux)
    assert got.shape == (2, x.size)
    np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-300)


@pytest.mark.parametrize("name", ["gaussian", "bernoulli", "binomial", "poisson", "categorical"])
def test_describe_shows_the_fitted_parameters(name):
    model, X, _ = _fitted(name, np.random.default_rng(5))
    desc = model._fitted_family().describe(model._fitted_params())
    assert isinstance(desc, Description)
    for p in model._fitted_family().param_names:
        np.testing.assert_array_equal(desc.fields[p], getattr(model, model._param_attrs[p]))
    K, d = model.n_components, model.n_features_in_
    for col in desc.columns:
        assert col.values is None or np.shape(col.values) in ((K, d), (K,))
    if name == "gaussian":
        sd = next(c for c in desc.columns if c.label == "sd").values
        np.testing.assert_allclose(sd, np.sqrt(np.einsum("kii->ki", model.covariances_)))
        assert desc.summary == ("full covariance",)


def test_column_kinds_choose_the_most_specific_family():
    """--family auto reads the registry: each family lists the column kinds it models."""
    kinds = [k.name for k in registry.COLUMN_KINDS]
    texts = [k.name for k in registry.TEXT_KINDS]
    for fam in registry.families().values():
        assert set(fam.column_kinds) <= set(kinds + texts), fam.name
    # text columns: two labels are Bernoulli (0/1), more are categories
    assert registry.text_kind(1).name == registry.text_kind(2).name == "two labels"
    assert registry.text_kind(3).name == "labels"
    assert [f.name for f in registry.families_for_column("two labels")] == ["bernoulli",
                                                                             "categorical"]
    assert [f.name for f in registry.families_for_column("labels")] == ["categorical"]
    # every kind has a family, and the most general kind's family models every kind
    assert all(registry.families_for_column(k) for k in kinds)
    general = registry.families_for_column(kinds[-1])[0]
    assert set(general.column_kinds) == set(kinds)
    cases = {
        "binary": [0.0, 1.0, np.nan, 1.0],
        "count": [0.0, 3.0, 7.0, np.nan],
        "real": [0.5, -2.0, 3.0],
    }
    for kind, values in cases.items():
        assert registry.column_kind(np.array(values)).name == kind
        fams = registry.families_for_column(kind)
        assert [len(f.column_kinds) for f in fams] == sorted(len(f.column_kinds) for f in fams)
    assert registry.column_kind(np.array([np.nan, np.nan])).name == kinds[-1]
    assert registry.column_kind(np.array([-1.0, 2.0])).name == kinds[-1]  # negative: not a count
    with pytest.raises(ValueError, match="no registered family models 'ordinal' columns"):
        registry.families_for_column("ordinal")
