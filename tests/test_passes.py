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
    def gen_in_phase(name, fn):  # a generator (auto_starts_steps): in the phase while it runs
        def run(*args, **kwargs):
            steps, reply = fn(*args, **kwargs), None
            while True:
                phase[0] = name
                try:
                    ask = steps.send(reply)
                except StopIteration as done:
                    return done.value
                finally:
                    phase[0] = "other"
                reply = yield ask
        return run

    monkeypatch.setattr(base, "auto_starts_steps",
                        gen_in_phase("initialisation", base.auto_starts_steps))
    monkeypatch.setattr(base, "params_from_start", in_phase("initial M-step", base.params_from_start))

    def stop(*args, **kwargs):
        raise _StopBeforeEM

    monkeypatch.setattr(base, "run_em", stop)
    monkeypatch.setattr(base, "run_together", stop)  # the runs of one fit together (small data)

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


_FAMILIES = [
    lambda rng: (emkit.GaussianMixture(3, random_state=0), load_faithful(), {}),
    lambda rng: (emkit.PoissonMixture(3, random_state=0), rng.poisson(3.0, (400, 2)).astype(float), {}),
    lambda rng: (emkit.BinomialMixture(3, random_state=0), rng.binomial(8, 0.3, (400, 2)).astype(float),
                 {"n_trials": 8}),
    lambda rng: (emkit.CategoricalMixture(3, random_state=0), rng.integers(0, 4, (400, 3)).astype(float), {}),
]


@pytest.mark.parametrize("make", _FAMILIES)
@pytest.mark.parametrize("init", ["kmeans", "k-means++", "random_from_data", "auto"])
def test_the_weighted_mean_is_summed_once(count_passes, monkeypatch, make, init):
    """The set-up pass sums the weighted mean row; no start sums it again."""
    import emkit.engine.init as init_module

    sums = []
    orig = init_module._centre_of

    def counted(data, backend):
        sums.append(data.n_samples)
        return orig(data, backend)

    monkeypatch.setattr(init_module, "_centre_of", counted)
    est, X, kwargs = make(np.random.default_rng(0))
    est.set_params(init_params=init)
    count_passes(est, X, **kwargs)
    assert sums == []


@pytest.mark.parametrize("make", _FAMILIES)
@pytest.mark.parametrize("init", ["k-means++", "random_from_data"])
def test_seeding_starts_make_k_plus_one_passes(count_passes, make, init):
    """k-means++: the row order, the first seed's distances and one pass per further
    seed; random rows: the row order and one pass per drawn row (its copies leave the
    pool).  Then one pass for the M-step of the start; nothing else before EM."""
    est, X, kwargs = make(np.random.default_rng(0))
    est.set_params(init_params=init)
    K = est.n_components
    assert count_passes(est, X, **kwargs) == {
        "checks and set-up": 1, "initialisation": K + 1, "initial M-step": 1}


def test_the_gaussian_centre_is_the_weighted_mean():
    rng = np.random.default_rng(3)
    X = rng.normal(5.0, 2.0, (300, 2))
    w = rng.uniform(0.1, 2.0, 300)
    from emkit.backends.numpy_backend import Data

    base_family = emkit.GaussianMixture(2)._configured_family()
    family, data = base_family.prepare(Data(X, w / w.max()), NumpyBackend())
    np.testing.assert_allclose(data.mean, np.average(X, axis=0, weights=w), rtol=1e-13)
    np.testing.assert_array_equal(family.centre, data.mean)


@pytest.fixture
def passes_of(monkeypatch):
    """Count the backend passes over the data a call makes."""
    n = [0]
    for name in ("map_reduce", "map_concat"):
        orig = getattr(NumpyBackend, name)

        def wrapped(self, fn, data, *args, _orig=orig, **kwargs):
            n[0] += 1
            return _orig(self, fn, data, *args, **kwargs)

        monkeypatch.setattr(NumpyBackend, name, wrapped)

    def count(call, *args, **kwargs):
        n[0] = 0
        out = call(*args, **kwargs)
        return n[0], out

    return count


@pytest.mark.parametrize("acceleration", [None, "squarem"])
@pytest.mark.parametrize("make", [
    lambda rng: (emkit.GaussianMixture(3, random_state=0, n_init=2), load_faithful(), {}),
    lambda rng: (emkit.BinomialMixture(2, random_state=0),
                 rng.binomial(8, np.where(rng.random(400) < 0.4, 0.2, 0.7)[:, None], (400, 2)).astype(float),
                 {"n_trials": 8}),
    lambda rng: (emkit.PoissonMixture(2, random_state=0, init_params="kmeans"),
                 rng.poisson(np.where(rng.random(400) < 0.4, 2.0, 9.0)[:, None], (400, 2)).astype(float), {}),
])
def test_fit_predict_takes_the_labels_from_the_final_e_step(passes_of, make, acceleration):
    """fit_predict makes exactly the passes of fit, and its labels are predict's."""
    est, X, kwargs = make(np.random.default_rng(0))
    est.set_params(acceleration=acceleration)
    fit_passes, fitted = passes_of(est.fit, X, **kwargs)
    expected = fitted.predict(X, **kwargs)
    n, labels = passes_of(est.fit_predict, X, **kwargs)
    assert n == fit_passes
    np.testing.assert_array_equal(labels, expected)
    assert labels.dtype.kind == "i" and labels.shape == (X.shape[0],)


@pytest.mark.parametrize("method", ["predict", "predict_proba", "score_samples", "score",
                                    "component_log_densities", "bic"])
def test_scoring_reads_the_data_once(passes_of, method):
    """The values and support are checked by the pass that scores them: one pass, not two;
    and a bad cell still raises, naming its row, before anything is returned."""
    rng = np.random.default_rng(0)
    X = rng.poisson(np.where(rng.random(600) < 0.4, 2.0, 9.0)[:, None], (600, 2)).astype(float)
    model = emkit.PoissonMixture(2, random_state=0, chunk_size=64).fit(X)
    n, _ = passes_of(getattr(model, method), X)
    assert n == 1
    bad = X.copy()
    bad[300, 1] = -1.0
    with pytest.raises(ValueError, match=r"X\[300, 1\] = -1 is negative"):
        getattr(model, method)(bad)


def test_emkit_score_and_predict_read_the_data_once(passes_of, tmp_path):
    from _cli_helpers import ok, run

    X = load_faithful()
    data = tmp_path / "f.csv"
    np.savetxt(data, X, delimiter=",", header="e,w", comments="")
    model = tmp_path / "m.emk"
    ok(run("fit", data, "-k", "2", "--seed", "0", "--out", model))
    for command in (["score"], ["predict"], ["predict", "--proba"]):
        n, result = passes_of(run, command[0], model, data, *command[1:])
        ok(result)
        assert n == 1, command
