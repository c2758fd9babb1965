"""Plots of mixed-type models: every feature drawn by its own block's family, against the model."""

import numpy as np
import pytest
from scipy import stats

from emkit import MixedMixture, plotting

pytest.importorskip("matplotlib")
from matplotlib.figure import Figure  # noqa: E402


@pytest.fixture(scope="module")
def mixed():
    rng = np.random.default_rng(0)
    n = 300
    z = rng.random(n) < 0.4
    X = np.c_[rng.normal(np.where(z, 0.0, 5.0), 1.0), rng.integers(0, 3, n),
              rng.poisson(np.where(z, 1.0, 6.0))].astype(float)
    X[rng.random(X.shape) < 0.1] = np.nan
    X[np.isnan(X).all(axis=1), 0] = 1.0
    model = MixedMixture(2, blocks=[("gaussian", [0]), ("categorical", [1]), ("poisson", [2])],
                         missing="marginalize", random_state=0).fit(X)
    return model, X


def test_each_feature_is_drawn_by_its_block(mixed):
    model, X = mixed
    w = model.weights_
    ax = plotting.plot_density_1d(model, X, feature=0, ax=Figure().add_subplot())
    line = ax.lines[-1]  # the mixture density
    x, y = line.get_xdata(), line.get_ydata()
    mu, var = model.b0_means_[:, 0], model.b0_covariances_[:, 0, 0]
    ref = sum(w[k] * stats.norm(mu[k], np.sqrt(var[k])).pdf(x) for k in range(2))
    np.testing.assert_allclose(y, ref, rtol=1e-10)
    ax = plotting.plot_pmf(model, X, feature=2, ax=Figure().add_subplot())
    support = ax.lines[-1].get_xdata()
    ref = sum(w[k] * stats.poisson(model.b2_rates_[k, 0]).pmf(support) for k in range(2))
    np.testing.assert_allclose(ax.lines[-1].get_ydata(), ref, rtol=1e-10)
    seen = X[~np.isnan(X[:, 2]), 2].astype(int)
    heights = [p.get_height() for p in ax.patches][: seen.max() + 1]
    np.testing.assert_allclose(heights, np.bincount(seen) / seen.size)
    ax = plotting.plot_pmf(model, X, feature=1, ax=Figure().add_subplot(),
                           levels=("blue", "green", "red"))
    assert [t.get_text() for t in ax.get_xticklabels()] == ["blue", "green", "red"]
    np.testing.assert_allclose(ax.lines[-1].get_ydata(), w @ model.b1_probs_[:, 0, :])
    with pytest.raises(ValueError, match=r"plot_pmf draws discrete families; for MixedMixture "
                                         r"\(feature 0 is gaussian\)"):
        plotting.plot_pmf(model, X, feature=0)


def test_plot_auto_draws_a_panel_per_feature(mixed, tmp_path):
    from matplotlib.image import imread

    model, X = mixed
    path = plotting.plot_auto(model, X, tmp_path / "m.png", feature_names=["a", "c", "n"],
                              levels={"c": ["blue", "green", "red"]}, dpi=50)
    img = imread(path)
    assert img.shape[:2] == (225, 900)  # three panels in a row (0.75 of 8 x 6 inches each)
    assert img[..., :3].std() > 0.05
