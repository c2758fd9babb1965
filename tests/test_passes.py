"""Data passes before EM: one for checks and set-up, the rest the initialisation's own."""

import numpy as np
import pytest

import emkit
import emkit.mixture._base as base
from emkit.backends.numpy_backend import NumpyBackend
from emkit.datasets import load_faithful


class _StopBeforeEM(Exception):
    pass


@pytest.fixture
def count_passes(monkeypatch):
    """Count the backend passes over the data, by phase, until EM would start."""
    log = []
    for name in ("map_reduce", "map_concat"):
        orig = getattr(NumpyBackend, name)

        def wrapped(self, fn, data, *args, _orig=orig, **kwargs):
            log.append(phase[0])
            return _orig(self, fn, data, *args, **kwargs)

        monkeypatch.setattr(NumpyBackend, name, wrapped)
    phase = ["checks and set-up"]

    def in_phase(name, fn):
        def run(*args, **kwargs):
            phase[0] = name
            try:
                return fn(*args, **kwargs)
            finally:
                phase[0] = "other"
        return run

    monkeypatch.setattr(base, "make_start", in_phase("initialisation", base.make_start))
    monkeypatch.setattr(base, "auto_starts", in_phase("initialisation", base.auto_starts))
    monkeypatch.setattr(base, "params_from_start", in_phase("initial M-step", base.params_from_start))

    def stop(*args, **kwargs):
        raise _StopBeforeEM

    monkeypatch.setattr(base, "run_em", stop)

    def passes(est, X, **kwargs):
        log.clear()
        phase[0] = "checks and set-up"
        with pytest.raises(_StopBeforeEM):
            est.fit(X, **kwargs)
        return {p: log.count(p) for p in dict.fromkeys(log)}

    return passes


@pytest.mark.parametrize("make", [
    lambda rng: (emkit.GaussianMixture(3, random_state=0), load_faithful(), {}),
    lambda rng: (emkit.PoissonMixture(3, random_state=0), rng.poisson(3.0, (400, 2)).astype(float), {}),
    lambda rng: (emkit.BinomialMixture(2, random_state=0), rng.binomial(8, 0.3, (400, 2)).astype(float),
                 {"n_trials": 8}),
    lambda rng: (emkit.CategoricalMixture(2, random_state=0), rng.integers(0, 4, (400, 3)).astype(float), {}),
])
@pytest.mark.parametrize("init", ["kmeans", "auto"])
def test_one_pass_checks_and_sets_up_the_data(count_passes, make, init):
    est, X, kwargs = make(np.random.default_rng(0))
    est.set_params(init_params=init)
    passes = count_passes(est, X, **kwargs)
    if init == "auto":
        # the short runs are the initialisation's own passes; set-up is still one pass
        assert passes["checks and set-up"] == 1
        assert set(passes) == {"checks and set-up", "initialisation"}
        return
    # finite values, support, centre / category count: all in one pass; the base
    # measure is computed in blocks without a backend pass
    assert passes["checks and set-up"] == 1
    assert passes["initial M-step"] == 1
    assert set(passes) == {"checks and set-up", "initialisation", "initial M-step"}


def test_user_initial_values_skip_the_initialisation(count_passes):
    X = load_faithful()
    est = emkit.GaussianMixture(2, weights_init=[0.5, 0.5], means_init=[[2, 55], [4.5, 80]],
                                precisions_init=np.array([np.eye(2)] * 2))
    assert count_passes(est, X) == {"checks and set-up": 1}
