"""emkit.save / emkit.load: exact round trips, refusals, atomic writes."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import struct

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

import emkit
from emkit import _modelfile
from emkit.datasets import load_faithful
from emkit.exceptions import ModelFileError
from emkit.mixture import BaseMixture

PREAMBLE = struct.Struct("<6sIQQ")


@pytest.fixture(scope="module")
def faithful():
    return load_faithful()


def assert_same_fitted_state(a, b):
    assert type(a) is type(b)
    pa, pb = a.get_params(), b.get_params()
    assert pa.keys() == pb.keys()
    for k in pa:
        if isinstance(pa[k], np.ndarray):
            np.testing.assert_array_equal(pa[k], pb[k])
        elif isinstance(pa[k], np.random.RandomState):
            sa, sb = pa[k].get_state(), pb[k].get_state()
            np.testing.assert_array_equal(sa[1], sb[1])
            assert sa[2:] == sb[2:]
        else:
            assert pa[k] == pb[k] and type(pa[k]) is type(pb[k]), k
    fitted = {k for k in vars(a) if k.endswith("_") and not k.startswith("_")}
    assert fitted == {k for k in vars(b) if k.endswith("_") and not k.startswith("_")}
    for k in fitted:
        va, vb = getattr(a, k), getattr(b, k)
        if isinstance(va, np.ndarray):
            assert va.dtype == vb.dtype and va.shape == vb.shape, k
            np.testing.assert_array_equal(va, vb)
        else:
            assert va == vb and type(va) is type(vb), k


def assert_same_predictions(a, b, X, **kw):
    np.testing.assert_array_equal(a.predict(X, **kw), b.predict(X, **kw))
    np.testing.assert_array_equal(a.predict_proba(X, **kw), b.predict_proba(X, **kw))
    np.testing.assert_array_equal(a.score_samples(X, **kw), b.score_samples(X, **kw))
    assert a.score(X, **kw) == b.score(X, **kw)


@pytest.mark.parametrize("cov", ["full", "tied", "diag", "spherical"])
def test_gaussian_round_trip_exact(tmp_path, faithful, cov):
    X = faithful
    model = emkit.GaussianMixture(3, covariance_type=cov, random_state=0, n_init=2).fit(X)
    path = tmp_path / f"{cov}.emk"
    emkit.save(model, path)
    assert path.read_bytes().startswith(b"EMKIT\0")
    loaded = emkit.load(path)
    assert_same_fitted_state(model, loaded)
    assert_same_predictions(model, loaded, X)
    # fresh points as well as the training data
    Y = np.random.default_rng(1).normal([3, 70], [1, 10], size=(50, 2))
    assert_same_predictions(model, loaded, Y)
    assert loaded.bic(X) == model.bic(X)
    # the loaded model samples like the saved one (same random_state)
    np.testing.assert_array_equal(loaded.sample(20)[0], model.sample(20)[0])


def test_round_trip_keeps_array_params_tuples_randomstate_and_float32(tmp_path, faithful):
    X = faithful.astype(np.float32)
    model = emkit.GaussianMixture(
        2, means_init=np.array([[2.0, 55.0], [4.5, 80.0]]), weights_init=[0.4, 0.6],
        fixed=("weights",), random_state=np.random.RandomState(7), tol=1e-6,
    ).fit(X)
    emkit.save(model, tmp_path / "m.emk")
    loaded = emkit.load(tmp_path / "m.emk")
    assert isinstance(loaded.random_state, np.random.RandomState)
    assert loaded.fixed == ("weights",) and loaded.weights_init == [0.4, 0.6]
    assert_same_fitted_state(model, loaded)
    assert_same_predictions(model, loaded, X)


def test_loaded_model_can_be_refitted(tmp_path, faithful):
    model = emkit.GaussianMixture(2, random_state=0).fit(faithful)
    emkit.save(model, tmp_path / "m.emk")
    loaded = emkit.load(tmp_path / "m.emk")
    loaded.set_params(warm_start=True, tol=1e-8, max_iter=500)
    loaded.fit(faithful)
    # a covariance floor (reg_covar) can lower the last digits at the fixed point
    assert loaded.lower_bound_ >= model.lower_bound_ - 1e-10


def test_unfitted_model_round_trips_unfitted(tmp_path):
    model = emkit.GaussianMixture(4, covariance_type="diag", reg_covar=1e-3)
    emkit.save(model, tmp_path / "u.emk")
    loaded = emkit.load(tmp_path / "u.emk")
    assert loaded.get_params() == model.get_params()
    with pytest.raises(NotFittedError):
        loaded.predict(np.zeros((2, 2)))


def test_non_finite_scalars_survive(tmp_path, faithful):
    model = emkit.GaussianMixture(1).fit(faithful)
    model.lower_bound_ = float("-inf")
    emkit.save(model, tmp_path / "m.emk")
    assert emkit.load(tmp_path / "m.emk").lower_bound_ == float("-inf")


def test_only_emkit_estimators_can_be_saved(tmp_path, faithful):
    from sklearn.mixture import GaussianMixture as SkGM

    with pytest.raises(TypeError, match="only emkit estimators can be saved"):
        emkit.save(SkGM(2).fit(faithful), tmp_path / "sk.emk")
    assert not (tmp_path / "sk.emk").exists()
    assert os.listdir(tmp_path) == []


# ------------------------------------------------------- discrete families
def _discrete_cases():
    rng = np.random.default_rng(3)
    z = rng.integers(0, 2, 300)
    return {
        "BernoulliMixture": ({}, (rng.random((300, 5)) < np.where(z[:, None], 0.8, 0.2)).astype(float), {}),
        "BinomialMixture": (
            {"n_trials": 10}, rng.binomial(10, np.where(z[:, None], 0.8, 0.3), (300, 2)).astype(float), {},
        ),
        "PoissonMixture": ({}, rng.poisson(np.where(z[:, None], 9.0, 2.0), (300, 3)).astype(float), {}),
        "CategoricalMixture": (
            {}, np.where(z[:, None], rng.integers(0, 2, (300, 4)), rng.integers(1, 4, (300, 4))).astype(float), {},
        ),
    }


DISCRETE = [name for name in _discrete_cases() if getattr(emkit, name, None) is not None]


@pytest.mark.parametrize("name", DISCRETE)
def test_discrete_round_trip_exact(tmp_path, name):
    params, X, kw = _discrete_cases()[name]
    model = getattr(emkit, name)(2, random_state=0, **params).fit(X, **kw)
    emkit.save(model, tmp_path / "d.emk")
    loaded = emkit.load(tmp_path / "d.emk")
    assert_same_fitted_state(model, loaded)
    assert_same_predictions(model, loaded, X, **kw)


@pytest.mark.parametrize("name", [n for n in DISCRETE if n == "BinomialMixture"])
def test_binomial_per_row_trials_round_trip(tmp_path, name):
    rng = np.random.default_rng(5)
    trials = rng.integers(5, 30, 200)
    X = rng.binomial(trials, np.where(rng.random(200) < 0.5, 0.2, 0.7))[:, None].astype(float)
    model = getattr(emkit, name)(2, random_state=0).fit(X, n_trials=trials)
    emkit.save(model, tmp_path / "b.emk")
    assert_same_predictions(model, emkit.load(tmp_path / "b.emk"), X, n_trials=trials)


def test_registry_holds_every_exported_estimator():
    exported = {
        n for n in emkit.__all__
        if isinstance(getattr(emkit, n), type) and issubclass(getattr(emkit, n), BaseMixture)
    }
    assert "GaussianMixture" in exported
    assert exported <= set(_modelfile.estimator_registry())


# ---------------------------------------------------------------- refusals
@pytest.fixture
def saved(tmp_path, faithful):
    path = tmp_path / "model.emk"
    emkit.save(emkit.GaussianMixture(2, random_state=0).fit(faithful), path)
    return path


def rebuild(data: bytes, *, version=None, header_edit=None) -> bytes:
    """Re-assemble a model file with a changed version or header, valid checksum."""
    magic, v, hlen, plen = PREAMBLE.unpack_from(data, 0)
    header = json.loads(data[PREAMBLE.size:PREAMBLE.size + hlen])
    payload = data[PREAMBLE.size + hlen:PREAMBLE.size + hlen + plen]
    if header_edit is not None:
        header_edit(header)
    hb = json.dumps(header).encode()
    body = PREAMBLE.pack(magic, v if version is None else version, len(hb), len(payload)) + hb + payload
    return body + hashlib.sha256(body).digest()


@pytest.mark.parametrize("keep", [3, 20, 100, -40, -1])
def test_truncated_refused(saved, keep):
    data = saved.read_bytes()
    saved.write_bytes(data[:keep])
    with pytest.raises(ModelFileError, match=r"model\.emk: truncated emkit model file"):
        emkit.load(saved)


def test_tampered_refused(saved):
    data = bytearray(saved.read_bytes())
    data[-100] ^= 0x01  # one bit in the array payload
    saved.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="checksum mismatch; the file was modified or corrupted"):
        emkit.load(saved)


def test_tampered_header_refused(saved):
    data = saved.read_bytes()
    saved.write_bytes(data.replace(b'"n_components":2', b'"n_components":3'))
    with pytest.raises(ModelFileError, match="checksum mismatch"):
        emkit.load(saved)


def test_trailing_bytes_refused(saved):
    saved.write_bytes(saved.read_bytes() + b"extra")
    with pytest.raises(ModelFileError, match="5 unexpected trailing bytes"):
        emkit.load(saved)


@pytest.mark.parametrize(
    "content",
    [b"\x89PNG\r\n\x1a\n" + bytes(100), pickle.dumps({"a": 1}), b"a,b\n1,2\n", b"x"],
)
def test_foreign_files_refused(tmp_path, content):
    p = tmp_path / "foreign.emk"
    p.write_bytes(content)
    with pytest.raises(ModelFileError, match="not an emkit model file"):
        emkit.load(p)


def test_empty_and_missing_files_refused(tmp_path):
    (tmp_path / "empty.emk").write_bytes(b"")
    with pytest.raises(ModelFileError, match="empty file, not an emkit model file"):
        emkit.load(tmp_path / "empty.emk")
    with pytest.raises(ModelFileError, match="no such model file"):
        emkit.load(tmp_path / "missing.emk")


def test_newer_version_refused(saved):
    saved.write_bytes(rebuild(saved.read_bytes(), version=_modelfile.FORMAT_VERSION + 1))
    with pytest.raises(ModelFileError, match=r"format version 2, newer than this emkit reads \(1\)"):
        emkit.load(saved)


def test_unknown_estimator_refused(saved):
    def edit(h):
        h["estimator"] = "os.system"

    saved.write_bytes(rebuild(saved.read_bytes(), header_edit=edit))
    with pytest.raises(ModelFileError, match=r"unknown estimator class 'os\.system'"):
        emkit.load(saved)


def test_bad_manifest_refused(saved):
    def edit(h):
        h["arrays"][0]["nbytes"] += 8

    saved.write_bytes(rebuild(saved.read_bytes(), header_edit=edit))
    with pytest.raises(ModelFileError, match="array manifest does not match the payload"):
        emkit.load(saved)


def test_rebuild_helper_is_faithful(saved, faithful):
    # guards the refusal tests above: an unchanged rebuild loads fine
    data = saved.read_bytes()
    assert rebuild(data) != b""
    model = emkit.load(saved)
    saved.write_bytes(rebuild(data))
    assert_same_predictions(model, emkit.load(saved), faithful)


# ------------------------------------------------------------ atomic write
def _boom(*args, **kwargs):
    raise OSError("disk on fire")


@pytest.mark.parametrize("target", ["replace", "fsync", "dumps"])
def test_failed_write_leaves_old_file_and_no_temp(saved, faithful, monkeypatch, target):
    old = saved.read_bytes()
    new_model = emkit.GaussianMixture(3, covariance_type="diag", random_state=1).fit(faithful)
    if target == "dumps":
        monkeypatch.setattr(_modelfile, "dumps", _boom)
    else:
        monkeypatch.setattr(os, target, _boom)
    with pytest.raises(OSError, match="disk on fire"):
        emkit.save(new_model, saved)
    monkeypatch.undo()
    assert saved.read_bytes() == old
    assert sorted(os.listdir(saved.parent)) == ["model.emk"]
    assert emkit.load(saved).n_components == 2


def test_overwrite_replaces_whole_file(saved, faithful):
    new_model = emkit.GaussianMixture(3, covariance_type="diag", random_state=1).fit(faithful)
    mode = os.stat(saved).st_mode
    emkit.save(new_model, saved)
    assert os.listdir(saved.parent) == ["model.emk"]
    assert os.stat(saved).st_mode == mode
    loaded = emkit.load(saved)
    assert loaded.n_components == 3
    assert_same_predictions(new_model, loaded, faithful)
