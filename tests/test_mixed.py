"""MixedMixture: blocks of columns of different families in one mixture."""

import numpy as np
import pytest
from scipy import stats
from scipy.special import logsumexp

import emkit
from emkit import MixedMixture

BLOCKS = [("gaussian", [0, 1], {"reg_covar": 0.0}), ("categorical", [2]), ("poisson", [3])]


def _mixed_data(n=1500, seed=0):
    rng = np.random.default_rng(seed)
    z = rng.choice(3, n, p=[0.3, 0.3, 0.4])
    means = np.array([[0.0, 0.0], [3.0, 1.0], [6.0, -1.0]])
    X = np.empty((n, 4))
    for k in range(3):
        idx = z == k
        X[idx, :2] = rng.multivariate_normal(means[k], [[1.0, 0.3 * (k - 1)], [0.3 * (k - 1), 1.0]],
                                             idx.sum())
    cat_p = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6]])
    X[:, 2] = [rng.choice(3, p=cat_p[k]) for k in z]
    X[:, 3] = rng.poisson(np.array([1.0, 4.0, 9.0])[z])
    return X, z


def _start(X):
    """A deliberately rough start shared by emkit and the reference EM."""
    return {
        "weights": np.array([0.2, 0.3, 0.5]),
        "mu": np.array([[1.0, 0.5], [2.0, 0.0], [5.0, 0.0]]),
        "sigma": np.stack([np.eye(2) * s for s in (2.0, 1.5, 3.0)]),
        "cat": np.array([[0.4, 0.3, 0.3], [0.3, 0.4, 0.3], [0.3, 0.3, 0.4]]),
        "rate": np.array([2.0, 3.0, 6.0]),
    }


def _reference_loglik_and_resp(X, p):
    K = p["weights"].shape[0]
    lp = np.empty((X.shape[0], K))
    for k in range(K):
        lp[:, k] = (np.log(p["weights"][k])
                    + stats.multivariate_normal(p["mu"][k], p["sigma"][k]).logpdf(X[:, :2])
                    + np.log(p["cat"][k][X[:, 2].astype(int)])
                    + stats.poisson(p["rate"][k]).logpmf(X[:, 3]))
    ll = logsumexp(lp, axis=1)
    return ll.sum(), np.exp(lp - ll[:, None])


def _reference_em(X, p, n_iter):
    """Plain EM for Gaussian (full) x categorical x Poisson components."""
    p = {k: v.copy() for k, v in p.items()}
    for _ in range(n_iter):
        _, r = _reference_loglik_and_resp(X, p)
        nk = r.sum(axis=0)
        p["weights"] = nk / nk.sum()
        for k in range(r.shape[1]):
            mu = r[:, k] @ X[:, :2] / nk[k]
            D = X[:, :2] - mu
            p["mu"][k] = mu
            p["sigma"][k] = (r[:, k, None] * D).T @ D / nk[k]
            p["cat"][k] = [r[X[:, 2] == c, k].sum() / nk[k] for c in range(3)]
            p["rate"][k] = r[:, k] @ X[:, 3] / nk[k]
    return p


def _emkit_from(X, p, n_iter, **kw):
    m = MixedMixture(3, blocks=BLOCKS, random_state=0).fit(X)
    m.set_params(**{"warm_start": True, "max_iter": n_iter, "tol": 0.0, "acceleration": None, **kw})
    sigma = p["sigma"]
    m._store_params({
        "weights": p["weights"],
        "b0_means": p["mu"],
        "b0_covariances": sigma,
        "b0_precisions_cholesky": np.linalg.cholesky(np.linalg.inv(sigma)),
        "b1_probs": p["cat"][:, None, :],
        "b1_levels": np.arange(3),  # the categories' codes
        "b2_rates": p["rate"][:, None],
    })
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", emkit.ConvergenceWarning)
        return m.fit(X)


def test_same_iterates_and_loglik_as_a_plain_reference_em():
    X, _ = _mixed_data()
    start = _start(X)
    for n_iter in (1, 7):
        ref = _reference_em(X, start, n_iter)
        m = _emkit_from(X, start, n_iter)
        np.testing.assert_allclose(m.weights_, ref["weights"], rtol=1e-10)
        np.testing.assert_allclose(m.b0_means_, ref["mu"], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(m.b0_covariances_, ref["sigma"], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(m.b1_probs_[:, 0, :], ref["cat"], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(m.b2_rates_[:, 0], ref["rate"], rtol=1e-9)
        ll, _ = _reference_loglik_and_resp(X, ref)
        np.testing.assert_allclose(m.score(X) * X.shape[0], ll, rtol=1e-11)
        np.testing.assert_allclose(m.score_samples(X).sum(), ll, rtol=1e-11)


def test_converged_loglik_equals_reference_and_squarem_reaches_it():
    X, _ = _mixed_data()
    start = _start(X)
    ref = _reference_em(X, start, 400)
    ll_ref, _ = _reference_loglik_and_resp(X, ref)
    m = _emkit_from(X, start, 400)
    assert abs(m.score(X) * X.shape[0] - ll_ref) < 1e-6 * abs(ll_ref)
    acc = _emkit_from(X, start, 400, acceleration="squarem", tol=1e-12)
    assert acc.score(X) * X.shape[0] >= ll_ref - 1e-6 * abs(ll_ref)
    # history never decreases for plain EM (reg_covar = 0)
    assert np.all(np.diff(m.history_) >= -1e-12)


def test_parameter_count_is_the_sum_of_the_blocks():
    X, _ = _mixed_data(400)
    m = MixedMixture(3, blocks=BLOCKS, random_state=0).fit(X)
    # full Gaussian over 2 columns: 3*2 + 3*3; categorical 3 levels: 3*2; Poisson: 3; weights: 2
    assert m._n_parameters() == 15 + 6 + 3 + 2
    n = X.shape[0]
    np.testing.assert_allclose(m.bic(X), -2 * m.score(X) * n + 26 * np.log(n))
    np.testing.assert_allclose(m.aic(X), -2 * m.score(X) * n + 52)
    held = MixedMixture(3, blocks=BLOCKS, random_state=0, fixed=("b2_rates",)).fit(X)
    assert held._n_parameters() == 23


def test_latent_class_recovery_six_binary_items():
    rng = np.random.default_rng(1)
    probs = np.array([[0.9, 0.9, 0.9, 0.1, 0.1, 0.1],
                      [0.1, 0.1, 0.9, 0.9, 0.9, 0.2],
                      [0.85, 0.15, 0.1, 0.15, 0.85, 0.9]])
    # sampling error of a probability near 0.85 from ~1,500 rows is about 0.01
    weights = np.array([0.35, 0.35, 0.3])
    z = rng.choice(3, 5000, p=weights)
    X = (rng.random((5000, 6)) < probs[z]).astype(float)
    m = MixedMixture(3, blocks=[("bernoulli", list(range(6)))], n_init=3, tol=1e-8, max_iter=1000,
                     random_state=0).fit(X)
    order = [int(np.argmin(np.abs(m.b0_probs_ - p).sum(axis=1))) for p in probs]
    assert sorted(order) == [0, 1, 2]
    assert np.abs(m.b0_probs_[order] - probs).max() < 0.03
    assert np.abs(m.weights_[order] - weights).max() < 0.03
    # the same model as BernoulliMixture
    bm = emkit.BernoulliMixture(3, n_init=3, tol=1e-8, max_iter=1000, random_state=0).fit(X)
    np.testing.assert_allclose(bm.score(X), m.score(X), rtol=1e-7)


def test_chunks_and_weights_agree():
    X, _ = _mixed_data(900)
    kw = dict(blocks=BLOCKS, random_state=0, tol=1e-10, max_iter=30)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", emkit.ConvergenceWarning)
        a = MixedMixture(3, **kw).fit(X)
        b = MixedMixture(3, chunk_size=97, **kw).fit(X)
        np.testing.assert_allclose(a.history_, b.history_, rtol=1e-11)
        rep = np.r_[np.ones(450), np.full(450, 2.0)]
        w = MixedMixture(3, **kw).fit(X, sample_weight=rep)
        Xr = np.r_[X, X[450:]]
        r = MixedMixture(3, **kw).fit(Xr)
    np.testing.assert_allclose(np.sort(w.b2_rates_.ravel()), np.sort(r.b2_rates_.ravel()), rtol=1e-6)


def test_predict_sample_and_model_file_round_trip(tmp_path):
    pd = pytest.importorskip("pandas")
    X, z = _mixed_data(600)
    df = pd.DataFrame(X, columns=["height", "weight", "colour", "visits"])
    blocks = [("gaussian", ["height", "weight"], {"covariance_type": "diag"}),
              ("categorical", ["colour"]), ("poisson", ["visits"])]
    m = MixedMixture(3, blocks=blocks, random_state=0).fit(df)
    assert m.predict_proba(df).shape == (600, 3)
    np.testing.assert_allclose(m.predict_proba(df).sum(axis=1), 1.0)
    Xs, ys = m.sample(500)
    assert Xs.shape == (500, 4) and np.all(np.isin(Xs[:, 2], [0, 1, 2]))
    assert np.all(Xs[:, 3] == np.floor(Xs[:, 3])) and np.all(Xs[:, 3] >= 0)
    path = tmp_path / "mixed.emk"
    emkit.save(m, path)
    back = emkit.load(path)
    assert type(back) is MixedMixture and back.get_params()["blocks"] is not None
    np.testing.assert_array_equal(back.score_samples(df), m.score_samples(df))
    np.testing.assert_array_equal(back.predict(df), m.predict(df))
    assert back.block_params_[0]["covariances"].shape == (3, 2)


def test_model_file_with_bad_block_parameters_is_rejected(tmp_path):
    from emkit import _modelfile
    from emkit.io import ModelFileError

    X, _ = _mixed_data(300)
    m = MixedMixture(3, blocks=BLOCKS, random_state=0).fit(X)
    m.b2_rates_ = -m.b2_rates_
    path = tmp_path / "bad.emk"
    path.write_bytes(_modelfile.dumps(m))
    with pytest.raises(ModelFileError, match="block 2 .poisson.*negative"):
        emkit.load(path)


@pytest.mark.parametrize("blocks, message", [
    ([("gaussian", [0, 1, 0]), ("poisson", [2, 3])], r"blocks\[0\] \(gaussian\) names column 0 twice"),
    ([("gaussian", [0, 1]), ("poisson", [1, 2, 3])], r"column 1 is in two blocks \(blocks\[0\] and blocks\[1\]\)"),
    ([("gaussian", [0, 1]), ("poisson", [3])], r"column\(s\) 2 of X are in no block"),
    ([("gaussian", [0, 1]), ("poisson", [2, 3, 9])], "column index 9 is out of range"),
    ([("weibull", [0, 1, 2, 3])], "family must be one of"),
    ([("gaussian", [0, 1], {"covariance_type": "round"}), ("poisson", [2, 3])], r"blocks\[0\] \(gaussian\).*covariance_type"),
    ([("gaussian", [0, 1], {"rates": 1}), ("poisson", [2, 3])], r"blocks\[0\] \(gaussian\): bad option"),
    ([], "blocks is empty"),
    ([("gaussian", ["a"]), ("poisson", [1, 2, 3])], "X has no column names"),
    ([("gaussian", [0, 1]), ("poisson", [2])], r"column\(s\) 3 of X are in no block"),
    ([("gaussian", [0]), ("bernoulli", [1, 2, 3])], r"blocks\[1\] \(bernoulli, X columns 1, 2, 3.*X\[0, 1\]"),
])
def test_bad_blocks_are_errors_that_say_where(blocks, message):
    X, _ = _mixed_data(200)
    with pytest.raises(ValueError, match=message):
        MixedMixture(2, blocks=blocks).fit(X)


def test_named_column_twice_and_in_two_blocks_with_a_dataframe():
    pd = pytest.importorskip("pandas")
    X, _ = _mixed_data(200)
    df = pd.DataFrame(X, columns=list("abcd"))
    with pytest.raises(ValueError, match="names column 'a' twice"):
        MixedMixture(2, blocks=[("gaussian", ["a", "b", "a"]), ("poisson", ["c", "d"])]).fit(df)
    with pytest.raises(ValueError, match="column 'c' is in two blocks"):
        MixedMixture(2, blocks=[("gaussian", ["a", "b", "c"]), ("poisson", ["c", "d"])]).fit(df)
    with pytest.raises(ValueError, match="no column named 'e'"):
        MixedMixture(2, blocks=[("gaussian", ["a", "b"]), ("poisson", ["c", "d", "e"])]).fit(df)


def test_describe_places_every_block_at_its_columns():
    X, _ = _mixed_data(400)
    m = MixedMixture(3, blocks=BLOCKS, random_state=0).fit(X)
    desc = m._fitted_family().describe(m._fitted_params())
    cols = {c.label: c.values for c in desc.columns}
    assert cols["mean"].shape == (3, 4)
    np.testing.assert_array_equal(cols["mean"][:, :2].astype(float), m.b0_means_)
    assert all(v is None for v in cols["mean"][:, 2:].ravel())
    np.testing.assert_array_equal(cols["rate"][:, 3].astype(float), m.b2_rates_[:, 0])
    np.testing.assert_array_equal(cols["P(=1)"][:, 2].astype(float), m.b1_probs_[:, 0, 1])
    assert [b["family"] for b in desc.fields["blocks"]] == ["gaussian", "categorical", "poisson"]
