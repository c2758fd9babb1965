"""read_table raises only DataError, whatever the file holds (issue 10, item 7)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from emkit.io import DataError, read_table


def write(tmp_path, text, name="t.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_field_over_the_csv_limit_is_a_data_error_with_its_row(tmp_path):
    path = write(tmp_path, "a,b\n1,2\n1," + "2" * 200_000 + "\n")
    with pytest.raises(DataError, match=r"t\.csv: row 3: a cell longer than the CSV field limit"):
        read_table(path)
    path = write(tmp_path, 'a,b\n1,"' + "x" * 200_000 + '"\n')
    with pytest.raises(DataError, match=r"row 2: a cell longer"):
        read_table(path)


def test_unterminated_quote_in_header_is_an_error_not_an_empty_table(tmp_path):
    path = write(tmp_path, '"a,b\n1,2\n3,4\n')
    with pytest.raises(DataError, match="unterminated quote in the first row"):
        read_table(path)


@pytest.mark.parametrize("text", ["x;y\n1,5;2,25\n3,0;4,5\n", "1,5;2,25\n3,0;4,5\n"])
def test_semicolon_decimal_comma_file_is_sniffed_or_explained(tmp_path, text):
    path = write(tmp_path, text)
    X, _ = read_table(path)
    np.testing.assert_array_equal(X, [[1.5, 2.25], [3.0, 4.5]])
    with pytest.raises(DataError, match=r"';'-separated.*decimal commas.*delimiter=';' and decimal=','"):
        read_table(path, delimiter=",")


def test_ordinary_files_still_read(tmp_path):
    X, names = read_table(write(tmp_path, 'a,"b;c"\n1.5,2\n3,4\n'))
    assert names == ["a", "b;c"]
    np.testing.assert_array_equal(X, [[1.5, 2.0], [3.0, 4.0]])


_PIECES = ['"', ",", ";", "\n", "\r\n", "1", "-2.5", "1e400", "nan", "x", " ", "\t", "\x00",
           '""', "é", "1,5", "a", "NA", "\ufeff", "9" * 50]


def test_fuzzed_csv_files_raise_only_data_error(tmp_path):
    rng = np.random.default_rng(7)
    base = "a,b,c\n1,2,3\n4.5,-6,7e3\n8,9,10\n"
    start = time.perf_counter()
    outcomes = {"read": 0, "refused": 0}
    for i in range(300):
        chars = list(base)
        for _ in range(int(rng.integers(1, 6))):
            pos = int(rng.integers(len(chars) + 1))
            op = rng.integers(3)
            piece = _PIECES[int(rng.integers(len(_PIECES)))]
            if op == 0:
                chars.insert(pos, piece)
            elif op == 1 and chars:
                del chars[min(pos, len(chars) - 1)]
            else:
                chars[min(pos, len(chars) - 1):min(pos, len(chars) - 1) + 1] = [piece]
        if i % 25 == 0:  # now and then a huge cell
            chars.insert(int(rng.integers(len(chars))), "7" * 140_000)
        path = write(tmp_path, "".join(chars), name=f"f{i % 3}.csv")
        try:
            X, names = read_table(path)
        except DataError:
            outcomes["refused"] += 1
            continue
        outcomes["read"] += 1
        assert X.ndim == 2 and X.shape[1] == len(names) and X.shape[0] >= 1
        assert not np.isnan(X).any()  # missing cells raise unless drop_missing
    assert outcomes["read"] > 20 and outcomes["refused"] > 20
    assert time.perf_counter() - start < 60


# ------------------------------------------------ categorical codes (item 8)
def test_stray_huge_category_code_is_one_more_category():
    # the categories are the distinct codes seen: a stray 1e9 is a fourth category (the
    # largest code + 1 asked for 1e9 of them, 1.47 TiB), and the fit is the recoded table's
    import tracemalloc

    import emkit

    rng = np.random.default_rng(0)
    z = rng.integers(0, 2, 500)[:, None]  # two latent classes
    X = np.where(z == 1, rng.choice(3, (500, 2), p=[0.7, 0.2, 0.1]),
                 rng.choice(3, (500, 2), p=[0.1, 0.2, 0.7])).astype(float)
    start = dict(weights_init=[0.4, 0.6], probs_init=rng.dirichlet(np.ones(4), (2, 2)))
    recoded = X.copy()
    recoded[::25, 1] = 3.0  # 20 rows hold the stray code
    ref = emkit.CategoricalMixture(2, **start).fit(recoded)
    for code in (1e9, 2.0**53):
        X[::25, 1] = code
        tracemalloc.start()
        try:
            with pytest.warns(emkit.ConvergenceWarning):
                emkit.CategoricalMixture(2, max_iter=2, tol=0.0, **start).fit(X)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 20_000_000
        cm = emkit.CategoricalMixture(2, **start).fit(X)
        np.testing.assert_array_equal(cm.levels_, [0, 1, 2, code])
        assert cm.n_categories_ == 4 and cm.probs_.shape == (2, 2, 4)
        np.testing.assert_allclose(cm.probs_, ref.probs_, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(cm.score_samples(X), ref.score_samples(recoded), rtol=1e-12)
        assert cm.bic(X) == pytest.approx(ref.bic(recoded), rel=1e-12)
        assert set(np.unique(cm.sample(200)[0])) <= {0.0, 1.0, 2.0, code}
        # a code the fit never saw is named, with the categories it has
        with pytest.raises(ValueError, match=r"X\[0, 1\] = 3 .*not one of the 4 categories.*levels_ = \[0, 1, 2, "):
            cm.predict([[0.0, 3.0]])
        # default starts too: finite, the same four categories
        cm = emkit.CategoricalMixture(2, random_state=0).fit(X)
        assert np.all(np.isfinite(cm.probs_)) and cm.n_categories_ == 4


def test_more_distinct_codes_than_the_limit_is_a_clear_error_in_bounded_memory():
    import tracemalloc

    import emkit
    from emkit.families.categorical import MAX_CATEGORIES

    X = np.arange(MAX_CATEGORIES + 1, dtype=float)[:, None] * 7.0
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=r"more than 100,000 distinct category codes \(the limit"):
            emkit.CategoricalMixture(2, random_state=0).fit(X)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 40 * X.nbytes  # chunk-sized work, no (codes x categories) arrays
    # at the limit it fits (one category per code)
    cm = emkit.CategoricalMixture(1, random_state=0).fit(X[:MAX_CATEGORIES])
    assert cm.n_categories_ == MAX_CATEGORIES
    with pytest.raises(ValueError, match="n_categories=200000 is above the limit"):
        emkit.CategoricalMixture(2, n_categories=200_000).fit(np.zeros((10, 1)))


def test_many_categories_cost_no_dense_one_hot():
    # 20,000 categories over 5,000 rows: the dense one-hot would be 5,000 x 20,000 floats
    import tracemalloc

    import emkit

    rng = np.random.default_rng(1)
    X = np.c_[rng.integers(0, 20_000, 5_000), rng.integers(0, 2, 5_000)].astype(float)
    tracemalloc.start()
    try:
        cm = emkit.CategoricalMixture(2, random_state=0, max_iter=3, tol=0.0)
        with pytest.warns(emkit.ConvergenceWarning):
            cm.fit(X)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    np.testing.assert_array_equal(cm.levels_, np.unique(X))  # the distinct codes seen
    assert peak < 200 * 5_000 * 2 * 8 + 30 * 20_000 * 2 * 8  # rows x features, params
    # the sparse encoding gives the same scores as the definition
    lp = cm.component_log_densities(X[:50])
    c0, c1 = (np.searchsorted(cm.levels_, X[:50, j]) for j in (0, 1))
    ref = np.log(cm.probs_[:, 0, c0]).T + np.log(cm.probs_[:, 1, c1]).T
    np.testing.assert_allclose(lp, np.maximum(ref, -1e300), rtol=1e-12)
