"""The fused E-step of one chunk of large float64 data (:mod:`emkit.families._gaussian_chunk`).

Data too large for the small path's cached feature rows used to take the
generic E-step chunk by chunk; the fused chunk path must give the same
statistics and log-likelihood.  The reference is written plainly here:
``scipy.stats`` log densities, ``logsumexp`` and the textbook weighted moments
about the centre.  Every test also checks that the path was (or was not) taken.
"""

import numpy as np
import pytest
from scipy import stats
from scipy.special import logsumexp

import emkit.families._gaussian_chunk as gaussian
from emkit.backends.numpy_backend import Data, NumpyBackend
from emkit.engine.em import expectation
from emkit.families._gaussian_small import fits_cache
from emkit.families.gaussian import GaussianFamily

D, K = 16, 5  # 153 feature rows (the quadratic map from K = 5): 16,000 rows are past the small path's cached values


def _setup(ct, n=16_000, weighted=True, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=3.0, size=(K, D))
    X = centres[rng.integers(0, K, size=n)] + rng.normal(size=(n, D)) * rng.uniform(0.5, 2.0, size=D)
    w = rng.uniform(0.1, 2.0, size=n) if weighted else np.ones(n)
    fam = GaussianFamily(ct, 1e-6, np.average(X, axis=0, weights=w))
    A = rng.normal(size=(K, D, D)) * 0.2 + np.eye(D)
    covs = A @ A.transpose(0, 2, 1)
    if ct == "tied":
        covs = np.broadcast_to(covs[0], (K, D, D)).copy()
    elif ct == "diag":
        covs = np.array([np.diag(np.diag(c)) for c in covs])
    elif ct == "spherical":
        covs = np.array([np.eye(D) * np.trace(c) / D for c in covs])
    prec = np.linalg.inv(covs)
    init = {"full": prec, "tied": prec[0], "diag": np.array([np.diag(p) for p in prec]),
            "spherical": prec[:, 0, 0]}[ct]
    params = fam.check_init({"means_init": centres + 0.3, "precisions_init": init}, K, D)
    params["weights"] = np.array([0.3, 0.25, 0.2, 0.15, 0.1])
    return X, w, fam, params, covs


def _reference(X, w, params, covs, centre):
    with np.errstate(divide="ignore"):  # a zero weight: log 0 = -inf
        log_w = np.log(params["weights"])
    lp = np.column_stack([log_w[k] + stats.multivariate_normal(params["means"][k], covs[k]).logpdf(X)
                          for k in range(K)])
    norm = logsumexp(lp, axis=1)
    r = np.exp(lp - norm[:, None]) * w[:, None]
    Xc = X - centre
    return {"loglik": float(w @ norm) / w.sum(), "nk": r.sum(axis=0), "sx": r.T @ Xc,
            "sxx": np.stack([(Xc * r[:, k, None]).T @ Xc for k in range(K)]),
            "total": (Xc * w[:, None]).T @ Xc}


@pytest.fixture
def taken(monkeypatch):
    """Counts the chunks the fused chunk path took (and declined)."""
    seen = {"taken": 0, "declined": 0}
    original = gaussian.chunk_e_step

    def counting(*args, **kwargs):
        out = original(*args, **kwargs)
        seen["declined" if out is None else "taken"] += 1
        return out

    monkeypatch.setattr(gaussian, "chunk_e_step", counting)
    return seen


@pytest.mark.parametrize("ct, weighted", [("full", False), ("full", True), ("tied", False),
                                          ("tied", True), ("diag", True), ("spherical", False)])
def test_fused_chunks_equal_the_plain_reference(ct, weighted, taken):
    # narrow feature rows (diag, spherical): data too long for the small path's cache instead
    narrow = ct in ("diag", "spherical")
    X, w, fam, params, covs = _setup(ct, n=66_000 if narrow else 16_000, weighted=weighted)
    assert not fits_cache(X, ct)
    stats_, loglik = expectation(fam, params, Data(X, w), NumpyBackend(4096, n_jobs=2))
    assert taken["taken"] == -(-X.shape[0] // 4096) and taken["declined"] == 0
    ref = _reference(X, w, params, covs, fam._centre(D))
    assert loglik == pytest.approx(ref["loglik"], rel=1e-12)
    np.testing.assert_allclose(stats_["nk"], ref["nk"], rtol=1e-12)
    np.testing.assert_allclose(stats_["sx"], ref["sx"], rtol=1e-10, atol=1e-9 * np.abs(ref["sx"]).max())
    sxx = stats_["sxx"]
    if ct == "full":
        want = ref["sxx"]
    elif ct == "tied":
        want = ref["total"]
    elif ct == "diag":
        want = np.einsum("kaa->ka", ref["sxx"])
    else:
        want = np.repeat(np.einsum("kaa->k", ref["sxx"])[:, None] / D, D, axis=1)
    np.testing.assert_allclose(sxx, want, rtol=1e-10, atol=1e-10 * np.abs(want).max())


def test_labels_of_the_fused_chunks_are_the_most_likely_components(taken):
    from emkit.engine.em import LabelKeeper

    X, w, fam, params, covs = _setup("full", weighted=False)
    keeper = LabelKeeper()
    expectation(fam, params, Data(X, w), NumpyBackend(4096), keeper)
    ref = np.column_stack([np.log(params["weights"][k])
                           + stats.multivariate_normal(params["means"][k], covs[k]).logpdf(X)
                           for k in range(K)]).argmax(axis=1)
    assert taken["taken"] > 0
    np.testing.assert_array_equal(keeper._recent[-1][1], ref)


def test_an_unsafe_chunk_and_a_zero_weight_go_the_generic_way(taken):
    X, w, fam, params, covs = _setup("full", weighted=True)
    X = X.copy()
    X[5] = 1e150  # the expanded form would cancel: the chunk path declines that chunk only
    stats_, loglik = expectation(fam, params, Data(X, w), NumpyBackend(4096))
    assert taken["declined"] == 1 and taken["taken"] == 3
    ref = _reference(X, w, params, covs, fam._centre(D))
    assert loglik == pytest.approx(ref["loglik"], rel=1e-12)
    np.testing.assert_allclose(stats_["nk"], ref["nk"], rtol=1e-12)
    # a component of zero weight: every chunk declines (its log weight is -inf)
    params = dict(params, weights=np.array([0.3, 0.3, 0.2, 0.2, 0.0]))
    X[5] = X[6]
    taken["declined"] = taken["taken"] = 0
    s0, l0 = expectation(fam, params, Data(X, w), NumpyBackend(4096))
    assert taken["taken"] == 0 and taken["declined"] == 4
    ref = _reference(X, w, params, covs, fam._centre(D))
    assert l0 == pytest.approx(ref["loglik"], rel=1e-12)
    np.testing.assert_allclose(s0["nk"], ref["nk"], rtol=1e-12, atol=0)


@pytest.mark.parametrize("ct", ["full", "diag"])
def test_float32_rows_take_the_fused_chunks_in_float64_arithmetic(ct, taken):
    # the feature rows of float32 data are float64 (as on the generic path): the
    # plain float64 reference on the same float32 values agrees to 1e-12
    X, w, fam, params, covs = _setup(ct, n=9000, weighted=True)
    X32 = X.astype(np.float32)
    stats_, loglik = expectation(fam, params, Data(X32, w), NumpyBackend(4096))
    assert taken["taken"] == 3 and taken["declined"] == 0
    ref = _reference(X32.astype(np.float64), w, params, covs, fam._centre(D))
    assert loglik == pytest.approx(ref["loglik"], rel=1e-12)
    np.testing.assert_allclose(stats_["nk"], ref["nk"], rtol=1e-12)
    want = ref["sxx"] if ct == "full" else np.einsum("kaa->ka", ref["sxx"])
    np.testing.assert_allclose(stats_["sxx"], want, rtol=1e-10, atol=1e-10 * np.abs(want).max())


@pytest.mark.parametrize("ct", ["full", "tied", "diag", "spherical"])
def test_separated_data_with_subnormal_shares_equals_the_plain_reference(ct, taken, monkeypatch):
    # clusters far apart in units of their spread: some shares of the plain E-step are
    # subnormal (below 2.2e-308) and many below exp(-600); the fused chunk E-step takes
    # those as exactly zero (families/_shares.py) and still equals the reference to rounding
    from emkit.families._shares import FLUSH_GAP, flush_tiny

    flushed = []

    def counting_flush(gaps):
        flushed.append(int((gaps < FLUSH_GAP).sum()))
        flush_tiny(gaps)

    monkeypatch.setattr(gaussian, "flush_tiny", counting_flush)
    rng = np.random.default_rng(3)
    n = 22_000  # three blocks: 66,000 rows, past the small path's cache
    centres = np.array([[0.0, 0.0], [38.0, 0.0], [19.0, 33.0]])
    X = np.concatenate([rng.normal(c, 1.0, size=(n, 2)) for c in centres]) + [50.0, 70.0]
    w = rng.uniform(0.5, 2.0, size=len(X))
    fam = GaussianFamily(ct, 1e-6, np.average(X, axis=0, weights=w))
    assert not fits_cache(X, ct)
    covs = np.broadcast_to(np.eye(2), (3, 2, 2)).copy()
    init = {"full": covs, "tied": covs[0], "diag": np.ones((3, 2)), "spherical": np.ones(3)}[ct]
    params = fam.check_init({"means_init": centres + [50.0, 70.0], "precisions_init": init}, 3, 2)
    params["weights"] = np.array([0.3, 0.3, 0.4])
    lp = np.column_stack([np.log(params["weights"][k])
                          + stats.multivariate_normal(params["means"][k], covs[k]).logpdf(X)
                          for k in range(3)])
    norm = logsumexp(lp, axis=1)
    shares = np.exp(lp - norm[:, None])
    # what the test is about: the plain E-step has subnormal shares
    assert ((shares > 0.0) & (shares < np.finfo(np.float64).tiny)).sum() > 50
    stats_, loglik = expectation(fam, params, Data(X, w), NumpyBackend(8192, n_jobs=2))
    assert taken["taken"] == -(-len(X) // 8192) and taken["declined"] == 0
    assert sum(flushed) > 0.3 * X.size  # the flush ran in the chunk path and zeroed shares
    r = shares * w[:, None]
    Xc = X - fam._centre(2)
    assert loglik == pytest.approx(float(w @ norm) / w.sum(), rel=1e-12)
    np.testing.assert_allclose(stats_["nk"], r.sum(axis=0), rtol=1e-12)
    np.testing.assert_allclose(stats_["sx"], r.T @ Xc, rtol=0, atol=1e-12 * np.abs(r.T @ Xc).max())
    sxx = np.stack([(Xc * r[:, k, None]).T @ Xc for k in range(3)])
    want = {"full": sxx, "tied": (Xc * w[:, None]).T @ Xc, "diag": np.einsum("kaa->ka", sxx),
            "spherical": np.repeat(np.einsum("kaa->k", sxx)[:, None] / 2, 2, axis=1)}[ct]
    np.testing.assert_allclose(stats_["sxx"], want, rtol=0, atol=1e-12 * np.abs(want).max())
