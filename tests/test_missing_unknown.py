"""unknown="missing": a category seen only at predict time is a missing cell (under marginalize)."""

import numpy as np
import pytest

import emkit
from emkit import MixedMixture


def _codes(n=400, seed=0):
    rng = np.random.default_rng(seed)
    z = rng.choice(2, n)
    X = np.c_[rng.choice(3, n, p=[0.7, 0.2, 0.1]) * (z == 0) + rng.choice(3, n, p=[0.1, 0.2, 0.7]) * (z == 1),
              rng.choice(4, n)].astype(float)
    return X


def test_unseen_code_scores_like_a_missing_cell():
    X = _codes()
    m = emkit.CategoricalMixture(2, missing="marginalize", unknown="missing", random_state=0).fit(X)
    assert m.n_categories_ == 4
    Y = X[:20].copy()
    Y[3, 0], Y[7, 1], Y[9] = 6.0, 4.0, [5.0, 9.0]
    as_nan = Y.copy()
    as_nan[Y >= 4] = np.nan
    np.testing.assert_allclose(m.score_samples(Y), m.score_samples(as_nan), rtol=1e-13)
    np.testing.assert_array_equal(m.predict_proba(Y), m.predict_proba(as_nan))
    assert m.score_samples(Y)[9] == pytest.approx(0.0, abs=1e-12)  # nothing observed
    # a seen code is not touched
    np.testing.assert_array_equal(m.score_samples(X[:20]), m.score_samples(X)[:20])


def test_unseen_code_is_an_error_naming_it_unless_asked():
    X = _codes()
    m = emkit.CategoricalMixture(2, missing="marginalize", random_state=0).fit(X)
    Y = X[:5].copy()
    Y[2, 1] = 7.0
    with pytest.raises(ValueError, match=r"X\[2, 1\] = 7 .*unknown='missing'"):
        m.predict(Y)
    with pytest.raises(ValueError, match="unknown='missing'.*needs missing='marginalize'"):
        emkit.CategoricalMixture(2, unknown="missing").fit(X)
    with pytest.raises(ValueError, match="unknown"):
        emkit.CategoricalMixture(2, missing="marginalize", unknown="drop").fit(X)


def test_mixed_block_option_and_model_file(tmp_path):
    rng = np.random.default_rng(1)
    X = np.c_[rng.normal(size=300), _codes(300)[:, 0]]
    blocks = [("gaussian", [0]), ("categorical", [1], {"unknown": "missing"})]
    with pytest.raises(ValueError, match=r"blocks\[1\] \(categorical\).*missing='marginalize'"):
        MixedMixture(2, blocks=blocks).fit(X)
    m = MixedMixture(2, blocks=blocks, missing="marginalize", random_state=0).fit(X)
    Y = X[:10].copy()
    Y[4, 1] = 8.0
    as_nan = Y.copy()
    as_nan[4, 1] = np.nan
    np.testing.assert_allclose(m.score_samples(Y), m.score_samples(as_nan), rtol=1e-13)
    path = tmp_path / "m.emk"
    emkit.save(m, path)
    np.testing.assert_array_equal(emkit.load(path).score_samples(Y), m.score_samples(Y))
    c = emkit.CategoricalMixture(2, missing="marginalize", unknown="missing", random_state=0).fit(
        _codes())
    emkit.save(c, tmp_path / "c.emk")
    back = emkit.load(tmp_path / "c.emk")
    assert back.unknown == "missing"
    np.testing.assert_array_equal(back.score_samples(np.array([[9.0, 1.0]])),
                                  c.score_samples(np.array([[np.nan, 1.0]])))
