"""The default start's family-independent draws, shared by the fits of one selection.

Inside ``shared_starts`` a second fit of the same data, number of components
and random state reuses the first fit's subsample and centres instead of
drawing them again; it must get exactly what it would get alone and leave
its random generator where it would be.
"""

from __future__ import annotations

import numpy as np
import pytest

import emkit.engine.starts as starts
from emkit.backends.numpy_backend import Data, NumpyBackend
from emkit.engine._shared_starts import shared_starts
from emkit.families._gaussian_structured import gaussian_family


def _data(n=2100, seed=3):
    # above SHORT_RUN_SIZE rows, so the short runs use a drawn subsample
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal([0.0, 0.0], 1.0, (n // 2, 2)),
                   rng.normal([5.0, 1.0], [0.5, 2.0], (n - n // 2, 2))])
    return Data(X, np.ones(n))


def _family(model, X):
    return gaussian_family(model, 1e-6, X.mean(axis=0), X.shape[1])


def _run(model, data, K=3):
    rng = np.random.RandomState(0)
    best, failed = starts.auto_starts(_family(model, data.X), data, K, rng, NumpyBackend())
    return best, failed, rng.uniform()  # the generator's next draw: where it was left


@pytest.fixture
def made(monkeypatch):
    """How many times the draws were made (not taken from the store)."""
    count = [0]
    draws = starts._draws

    def spy(*args, **kw):
        count[0] += 1
        return draws(*args, **kw)

    monkeypatch.setattr(starts, "_draws", spy)
    return count


def _same(a, b):
    (best_a, failed_a, next_a), (best_b, failed_b, next_b) = a, b
    assert failed_a == failed_b and next_a == next_b
    assert [c.name for c in best_a] == [c.name for c in best_b]
    for ca, cb in zip(best_a, best_b):
        assert ca.log_likelihood == cb.log_likelihood
        for key in ca.params:
            np.testing.assert_array_equal(ca.params[key], cb.params[key])


def test_a_second_model_reuses_the_draws_and_gets_its_own_result(made):
    data = _data()
    alone = [_run(m, data) for m in ("VVV", "EEI")]
    assert made[0] == 2
    with shared_starts():
        shared = [_run(m, data) for m in ("VVV", "EEI")]
    assert made[0] == 3  # the EEI fit took VVV's draws
    for a, b in zip(alone, shared):
        _same(a, b)
    # the models' own short runs still differ: only the draws were shared
    assert alone[0][0][0].log_likelihood != alone[1][0][0].log_likelihood


def test_other_data_K_or_random_state_draw_again(made):
    data = _data()
    with shared_starts():
        _run("VVV", data, K=3)
        _run("VVV", data, K=2)  # another K
        _run("VVV", _data(seed=4), K=3)  # other rows
        other = Data(data.X, np.r_[2.0, np.ones(data.n_samples - 1)])  # other weights
        _run("VVV", other, K=3)
        rng = np.random.RandomState(1)  # another random state
        starts.auto_starts(_family("VVV", data.X), data, 3, rng, NumpyBackend())
    assert made[0] == 5
    # and nothing is kept after the context
    _run("VVV", data, K=3)
    assert made[0] == 6
