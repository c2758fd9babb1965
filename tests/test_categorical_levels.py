"""The categories of a categorical fit are the distinct codes seen (issue 10, item 8).

``levels_`` holds their codes; everything above the family (scores, samples,
descriptions, plots, model files, warm starts, mixed blocks) speaks in codes,
and the fit equals the fit of the table recoded to ``0 .. C-1``.
"""

import json

import numpy as np
import pytest

import emkit
from emkit import plotting
from emkit.exceptions import ModelFileError

CODES = np.array([3, 10, 1e6])  # three categories, none of them 0 .. 2


def _table(n=300, seed=0):
    """Two latent classes over two items coded 0, 1, 2 (returned recoded with CODES too)."""
    rng = np.random.default_rng(seed)
    z = rng.integers(0, 2, n)[:, None]
    idx = np.where(z == 1, rng.choice(3, (n, 2), p=[0.7, 0.2, 0.1]),
                   rng.choice(3, (n, 2), p=[0.1, 0.2, 0.7]))
    return idx.astype(float), CODES[idx]


def test_fit_on_codes_equals_fit_on_indices():
    idx, X = _table()
    kw = dict(weights_init=[0.3, 0.7], probs_init=[[[0.5, 0.3, 0.2]] * 2, [[0.2, 0.3, 0.5]] * 2])
    ref = emkit.CategoricalMixture(2, **kw).fit(idx)
    cm = emkit.CategoricalMixture(2, **kw).fit(X)
    np.testing.assert_array_equal(ref.levels_, [0, 1, 2])
    np.testing.assert_array_equal(cm.levels_, CODES)
    assert cm.levels_.dtype == np.int64 and cm.n_categories_ == 3
    np.testing.assert_allclose(cm.probs_, ref.probs_, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(cm.score_samples(X), ref.score_samples(idx), rtol=1e-12)
    np.testing.assert_array_equal(cm.predict(X), ref.predict(idx))
    # 2 x 2 x (3 - 1) + 1 free parameters, not 2 x 2 x 1e6 from the largest code
    assert cm._n_parameters() == 9 and cm.bic(X) == pytest.approx(ref.bic(idx), rel=1e-12)
    # samples are codes, drawn with the fitted probabilities
    S, labels = cm.sample(20_000)
    assert set(np.unique(S)) <= set(CODES)
    share = (S[labels == 0, 0] == CODES[0]).mean()
    assert share == pytest.approx(cm.probs_[0, 0, 0], abs=0.03)
    # the description is headed by the codes
    desc = cm._fitted_family().describe(cm._fitted_params())
    assert [c.label for c in desc.columns] == ["P(=3)", "P(=10)", "P(=1000000)"]
    np.testing.assert_array_equal(desc.fields["levels"], CODES)


def test_unknown_codes_are_named_or_missing():
    idx, X = _table()
    cm = emkit.CategoricalMixture(2, random_state=0).fit(X)
    with pytest.raises(ValueError, match=r"X\[1, 0\] = 4 .*not one of the 3 categories.*levels_ = \[3, 10, 1e\+06\]"):
        cm.predict(np.array([[3.0, 10.0], [4.0, 3.0]]))
    cm = emkit.CategoricalMixture(2, missing="marginalize", unknown="missing", random_state=0).fit(X)
    Y = X[:6].copy()
    Y[2, 1] = 0.0  # below every code
    Y[4, 0] = 11.0  # between two codes
    as_nan = Y.copy()
    as_nan[2, 1] = as_nan[4, 0] = np.nan
    np.testing.assert_allclose(cm.score_samples(Y), cm.score_samples(as_nan), rtol=1e-13)
    # a missing cell at predict time scores (the fill value is a category)
    assert np.all(np.isfinite(cm.score_samples(as_nan)))


def test_warm_start_keeps_the_levels_and_names_a_new_code():
    idx, X = _table()
    cm = emkit.CategoricalMixture(2, warm_start=True, random_state=0).fit(X)
    cm.fit(X[:100])  # fewer rows, one code missing from them or not: the same categories
    np.testing.assert_array_equal(cm.levels_, CODES)
    Y = X.copy()
    Y[5, 1] = 7.0
    with pytest.raises(ValueError, match=r"warm_start: category code 7 is not one of the fitted model's 3"):
        cm.fit(Y)


def test_probs_init_must_match_the_categories():
    idx, X = _table()
    with pytest.raises(ValueError, match=r"probs_init has 4 categories, but X holds 3 distinct codes \[3, 10, 1e\+06\]"):
        emkit.CategoricalMixture(2, probs_init=np.full((2, 2, 4), 0.25)).fit(X)
    # over more categories than codes seen, when the codes are indices: categories 0 .. C-1
    cm = emkit.CategoricalMixture(2, probs_init=np.full((2, 2, 5), 0.2), random_state=0).fit(idx)
    np.testing.assert_array_equal(cm.levels_, np.arange(5))
    # n_categories: the codes 0 .. C-1, observed or not
    cm = emkit.CategoricalMixture(2, n_categories=4, random_state=0).fit(idx)
    np.testing.assert_array_equal(cm.levels_, np.arange(4))
    with pytest.raises(ValueError, match=r"is not below n_categories = 4"):
        emkit.CategoricalMixture(2, n_categories=4).fit(X)


def test_model_file_keeps_levels_and_refuses_bad_ones(tmp_path):
    idx, X = _table()
    cm = emkit.CategoricalMixture(2, random_state=0).fit(X)
    path = tmp_path / "m.emk"
    emkit.save(cm, path)
    back = emkit.load(path)
    np.testing.assert_array_equal(back.levels_, CODES)
    np.testing.assert_array_equal(back.score_samples(X), cm.score_samples(X))
    from tests.test_modelfile_hardening import array_entry, sign, split

    for bad in ([3, 3, 10], [10, 3, 1e6], [-1, 3, 10], [3, 10, 2**60]):
        v, h, p = split(path.read_bytes())
        e = array_entry(h, "levels_")
        assert e["dtype"] == "<i8" and e["shape"] == [3]
        p[e["offset"]:e["offset"] + e["nbytes"]] = np.asarray(bad, dtype="<i8").tobytes()
        (tmp_path / "bad.emk").write_bytes(sign(h, p))
        with pytest.raises(ModelFileError, match="levels must be 3 increasing non-negative integer codes"):
            emkit.load(tmp_path / "bad.emk")
    # levels of the wrong length: shape check against probs_
    v, h, p = split(path.read_bytes())
    array_entry(h, "levels_")["shape"] = [1]
    array_entry(h, "levels_")["nbytes"] = 8
    with pytest.raises(ModelFileError, match=r"levels_ has shape \(1,\).*need \(3,\)"):
        emkit._modelfile.loads(sign(h, p))
    assert json.dumps(h)  # the header stayed JSON


def test_mixed_block_levels():
    idx, X = _table()
    rng = np.random.default_rng(1)
    data = np.c_[rng.normal(size=X.shape[0]), X[:, 0]]
    m = emkit.MixedMixture(2, blocks=[("gaussian", [0]), ("categorical", [1])], random_state=0).fit(data)
    np.testing.assert_array_equal(m.b1_levels_, CODES)
    assert m.b1_probs_.shape == (2, 1, 3)
    S, _ = m.sample(50)
    assert set(np.unique(S[:, 1])) <= set(CODES)


def test_pmf_plot_draws_one_bar_per_category_labelled_with_its_code():
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    idx, X = _table()
    cm = emkit.CategoricalMixture(2, random_state=0).fit(X)
    ax = Figure(figsize=(6, 4), dpi=50).add_subplot()
    plotting.plot_pmf(cm, X, feature=1, ax=ax)
    bars = ax.patches
    assert [b.get_x() + b.get_width() / 2 for b in bars] == pytest.approx([0, 1, 2])
    np.testing.assert_allclose([b.get_height() for b in bars], [(X[:, 1] == c).mean() for c in CODES])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["3", "10", "1e+06"]
    mixture = ax.get_lines()[-1]
    np.testing.assert_allclose(mixture.get_ydata(), cm.weights_ @ cm.probs_[:, 1, :], rtol=1e-12)


def test_missing_cells_add_no_category():
    # at set-up a missing cell stands in as a code the data holds, never as a new category
    idx, X = _table()
    X[4, 0] = X[7, 1] = np.nan
    X[9] = np.nan
    cm = emkit.CategoricalMixture(2, missing="marginalize", random_state=0).fit(X)
    np.testing.assert_array_equal(cm.levels_, CODES)
    rng = np.random.default_rng(2)
    data = np.c_[rng.normal(size=X.shape[0]), X]
    for chunk_size in (None, 64):  # in memory, and set up chunk by chunk
        m = emkit.MixedMixture(2, blocks=[("gaussian", [0]), ("categorical", [1, 2])],
                               missing="marginalize", chunk_size=chunk_size, random_state=0).fit(data)
        np.testing.assert_array_equal(m.b1_levels_, CODES)
        assert np.all(np.isfinite(m.score_samples(data)))
