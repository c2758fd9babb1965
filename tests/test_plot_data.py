"""The plots draw the model: their lines, patches, points and cells are compared
with values computed independently here (scipy.stats densities, eigen-
decompositions of the covariances, responsibilities from Bayes' rule)."""

import math

import numpy as np
import pytest
from scipy.stats import multivariate_normal, norm

import emkit
from emkit import plotting
from emkit.datasets import load_faithful

pytest.importorskip("matplotlib")
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Ellipse  # noqa: E402


@pytest.fixture(scope="module")
def faithful():
    return load_faithful(return_names=True)


@pytest.fixture(scope="module")
def gm3(faithful):
    X, _ = faithful
    return emkit.GaussianMixture(3, covariance_type="full", random_state=0).fit(X)


@pytest.fixture(scope="module")
def blobs3d():
    rng = np.random.default_rng(3)
    centres = np.array([[0, 0, 0], [4, 1, -2], [-1, 5, 3]], dtype=float)
    X = np.concatenate([rng.multivariate_normal(c, np.eye(3) + 0.3, 80) for c in centres])
    return X, emkit.GaussianMixture(3, random_state=0).fit(X)


def new_ax(w=8, h=6):
    return Figure(figsize=(w, h), dpi=50).add_subplot()


def posterior(model, X):
    """Responsibilities by Bayes' rule with scipy's normal densities."""
    covs = np.asarray(model.covariances_)
    dens = np.column_stack([w * multivariate_normal(m, c).pdf(X) for w, m, c
                            in zip(model.weights_, model.means_, covs, strict=True)])
    return dens / dens.sum(axis=1, keepdims=True)


def ellipse_of(cov2, n_sd):
    vals, vecs = np.linalg.eigh(cov2)
    return 2 * n_sd * np.sqrt(vals[1]), 2 * n_sd * np.sqrt(vals[0])


# ------------------------------------------------------------------ 1-D density
def test_density_1d_lines_are_the_weighted_components_and_their_sum(faithful):
    X, names = faithful
    x = X[:, :1]
    gm = emkit.GaussianMixture(3, random_state=0).fit(x)
    ax = plotting.plot_density_1d(gm, x, ax=new_ax())
    lines = ax.get_lines()
    K = 3
    mixture = lines[K]
    grid = mixture.get_xdata()
    assert np.allclose(mixture.get_ydata(), np.exp(gm.score_samples(grid[:, None])), rtol=1e-10)
    sds = np.sqrt(np.asarray(gm.covariances_)[:, 0, 0])
    order = np.argsort(gm.means_[:, 0])
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    for rank, k in enumerate(order):   # drawn and listed in the order of the means
        expected = gm.weights_[k] * norm.pdf(grid, gm.means_[k, 0], sds[k])
        assert np.allclose(lines[rank].get_ydata(), expected, rtol=1e-10, atol=1e-300)
        assert texts[rank + 1].startswith(f"component {k} (weight {gm.weights_[k]:.2f}")
        assert lines[rank].get_color() == f"C{k}"   # the model's number, as in the tables


def test_density_1d_of_one_feature_of_a_bivariate_model(faithful, gm3):
    X, _ = faithful
    ax = plotting.plot_density_1d(gm3, X, ax=new_ax(), feature=1)
    grid = ax.get_lines()[3].get_xdata()
    sds = np.sqrt(gm3.covariances_[:, 1, 1])
    expected = sum(w * norm.pdf(grid, m, s) for w, m, s
                   in zip(gm3.weights_, gm3.means_[:, 1], sds, strict=True))
    assert np.allclose(ax.get_lines()[3].get_ydata(), expected, rtol=1e-10)
    assert np.trapezoid(expected, grid) == pytest.approx(1.0, abs=2e-3)


# ------------------------------------------------------------------ 2-D plots
def test_cluster_ellipses_come_from_the_covariances(faithful):
    X, _ = faithful
    for ct in ("full", "tied", "diag", "spherical"):
        gm = emkit.GaussianMixture(2, covariance_type=ct, random_state=0).fit(X)
        ax = plotting.plot_clusters_2d(gm, X, ax=new_ax())
        ells = [p for p in ax.patches if isinstance(p, Ellipse)]
        assert len(ells) == 4
        full = {"full": lambda c: c, "tied": lambda c: np.broadcast_to(c, (2, 2, 2)),
                "diag": lambda c: np.stack([np.diag(v) for v in c]),
                "spherical": lambda c: np.stack([v * np.eye(2) for v in c])}[ct](gm.covariances_)
        for i, e in enumerate(ells):
            k, n_sd = divmod(i, 2)
            width, height = ellipse_of(full[k], n_sd + 1)
            assert np.allclose(e.center, gm.means_[k], rtol=1e-12)
            assert e.width == pytest.approx(width, rel=1e-10)
            assert e.height == pytest.approx(height, rel=1e-10)


def test_uncertainty_plot_points_sizes_and_classes(faithful, gm3):
    X, names = faithful
    ax = plotting.plot_uncertainty(gm3, X, ax=new_ax(), feature_names=names)
    resp = posterior(gm3, X)
    labels, u = resp.argmax(1), 1 - resp.max(1)
    assert np.allclose(plotting.uncertainty(gm3, X), u, atol=1e-9)
    for k in range(3):
        coll = ax.collections[k]
        rows = labels == k
        assert np.allclose(coll.get_offsets(), X[rows])
        assert np.allclose(coll.get_sizes(), 4 + 116 * u[rows] / (1 - 1 / 3), atol=1e-6)
        assert coll.get_label().startswith(f"component {k}: {rows.sum()} rows")
    assert np.allclose(ax.collections[3].get_offsets(), gm3.means_)
    assert ax.get_xlabel() == names[0] and "uncertainty" in ax.get_title()


def test_density_contours_lie_on_their_levels(faithful, gm3):
    X, _ = faithful
    ax = plotting.plot_density_2d(gm3, X, ax=new_ax(), levels=6, resolution=600)
    cs = ax.collections[-1]
    checked = 0
    for level, path in zip(cs.levels, cs.get_paths(), strict=True):
        pts = path.vertices[path.codes != path.CLOSEPOLY] if path.codes is not None else path.vertices
        if len(pts) == 0:
            continue
        dens = np.exp(gm3.score_samples(pts))
        # linear interpolation on the 600 x 600 grid: under 1% even near the sharp peak
        assert np.allclose(dens, level, rtol=0.01), level
        checked += 1
    assert checked >= 5


def test_pair_density_is_the_marginal_of_the_pair(blobs3d):
    X, gm = blobs3d
    rng = np.random.default_rng(0)
    gx, gy = rng.normal(size=(2, 5, 7)) * 3
    got = plotting.classification.pair_density(gx, gy, gm.weights_, gm.means_, gm.covariances_, 2, 0)
    idx = [2, 0]
    pts = np.stack([gx.ravel(), gy.ravel()], 1)
    expected = sum(w * multivariate_normal(m[idx], c[np.ix_(idx, idx)]).pdf(pts)
                   for w, m, c in zip(gm.weights_, gm.means_, gm.covariances_, strict=True))
    assert np.allclose(got.ravel(), expected, rtol=1e-10)


def test_pairs_plot_panels_and_one_legend_outside(blobs3d):
    X, gm = blobs3d
    names = ["alpha", "beta", "gamma"]
    fig = Figure(figsize=(9, 8), dpi=50)
    plotting.plot_pairs(gm, X, fig=fig, feature_names=names)
    axes = np.array(fig.axes).reshape(3, 3)
    assert fig._suptitle.get_text().endswith("alpha, beta, gamma")
    assert all(ax.get_legend() is None for ax in fig.axes) and len(fig.legends) == 1
    for r in range(3):
        for c in range(3):
            ax = axes[r, c]
            if r < c:
                assert not ax.axison
            elif r == c:   # the mixture of the feature's marginals
                line = ax.get_lines()[3]
                grid = line.get_xdata()
                sd = np.sqrt(gm.covariances_[:, r, r])
                expected = sum(w * norm.pdf(grid, m, s) for w, m, s
                               in zip(gm.weights_, gm.means_[:, r], sd, strict=True))
                assert np.allclose(line.get_ydata(), expected, rtol=1e-10)
            else:          # x = feature c, y = feature r
                ells = [p for p in ax.patches if isinstance(p, Ellipse)]
                for k, e in enumerate(ells):
                    idx = [c, r]
                    width, height = ellipse_of(gm.covariances_[k][np.ix_(idx, idx)], 1)
                    assert np.allclose(e.center, gm.means_[k, idx])
                    assert e.width == pytest.approx(width, rel=1e-10)
                    assert e.height == pytest.approx(height, rel=1e-10)
                labels = gm.predict(X)
                for k in range(3):
                    assert np.allclose(ax.collections[k].get_offsets(), X[labels == k][:, [c, r]])
    fig.canvas.draw()
    box = fig.legends[0].get_window_extent()
    for ax in fig.axes:
        if ax.axison:
            assert not box.overlaps(ax.get_window_extent()), "the legend covers a panel"


# -------------------------------------------------------------------- heatmap
def test_bernoulli_heatmap_cells_are_the_probabilities():
    rng = np.random.default_rng(5)
    z = rng.random(300) < 0.4
    X = (rng.random((300, 5)) < np.where(z[:, None], [0.9, 0.8, 0.1, 0.2, 0.5],
                                         [0.1, 0.3, 0.9, 0.7, 0.5])).astype(float)
    bm = emkit.BernoulliMixture(2, random_state=0).fit(X)
    names = list("abcde")
    ax = plotting.plot_heatmap(bm, ax=new_ax(), feature_names=names)
    assert np.array_equal(np.asarray(ax.images[0].get_array()), bm.probs_)
    texts = [t.get_text() for t in ax.texts]
    assert texts == [f"{p:.2f}" for p in bm.probs_.ravel()]
    assert [t.get_text() for t in ax.get_xticklabels()] == names
    assert ax.images[0].get_clim() == (0.0, 1.0)
    with pytest.raises(ValueError, match="no component x feature heatmap"):
        plotting.plot_heatmap(emkit.PoissonMixture(2, random_state=0).fit(X), ax=new_ax())


# ------------------------------------------------------------------ criterion
def test_criterion_plot_zooms_to_the_competitive_models(faithful):
    X, _ = faithful
    _, table = emkit.select_model(X, n_components=range(1, 7), random_state=0)
    ax = plotting.plot_criterion(table, ax=new_ax())
    values = np.array([r["value"] for r in table], dtype=float)
    best = values.min()
    lo, hi = ax.get_ylim()
    span = max(10.0, 1.25 * (np.median(values) - best))
    assert hi == pytest.approx(best + span) and lo < best
    assert hi < values.max()  # the far-off models are off the scale ...
    n_above = int((values > hi).sum())
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert f"{n_above} off the scale (higher BIC)" in labels
    curves = [ln for ln in ax.get_lines() if ln.get_label() != "_nolegend_"]
    assert len(curves) == len({r["covariance_type"] for r in table})
    for line in curves:   # ... but every curve still holds the table's values
        ct = line.get_label().removesuffix(" (off the scale)")
        rows = sorted((r for r in table if r["covariance_type"] == ct), key=lambda r: r["n_components"])
        assert np.allclose(line.get_ydata(), [r["value"] for r in rows])
        # a curve with no candidate on the scale says so in the legend
        assert line.get_label().endswith("(off the scale)") == (min(r["value"] for r in rows) > hi)
    # K = 6 has a competitive candidate here: the x axis spans the whole K range, tightly
    assert ax.get_xlim() == pytest.approx((1 - 0.3, 6 + 0.3))
    full = plotting.plot_criterion(table, ax=new_ax(), zoom=False)
    assert full.get_ylim()[1] >= values.max()
    # unzoomed, matplotlib's margins: still no more than half a component past either end
    assert 0.5 < full.get_xlim()[0] < 1 and 6 < full.get_xlim()[1] < 6.5


def test_criterion_plot_x_axis_ends_at_the_last_competitive_k():
    """K = 1 .. 9 where every candidate with K >= 7 is far above the zoomed range: the x axis
    stops at K = 6 (no empty stretch on the right) and the note names the K left out."""
    ks = np.arange(1, 10)
    rows = [{"covariance_type": ct, "n_components": int(k), "criterion": "bic",
             "value": 1000.0 + shift + ((k - 3) ** 2 if k <= 6 else 500.0), "degenerate": False,
             "best": ct == "full" and k == 3}
            for ct, shift in (("full", 0.0), ("diag", 3.0), ("spherical", 6.0)) for k in ks]
    values = np.array([r["value"] for r in rows])
    # the zoom's top edge, computed here: best + max(10, 1.25 * (median - best))
    top = values.min() + max(10.0, 1.25 * (np.median(values) - values.min()))
    on_scale = sorted({r["n_components"] for r in rows if r["value"] <= top})
    assert on_scale == [1, 2, 3, 4, 5, 6]
    ax = plotting.plot_criterion(rows, ax=new_ax())
    assert ax.get_ylim()[1] == pytest.approx(top)
    assert ax.get_xlim() == pytest.approx((0.7, 6.3))
    # triangles only where the axis is; the note counts every candidate above the scale
    marks = [c for c in ax.collections if "off the scale" in c.get_label()]
    assert len(marks) == 1
    xs = marks[0].get_offsets()[:, 0]
    above = [r for r in rows if r["value"] > top]
    np.testing.assert_array_equal(np.sort(xs), sorted(r["n_components"] for r in above
                                                      if r["n_components"] <= 6))
    assert marks[0].get_label() == (f"{len(above)} off the scale (higher BIC)\n"
                                    "K = 7, 8, 9 not shown (all higher)")
    # unzoomed, every K is drawn
    full = plotting.plot_criterion(rows, ax=new_ax(), zoom=False)
    assert full.get_xlim()[0] < 1 and 9 < full.get_xlim()[1] < 9.5


# ------------------------------------------------------------------ plot_auto
def test_plot_auto_grid_has_one_legend_outside_the_panels(tmp_path):
    import matplotlib.figure

    rng = np.random.default_rng(4)
    X = rng.poisson([[2.0, 5.0, 9.0]], (200, 3)).astype(float)
    pm = emkit.PoissonMixture(2, random_state=0).fit(X)
    saved = {}
    original = matplotlib.figure.Figure.savefig

    def spy(self, *args, **kwargs):
        saved["fig"] = self
        return original(self, *args, **kwargs)

    matplotlib.figure.Figure.savefig = spy
    try:
        plotting.plot_auto(pm, X, tmp_path / "auto.png", dpi=50)
    finally:
        matplotlib.figure.Figure.savefig = original
    fig = saved["fig"]
    assert all(ax.get_legend() is None for ax in fig.axes) and len(fig.legends) == 1
    box = fig.legends[0].get_window_extent()
    assert not any(box.overlaps(ax.get_window_extent()) for ax in fig.axes)
    assert {"fitted mixture pmf", "observed share (200 rows)"} <= {
        t.get_text() for t in fig.legends[0].get_texts()}


def test_plot_auto_pairs_for_more_than_two_features(tmp_path, blobs3d):
    X, gm = blobs3d
    path = plotting.plot_auto(gm, X, tmp_path / "pairs.png", dpi=40, feature_names=["a", "b", "c"])
    from matplotlib.image import imread

    img = imread(path)
    assert img.shape[0] == int(2.6 * 3 * 40) and img[..., :3].std() > 0.05
    assert math.isclose(img.shape[1], (2.6 * 3 + 1.5) * 40, abs_tol=1)
