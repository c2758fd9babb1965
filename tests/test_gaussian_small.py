"""The low-overhead E-step of small in-memory Gaussian data (families/_gaussian_small.py).

Checked against an E-step written plainly here (scipy.stats densities, one
component at a time), against the generic chunked path of the engine, and a
whole plain-EM run against a reference EM written here.
"""

import numpy as np
import pytest
from scipy import stats as st

from emkit.backends.numpy_backend import Data, NumpyBackend
from emkit.engine.em import LabelKeeper, e_step_chunk, expectation, params_from_resp, run_em
from emkit.families import _gaussian_small as gs
from emkit.families._shares import FLUSH_GAP, flush_tiny
from emkit.families._covariance import full_matrices
from emkit.families._gaussian_structured import gaussian_family

TYPES = ("full", "tied", "diag", "spherical")


def _data(n=300, seed=0):
    rng = np.random.default_rng(seed)
    X = np.concatenate([rng.normal([0.0, 0.0], [1.0, 0.5], size=(n // 3, 2)),
                        rng.normal([4.0, 2.0], [0.7, 1.2], size=(n // 3, 2)),
                        rng.normal([1.0, 5.0], 0.8, size=(n - 2 * (n // 3), 2))]) + [50.0, 70.0]
    return X, rng


def _setup(ct, weighted=False, K=3, reg_covar=1e-6, seed=0):
    X, rng = _data(seed=seed)
    w = rng.uniform(0.0, 2.0, size=len(X)) if weighted else np.ones(len(X))
    if weighted:
        w[:5] = 0.0
    mean = w @ X / w.sum()
    var = w @ (X - mean) ** 2 / w.sum()
    fam = gaussian_family(ct, reg_covar, mean, 2, data_variance=var)
    data = Data(X, w, mean=mean)
    params = params_from_resp(fam, data, rng.dirichlet(np.ones(K), size=len(X)),
                              NumpyBackend(n_jobs=1))
    return fam, data, params


def _reference_e_step(fam, data, params):
    """Plain E-step: scipy densities per component, moments about the family's centre."""
    X, w = data.X, data.sample_weight
    K, d = params["means"].shape
    covs = full_matrices(params["covariances"], fam.covariance_type, K, d)
    lp = np.column_stack([st.multivariate_normal(params["means"][k], covs[k]).logpdf(X)
                          for k in range(K)]) + np.log(params["weights"])
    log_norm = np.logaddexp.reduce(lp, axis=1)
    resp = np.exp(lp - log_norm[:, None])
    rw = resp * w[:, None]
    xc = X - fam._centre(d)
    out = {"nk": rw.sum(axis=0), "sx": rw.T @ xc}
    if fam.covariance_type == "full":
        out["sxx"] = np.einsum("nk,na,nb->kab", rw, xc, xc)
    elif fam.covariance_type == "tied":
        out["sxx"] = (xc * w[:, None]).T @ xc
    elif fam.covariance_type == "diag":
        out["sxx"] = rw.T @ xc**2
    else:  # spherical: only the total over the features counts, spread evenly
        out["sxx"] = np.repeat((rw.T @ (xc**2).sum(axis=1))[:, None] / d, d, axis=1)
    return out, float(w @ log_norm), resp.argmax(axis=1)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ct", TYPES)
def test_small_e_step_equals_plain_reference_and_generic_path(ct, weighted):
    fam, data, params = _setup(ct, weighted)
    labels = np.full(data.n_samples, -1, dtype=np.intp)
    got = fam.fused_e_step(data, params, labels)
    assert got is not None
    stats, loglik = got
    ref, ref_ll, ref_labels = _reference_e_step(fam, data, params)
    gen, gen_ll = e_step_chunk(fam, params, data)  # the generic (chunked) path
    assert loglik == pytest.approx(ref_ll, rel=1e-12)
    assert loglik == pytest.approx(gen_ll, rel=1e-12)
    for key in ("nk", "sx", "sxx"):
        assert stats[key].shape == gen[key].shape
        scale = np.abs(ref[key]).max()
        np.testing.assert_allclose(stats[key], ref[key], rtol=0, atol=1e-12 * scale)
        np.testing.assert_allclose(stats[key], gen[key], rtol=0, atol=1e-12 * scale)
    np.testing.assert_array_equal(labels, ref_labels)


def test_expectation_takes_the_small_path_and_keeps_labels(monkeypatch):
    fam, data, params = _setup("full")
    keeper = LabelKeeper()
    stats, ll = expectation(fam, params, data, NumpyBackend(n_jobs=1), keeper)
    calls = []
    real = gs.small_e_step
    monkeypatch.setattr("emkit.families._gaussian_chunk.small_e_step",
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    expectation(fam, params, data, NumpyBackend(n_jobs=1))
    assert calls == [1]
    _, ref_ll, ref_labels = _reference_e_step(fam, data, params)
    assert ll == pytest.approx(ref_ll / data.n_samples, rel=1e-12)
    keeper.run_done(params, chosen=True)
    np.testing.assert_array_equal(keeper.chosen, ref_labels)


def test_data_the_small_path_does_not_cover_goes_the_generic_way():
    fam, data, params = _setup("diag")
    X32 = Data(data.X.astype(np.float32), data.sample_weight)
    assert fam.fused_e_step(X32, params) is None
    big = Data(np.tile(data.X, (gs.MAX_ROWS // data.n_samples + 1, 1)),
               np.ones(data.n_samples * (gs.MAX_ROWS // data.n_samples + 1)))
    assert fam.fused_e_step(big, params) is None
    # a precision that overflows: no finite log density, so the generic path decides
    huge = dict(params, precisions_cholesky=np.full_like(params["precisions_cholesky"], 1e160))
    assert fam.fused_e_step(data, huge) is None
    stats, ll = expectation(fam, huge, data, NumpyBackend(n_jobs=1))
    gen, gen_ll = e_step_chunk(fam, huge, data)
    assert ll == gen_ll / data.n_samples
    np.testing.assert_array_equal(stats["nk"], gen["nk"])


@pytest.mark.parametrize("n_jobs", [1, 2])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ct", TYPES)
def test_chunked_passes_take_the_small_path_chunk_by_chunk(ct, weighted, n_jobs, monkeypatch):
    # data of several chunks: each chunk is the cached features' column slice, and the
    # summed statistics, the log-likelihood and the labels equal the plain reference
    fam, data, params = _setup(ct, weighted)
    rows = []
    real = gs.small_e_step
    monkeypatch.setattr("emkit.families._gaussian_chunk.small_e_step",
                        lambda *a, **k: rows.append(a[6]) or real(*a, **k))
    keeper = LabelKeeper()
    stats, ll = expectation(fam, params, data, NumpyBackend(chunk_size=64, n_jobs=n_jobs), keeper)
    assert sorted(rows) == [(a, min(a + 64, data.n_samples)) for a in range(0, data.n_samples, 64)]
    ref, ref_ll, ref_labels = _reference_e_step(fam, data, params)
    assert ll == pytest.approx(ref_ll / data.sample_weight.sum(), rel=1e-12)
    for key in ("nk", "sx", "sxx"):
        np.testing.assert_allclose(stats[key], ref[key], rtol=0,
                                   atol=1e-12 * np.abs(ref[key]).max())
    keeper.run_done(params, chosen=True)
    np.testing.assert_array_equal(keeper.chosen, ref_labels)


def test_a_chunk_the_small_path_refuses_goes_the_generic_way():
    # one chunk holds a row with no finite log density under the fused product:
    # that chunk alone takes the generic path, and the sum is still the reference
    fam, data, params = _setup("diag")
    huge = dict(params, precisions_cholesky=np.full_like(params["precisions_cholesky"], 1e160))
    stats, ll = expectation(fam, huge, data, NumpyBackend(chunk_size=64, n_jobs=1))
    gen, gen_ll = e_step_chunk(fam, huge, data)
    assert ll == pytest.approx(gen_ll / data.n_samples, rel=1e-12)
    np.testing.assert_allclose(stats["nk"], gen["nk"], rtol=1e-12)


def test_a_zero_mixing_weight_stays_on_the_small_path():
    fam, data, params = _setup("spherical")
    params = dict(params, weights=np.array([0.0, 0.4, 0.6]))
    stats, ll = fam.fused_e_step(data, params)
    gen, gen_ll = e_step_chunk(fam, params, data)
    assert stats["nk"][0] == 0.0
    assert ll == pytest.approx(gen_ll, rel=1e-12)
    np.testing.assert_allclose(stats["sx"], gen["sx"], rtol=1e-12, atol=1e-12)


def _reference_em_full(X, weights, means, covs, n_iter):
    """Plain EM for full covariance, unweighted rows, no floor (McLachlan & Peel, 3.2)."""
    for _ in range(n_iter):
        lp = np.column_stack([st.multivariate_normal(means[k], covs[k]).logpdf(X)
                              for k in range(len(weights))]) + np.log(weights)
        resp = np.exp(lp - np.logaddexp.reduce(lp, axis=1)[:, None])
        nk = resp.sum(axis=0)
        weights = nk / nk.sum()
        means = resp.T @ X / nk[:, None]
        covs = np.stack([((X - means[k]) * resp[:, [k]]).T @ (X - means[k]) / nk[k]
                         for k in range(len(weights))])
    return weights, means, covs


@pytest.mark.parametrize("ct", TYPES)
def test_plain_em_run_equals_the_generic_path(ct, monkeypatch):
    fam, data, params = _setup(ct, weighted=ct == "diag")
    fast = run_em(fam, params, data, NumpyBackend(n_jobs=1), tol=1e-300, max_iter=40)
    monkeypatch.setattr(gs, "MAX_ROWS", -1)
    slow = run_em(fam, params, data, NumpyBackend(n_jobs=1), tol=1e-300, max_iter=40)
    assert fast.n_iter == slow.n_iter == 40
    assert fast.lower_bound == pytest.approx(slow.lower_bound, rel=1e-12)
    for key in ("weights", "means", "covariances"):
        np.testing.assert_allclose(fast.params[key], slow.params[key], rtol=1e-10)


def test_plain_em_run_equals_a_reference_em():
    fam, data, params = _setup("full", reg_covar=0.0)
    res = run_em(fam, params, data, NumpyBackend(n_jobs=1), tol=1e-300, max_iter=30)
    w, mu, cov = _reference_em_full(data.X, params["weights"], params["means"],
                                    params["covariances"], res.n_iter)
    np.testing.assert_allclose(res.params["weights"], w, rtol=1e-10)
    np.testing.assert_allclose(res.params["means"], mu, rtol=1e-10)
    np.testing.assert_allclose(res.params["covariances"], cov, rtol=1e-9, atol=1e-12)


def _assert_equals_references(fam, data, params, stats, loglik, labels):
    """The fused E-step's results equal the plain reference (1e-10) and the generic path (1e-12)."""
    ref, ref_ll, ref_labels = _reference_e_step(fam, data, params)
    gen, gen_ll = e_step_chunk(fam, params, data)
    assert loglik == pytest.approx(ref_ll, rel=1e-10)
    assert loglik == pytest.approx(gen_ll, rel=1e-12)
    for key in ("nk", "sx", "sxx"):
        scale = np.abs(ref[key]).max()
        np.testing.assert_allclose(stats[key], ref[key], rtol=0, atol=1e-10 * scale)
        np.testing.assert_allclose(stats[key], gen[key], rtol=0, atol=1e-12 * scale)
    np.testing.assert_array_equal(labels, ref_labels)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ct", ["full", "tied"])
def test_a_narrow_component_takes_the_whitened_form_on_the_small_path(ct, weighted):
    # a component of variance ~1e-9 far from the centre: the expanded quadratic form
    # would cancel, so the small path whitens the residuals (and stays on the small path);
    # its statistics and log-likelihood still equal the plain reference and the generic path
    fam, data, params = _setup(ct, weighted, reg_covar=1e-12)
    d = data.X.shape[1]
    narrow = dict(params)
    if ct == "full":
        P = np.array(params["precisions_cholesky"], copy=True)
        P[1] = np.eye(d) * 3e4  # standard deviation ~3e-5
        narrow["precisions_cholesky"] = P
        narrow["covariances"] = np.linalg.inv(P @ P.transpose(0, 2, 1))
        narrow["means"] = np.array(params["means"], copy=True)
        narrow["means"][1] = data.X[7] + 1e-5  # rows near it keep a finite density
    else:
        narrow["precisions_cholesky"] = np.eye(d) * 3e4
        narrow["covariances"] = np.eye(d) / 9e8
        narrow["means"] = data.X[[3, 7, 11]] + 1e-5
    m = narrow["means"] - fam._centre(d)
    P3 = np.asarray(narrow["precisions_cholesky"]).reshape(-1, d, d)
    reach2 = max(float(((data.X - fam._centre(d)) ** 2).sum(axis=1).max()),
                 float((m * m).sum(axis=1).max()))
    assert not 8.0 * (d + 1) * gs._EPS * float((P3 * P3).sum(axis=(1, 2)).max()) * reach2 < 1e-8
    labels = np.full(data.n_samples, -1, dtype=np.intp)
    got = fam.fused_e_step(data, narrow, labels)
    assert got is not None
    stats, loglik = got
    _assert_equals_references(fam, data, narrow, stats, loglik, labels)


@pytest.mark.parametrize("weighted", [False, True])
def test_only_the_narrow_component_is_whitened(weighted, monkeypatch):
    # one narrow component among ordinary ones (a component emptying in a fit with more
    # components than the data hold): it alone takes the whitened residuals, the others
    # keep the expanded form; both equal the plain reference and the generic path
    fam, data, params = _setup("full", weighted, reg_covar=1e-12)
    d = data.X.shape[1]
    narrow = dict(params)
    P = np.array(params["precisions_cholesky"], copy=True)
    P[1] = np.eye(d) * 3e4
    narrow["precisions_cholesky"] = P
    narrow["covariances"] = np.linalg.inv(P @ P.transpose(0, 2, 1))
    narrow["means"] = np.array(params["means"], copy=True)
    narrow["means"][1] = data.X[7] + 1e-5
    whitened = []
    real = gs._whitened

    def spy(Xt, P3, m, shift):
        whitened.append(P3.shape[0])
        return real(Xt, P3, m, shift)

    monkeypatch.setattr(gs, "_whitened", spy)
    labels = np.full(data.n_samples, -1, dtype=np.intp)
    stats, loglik = fam.fused_e_step(data, narrow, labels)
    assert whitened == [1]  # one component of three
    _assert_equals_references(fam, data, narrow, stats, loglik, labels)
    # without the narrow component every component keeps the expanded form
    whitened.clear()
    fam.fused_e_step(data, params)
    assert whitened == []


def test_flush_tiny_zeroes_only_the_gaps_past_the_bound():
    assert FLUSH_GAP == -600.0
    gaps = np.array([[0.0, -1.0, -599.9, -600.0, -600.1, -720.0, -np.inf]])
    flush_tiny(gaps)
    np.testing.assert_array_equal(gaps, [[0.0, -1.0, -599.9, -600.0, -np.inf, -np.inf, -np.inf]])


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ct", TYPES)
def test_separated_data_with_subnormal_shares_equals_the_plain_reference(ct, weighted):
    # clusters far apart in units of their spread: some shares of the plain E-step are
    # subnormal (below 2.2e-308) and many below exp(-600); the fused E-step (one run and
    # batched) takes them as zero and still equals the reference to rounding
    from emkit.families._gaussian_batch import batch_e_step

    rng = np.random.default_rng(3)
    X = np.concatenate([rng.normal([0.0, 0.0], 1.0, size=(100, 2)),
                        rng.normal([38.0, 0.0], 1.0, size=(100, 2)),
                        rng.normal([19.0, 33.0], 1.0, size=(100, 2))]) + [50.0, 70.0]
    w = rng.uniform(0.5, 2.0, size=len(X)) if weighted else np.ones(len(X))
    mean = w @ X / w.sum()
    fam = gaussian_family(ct, 1e-6, mean, 2, data_variance=w @ (X - mean) ** 2 / w.sum())
    data = Data(X, w, mean=mean)
    resp = np.zeros((len(X), 3))
    resp[np.arange(len(X)), np.repeat([0, 1, 2], 100)] = 1.0
    params = params_from_resp(fam, data, resp, NumpyBackend(n_jobs=1))
    ref, ref_ll, _ = _reference_e_step(fam, data, params)
    # what the test is about: the plain E-step has shares in the subnormal range
    plain = _reference_shares(fam, data, params)
    assert ((plain > 0.0) & (plain < np.finfo(np.float64).tiny)).sum() > 50
    runs = batch_e_step(ct, X, w, fam._centre(2), [params, params])
    assert runs is not None
    for stats, loglik in [fam.fused_e_step(data, params), *runs]:
        assert loglik == pytest.approx(ref_ll, rel=1e-12)
        for key in ("nk", "sx", "sxx"):
            scale = np.abs(ref[key]).max()
            np.testing.assert_allclose(stats[key], ref[key], rtol=0, atol=1e-12 * scale)


def _reference_shares(fam, data, params):
    """Responsibilities of the plain E-step (scipy densities), unflushed."""
    K, d = params["means"].shape
    covs = full_matrices(params["covariances"], fam.covariance_type, K, d)
    lp = np.column_stack([st.multivariate_normal(params["means"][k], covs[k]).logpdf(data.X)
                          for k in range(K)]) + np.log(params["weights"])
    return np.exp(lp - np.logaddexp.reduce(lp, axis=1)[:, None])


def test_features_are_kept_for_a_new_array_of_the_same_weights(monkeypatch):
    # every fit validates its own weights (a new array of ones without any): the cached
    # feature rows are reused when the values are the same, built again when they differ,
    # and the E-step is the same either way
    fam, data, params = _setup("full")
    built = []
    real = gs._Features.__init__

    def init(self, *a):
        built.append(True)
        real(self, *a)

    monkeypatch.setattr(gs._Features, "__init__", init)
    gs._CACHE.clear()
    first = expectation(fam, params, data, NumpyBackend(n_jobs=1))
    again = expectation(fam, params, Data(data.X, data.sample_weight.copy(), **data.aux),
                        NumpyBackend(n_jobs=1))
    assert len(built) == 1
    assert again[1] == first[1]
    for key in ("nk", "sx", "sxx"):
        np.testing.assert_array_equal(again[0][key], first[0][key])
    w = data.sample_weight.copy()
    w[0] = 2.0
    other = expectation(fam, params, Data(data.X, w, **data.aux), NumpyBackend(n_jobs=1))
    assert len(built) == 2
    ref, ref_ll, _ = _reference_e_step(fam, Data(data.X, w, **data.aux), params)
    assert other[1] * w.sum() == pytest.approx(ref_ll, rel=1e-10)
