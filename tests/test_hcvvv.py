"""Model-based hierarchical agglomeration (VVV) against mclust's ``hc`` and a plain reference.

tests/fixtures/mclust/hc_vvv_<name>.csv hold mclust 6.0.0's
``hclass(hc(X, modelName = "VVV", use = "SVD"), 1:9)`` (make_hc_fixtures.R
there).  emkit's tree must give the same partitions on data without tied
merge costs: a simulated continuous set, banknote and iris.  On Old
Faithful (integer waiting times, many exactly tied distances) the first
merges are decided by rounding in both programs, so only the top split is
compared.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

import emkit
from emkit.backends.numpy_backend import Data
from emkit.engine.hcvvv import group_duplicates, svd_coordinates, vvv_alpha, vvv_merges
from emkit.engine.mbhac import cut, mbhac_labels, ward_merges

FIXTURES = Path(__file__).parent / "fixtures" / "mclust"


def load(name):
    return np.loadtxt(FIXTURES / f"{name}.csv", delimiter=",", skiprows=1)


def same_partition(a, b) -> bool:
    """Equal up to renaming the clusters."""
    pairs = set(zip(a.tolist(), b.tolist()))
    return len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


@pytest.mark.parametrize("name,source", [("sim", "hc_sim"), ("banknote", "banknote"),
                                         ("iris", "iris")])
def test_reproduces_mclust_hclass(name, source):
    X = load(source)
    ref = load(f"hc_vvv_{name}").astype(int)
    labels = np.stack([mbhac_labels(Data(X, np.ones(len(X))), g, "vvv") for g in range(1, 10)], 1)
    for g in range(9):
        assert same_partition(labels[:, g], ref[:, g]), (name, g + 1)


def test_faithful_top_split_matches_mclust():
    X = load("faithful")
    ref = load("hc_vvv_faithful").astype(int)
    lab = mbhac_labels(Data(X, np.ones(len(X))), 2, "vvv")
    agree = max(np.mean(lab == (ref[:, 1] - 1)), np.mean(lab == (2 - ref[:, 1])))
    assert agree >= 0.99


def test_svd_coordinates_match_mclust_definition():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(40, 3)) @ rng.normal(size=(3, 3)) + 5.0
    Z = svd_coordinates(X, np.ones(40))
    # mclust: scale(X) (sd with n - 1), then X_s V diag(1 / sqrt(d)) from svd(X_s)
    Xs = (X - X.mean(0)) / X.std(0, ddof=1)
    _, d, Vt = np.linalg.svd(Xs, full_matrices=False)
    np.testing.assert_allclose(np.abs(Z), np.abs(Xs @ Vt.T / np.sqrt(d)), rtol=1e-12, atol=1e-12)
    # weights act as repeated rows
    w = rng.integers(1, 4, size=40).astype(float)
    Zw = svd_coordinates(X, w)
    Zr = svd_coordinates(np.repeat(X, w.astype(int), axis=0), np.ones(int(w.sum())))
    _, first = np.unique(np.repeat(np.arange(40), w.astype(int)), return_index=True)
    np.testing.assert_allclose(np.abs(Zw), np.abs(Zr[first]), rtol=1e-10, atol=1e-12)


def _term(pts, p, alpha):
    # the regularised VVV criterion of one cluster, written out (Fraley 1998)
    n = len(pts)
    W = (pts - pts.mean(0)).T @ (pts - pts.mean(0))
    base = (np.trace(W) + alpha) / n
    return n * np.log(base if n <= p else np.linalg.det(W / n) + base)


def test_greedy_merges_equal_a_plain_reference():
    # the same tree as a brute-force agglomeration: every step, every pair of clusters
    rng = np.random.default_rng(5)
    Z = np.vstack([rng.normal(size=(9, 2)) * [1, 3], rng.normal(size=(8, 2)) + [4, 0]])
    m, p = Z.shape
    alpha = vvv_alpha(Z, np.ones(m))
    clusters = {i: [i] for i in range(m)}
    ref = []
    for _ in range(m - 1):
        best = min(
            ((_term(Z[clusters[a] + clusters[b]], p, alpha) - _term(Z[clusters[a]], p, alpha)
              - _term(Z[clusters[b]], p, alpha), a, b)
             for a, b in itertools.combinations(sorted(clusters), 2)),
        )
        _, a, b = best
        ref.append((a, b))
        clusters[a] += clusters.pop(b)
    np.testing.assert_array_equal(vvv_merges(Z, np.ones(m), alpha), np.array(ref))



def test_ward_merges_cut_like_scipy_ward_linkage():
    # the Ward tree, through the same greedy driver, against scipy's Ward linkage: the same
    # partition at every number of clusters (continuous data, no tied merge costs)
    from scipy.cluster.hierarchy import cut_tree, linkage

    rng = np.random.default_rng(11)
    Z = np.vstack([rng.normal(size=(25, 3)), rng.normal(size=(20, 3)) + [3, 0, 1]])
    m = Z.shape[0]
    merges = ward_merges(Z, np.ones(m))
    tree = linkage(Z, method="ward")
    for k in range(1, m + 1):
        assert same_partition(cut(merges, m, k), cut_tree(tree, n_clusters=k)[:, 0]), k

def test_duplicates_start_as_one_cluster():
    X = np.array([[0.0, 0.0], [1.0, 2.0], [0.0, 0.0], [5.0, 1.0], [1.0, 2.0]])
    Xu, wu, rows = group_duplicates(X, np.ones(5))
    np.testing.assert_array_equal(Xu, [[0, 0], [1, 2], [5, 1]])
    np.testing.assert_array_equal(wu, [2, 2, 1])
    np.testing.assert_array_equal(rows, [0, 1, 0, 2, 1])
    # a weight of k equals k identical rows
    merges_w = vvv_merges(svd_coordinates(Xu, wu), wu)
    labels = [cut(merges_w, 3, g)[rows] for g in (1, 2, 3)]
    labels_dup = [mbhac_labels(Data(X, np.ones(5)), g, "vvv") for g in (1, 2, 3)]
    for a, b in zip(labels, labels_dup):
        assert same_partition(a, b)


def test_mbhac_init_reaches_mclust_on_banknote():
    # mclust's start continued by EM: banknote, full (VVV), 3 components, mclust's optimum
    X = load("banknote")
    gm = emkit.GaussianMixture(3, covariance_type="full", init_params="mbhac").fit(X)
    assert gm.score(X) * len(X) == pytest.approx(-627.0370, abs=2e-3)
