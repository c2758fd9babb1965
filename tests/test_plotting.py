"""Every plot function draws a non-blank PNG of the expected size."""

import numpy as np
import pytest

import emkit
from emkit import plotting
from emkit.datasets import load_faithful

mpl = pytest.importorskip("matplotlib")
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.image import imread  # noqa: E402

W, H, DPI = 6.4, 4.8, 50  # 320 x 240 pixels


@pytest.fixture(scope="module")
def faithful():
    X, names = load_faithful(return_names=True)
    return X, names


@pytest.fixture(scope="module")
def gm2(faithful):
    X, _ = faithful
    return emkit.GaussianMixture(2, random_state=0).fit(X)


def _render(tmp_path, draw, name="plot.png"):
    fig = Figure(figsize=(W, H), dpi=DPI)
    ax = fig.add_subplot()
    returned = draw(ax)
    assert returned is ax
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
    assert ax.get_legend() is not None
    path = tmp_path / name
    fig.savefig(path, dpi=DPI)
    return _check_png(path, (int(H * DPI), int(W * DPI)))


def _check_png(path, shape):
    img = imread(path)
    assert img.shape[:2] == shape
    assert img[..., :3].std() > 0.05  # not blank
    return img


def test_density_1d(tmp_path, faithful, gm2):
    X, names = faithful
    _render(tmp_path, lambda ax: plotting.plot_density_1d(gm2, X, ax=ax, feature=1,
                                                          feature_names=names))
    g1 = emkit.GaussianMixture(3, covariance_type="spherical", random_state=0).fit(X[:, :1])
    _render(tmp_path, lambda ax: plotting.plot_density_1d(g1, X[:, 0], ax=ax))


@pytest.mark.parametrize("ct", ["full", "tied", "diag", "spherical"])
def test_clusters_2d_every_covariance_type(tmp_path, faithful, ct):
    X, names = faithful
    gm = emkit.GaussianMixture(2, covariance_type=ct, random_state=0).fit(X)
    _render(tmp_path, lambda ax: plotting.plot_clusters_2d(gm, X, ax=ax, feature_names=names))


def test_clusters_2d_chosen_pair(tmp_path):
    rng = np.random.default_rng(0)
    X = np.r_[rng.normal(0, 1, (80, 3)), rng.normal(4, 1, (80, 3))]
    gm = emkit.GaussianMixture(2, random_state=0).fit(X)
    ax = _render(tmp_path, lambda ax: plotting.plot_clusters_2d(gm, X, features=(2, 0), ax=ax))
    del ax
    with pytest.raises(ValueError, match="different"):
        plotting.plot_clusters_2d(gm, X, features=(1, 1), ax=Figure().add_subplot())


def test_history(tmp_path, gm2):
    _render(tmp_path, lambda ax: plotting.plot_history(gm2, ax=ax))


def test_criterion(tmp_path, faithful):
    X, _ = faithful
    from emkit.selection import select_model

    _, table = select_model(X, n_components=range(1, 4), covariance_types=("full", "diag"),
                                  random_state=0)
    _render(tmp_path, lambda ax: plotting.plot_criterion(table, ax=ax))


def test_pmf_families(tmp_path):
    rng = np.random.default_rng(1)
    n = 200
    z = rng.random(n) < 0.4
    cases = [
        (emkit.BernoulliMixture(2, random_state=0),
         (rng.random((n, 3)) < np.where(z, 0.8, 0.2)[:, None]).astype(float), {}),
        (emkit.PoissonMixture(2, random_state=0),
         rng.poisson(np.where(z, 2.0, 9.0)[:, None], (n, 2)).astype(float), {}),
        (emkit.BinomialMixture(2, n_trials=10, random_state=0),
         rng.binomial(10, np.where(z, 0.2, 0.7)[:, None], (n, 1)).astype(float), {}),
        (emkit.CategoricalMixture(2, random_state=0),
         np.where(z[:, None], rng.integers(0, 2, (n, 2)), rng.integers(2, 4, (n, 2))).astype(float), {}),
    ]
    for model, X, kw in cases:
        model.fit(X, **kw)
        _render(tmp_path, lambda ax, m=model, X=X: plotting.plot_pmf(m, X, feature=0, ax=ax))
    # per-row trials: the fitted pmf is averaged over the rows' trials
    trials = rng.integers(5, 12, n)
    X = rng.binomial(trials, np.where(z, 0.2, 0.7))[:, None].astype(float)
    bm = emkit.BinomialMixture(2, random_state=0).fit(X, n_trials=trials)
    _render(tmp_path, lambda ax: plotting.plot_pmf(bm, X, ax=ax, n_trials=trials))


def test_pmf_refuses_gaussian(gm2, faithful):
    with pytest.raises(ValueError, match="discrete"):
        plotting.plot_pmf(gm2, faithful[0])


@pytest.mark.parametrize("kind", ["1d", "2d", "poisson", "bernoulli"])
def test_plot_auto(tmp_path, faithful, kind):
    X, names = faithful
    rng = np.random.default_rng(2)
    if kind == "1d":
        X = X[:, :1]
        model = emkit.GaussianMixture(2, random_state=0).fit(X)
    elif kind == "2d":
        model = emkit.GaussianMixture(2, random_state=0).fit(X)
    elif kind == "poisson":
        X = rng.poisson(3.0, (150, 1)).astype(float)
        model = emkit.PoissonMixture(2, random_state=0).fit(X)
    else:
        X = (rng.random((150, 4)) < 0.3).astype(float)
        model = emkit.BernoulliMixture(2, random_state=0).fit(X)
    path = plotting.plot_auto(model, X, tmp_path / "auto.png", dpi=50)
    img = imread(path)
    # one panel, 2 inches wider for its legend (Bernoulli: the heatmap of 4 features, no legend)
    assert img.shape[:2] == (300, 400 if kind == "bernoulli" else 500)
    assert img[..., :3].std() > 0.05
    assert not list(tmp_path.glob(".*tmp"))


def test_without_ax_uses_pyplot(gm2):
    plt = pytest.importorskip("matplotlib.pyplot")
    ax = plotting.plot_history(gm2)
    try:
        assert ax.figure is not None
    finally:
        plt.close(ax.figure)


def test_history_plot_counts_em_steps_under_squarem():
    import matplotlib.pyplot as plt

    from emkit.datasets import load_faithful
    from emkit.plotting import plot_history

    X = load_faithful()
    gm = emkit.GaussianMixture(3, covariance_type="tied", tol=1e-10, max_iter=5000,
                               random_state=1, acceleration="squarem").fit(X)
    assert gm.history_.size < gm.n_iter_  # accepted iterates, not data passes
    ax = plot_history(gm)
    assert f"converged after {gm.n_iter_} EM steps" in ax.get_title()
    assert ax.get_xlabel() == "accepted SQUAREM iterate"
    plt.close(ax.figure)
    plain = emkit.GaussianMixture(2, random_state=0, acceleration=None).fit(X)
    ax = plot_history(plain)
    assert f"converged after {plain.n_iter_} EM steps" in ax.get_title()
    assert ax.get_xlabel() == "EM iteration"
    plt.close(ax.figure)
