"""Model files written by an attacker: every fitted parameter is checked on load.

Each case re-signs the file (recomputes the SHA-256), as someone crafting a
file would, so the checksum cannot be what refuses it.  Loading raises only
ModelFileError, never allocates much more than the file, and never hands back
a model that predicts from NaN, negative or inconsistent parameters.
"""

from __future__ import annotations

import hashlib
import json
import struct
import time
import tracemalloc

import numpy as np
import pytest

import emkit
from emkit.datasets import load_faithful
from emkit.io import ModelFileError

PREAMBLE = struct.Struct("<6sIQQ")


def split(data: bytes):
    magic, v, hlen, plen = PREAMBLE.unpack_from(data, 0)
    header = json.loads(data[PREAMBLE.size:PREAMBLE.size + hlen])
    payload = bytearray(data[PREAMBLE.size + hlen:PREAMBLE.size + hlen + plen])
    return v, header, payload


def sign(header, payload, version=1, header_bytes=None) -> bytes:
    hb = json.dumps(header).encode() if header_bytes is None else header_bytes
    body = PREAMBLE.pack(b"EMKIT\0", version, len(hb), len(payload)) + hb + bytes(payload)
    return body + hashlib.sha256(body).digest()


def array_entry(header, attr):
    return header["arrays"][header["attributes"][attr]["__array__"]]


def set_array(header, payload, attr, values):
    """Overwrite a stored float64 array in place (same size)."""
    e = array_entry(header, attr)
    values = np.asarray(values, dtype="<f8")
    assert values.nbytes == e["nbytes"]
    payload[e["offset"]:e["offset"] + e["nbytes"]] = values.tobytes()


def get_array(header, payload, attr):
    e = array_entry(header, attr)
    return np.frombuffer(bytes(payload[e["offset"]:e["offset"] + e["nbytes"]]), e["dtype"]).reshape(e["shape"])


@pytest.fixture(scope="module")
def gauss_bytes():
    X = load_faithful()
    return {ct: emkit._modelfile.dumps(emkit.GaussianMixture(2, covariance_type=ct, random_state=0).fit(X))
            for ct in ("full", "tied", "diag", "spherical")}


def _discrete_models():
    rng = np.random.default_rng(3)
    z = rng.integers(0, 2, 200)
    return {
        "bernoulli": (emkit.BernoulliMixture(2, random_state=0),
                      (rng.random((200, 3)) < np.where(z[:, None], 0.8, 0.2)).astype(float), "probs_"),
        "binomial": (emkit.BinomialMixture(2, n_trials=10, random_state=0),
                     rng.binomial(10, np.where(z[:, None], 0.8, 0.3), (200, 2)).astype(float), "probs_"),
        "poisson": (emkit.PoissonMixture(2, random_state=0),
                    rng.poisson(np.where(z[:, None], 9.0, 2.0), (200, 2)).astype(float), "rates_"),
        "categorical": (emkit.CategoricalMixture(2, random_state=0),
                        np.where(z[:, None], rng.integers(0, 2, (200, 3)), rng.integers(1, 4, (200, 3))).astype(float),
                        "probs_"),
    }


@pytest.fixture(scope="module")
def discrete_bytes():
    out = {}
    for name, (model, X, attr) in _discrete_models().items():
        out[name] = (emkit._modelfile.dumps(model.fit(X)), attr)
    return out


def load_bytes(data, tmp_path):
    path = tmp_path / "m.emk"
    path.write_bytes(data)
    return emkit.load(path)


# ------------------------------------------------------------ weights
@pytest.mark.parametrize("bad", [[np.nan, 1.0], [-0.5, 1.5], [0.2, 0.2], [np.inf, 0.0]])
@pytest.mark.parametrize("ct", ["full", "diag"])
def test_bad_weights_refused(gauss_bytes, tmp_path, bad, ct):
    v, h, p = split(gauss_bytes[ct])
    set_array(h, p, "weights_", bad)
    with pytest.raises(ModelFileError, match="weights_"):
        load_bytes(sign(h, p), tmp_path)


@pytest.mark.parametrize("name", ["bernoulli", "binomial", "poisson", "categorical"])
def test_bad_weights_refused_discrete(discrete_bytes, tmp_path, name):
    data, _ = discrete_bytes[name]
    v, h, p = split(data)
    set_array(h, p, "weights_", [np.nan, 1.0])
    with pytest.raises(ModelFileError, match="weights_"):
        load_bytes(sign(h, p), tmp_path)


# ------------------------------------------------------------ family parameters
@pytest.mark.parametrize("name,value,match", [
    ("bernoulli", 1.5, "not a probability"), ("bernoulli", np.nan, "NaN or inf"),
    ("binomial", -0.1, "not a probability"), ("poisson", -1.0, "negative"),
    ("poisson", np.inf, "NaN or inf"), ("categorical", 0.9, "sums to"),
])
def test_out_of_support_parameters_refused(discrete_bytes, tmp_path, name, value, match):
    data, attr = discrete_bytes[name]
    v, h, p = split(data)
    arr = get_array(h, p, attr).copy()
    arr.flat[0] = value
    set_array(h, p, attr, arr)
    with pytest.raises(ModelFileError, match=match):
        load_bytes(sign(h, p), tmp_path)


@pytest.mark.parametrize("ct", ["full", "tied", "diag", "spherical"])
def test_nan_means_and_non_pd_covariances_refused(gauss_bytes, tmp_path, ct):
    v, h, p = split(gauss_bytes[ct])
    means = get_array(h, p, "means_").copy()
    means[0, 0] = np.nan
    set_array(h, p, "means_", means)
    with pytest.raises(ModelFileError, match="means_ contains NaN"):
        load_bytes(sign(h, p), tmp_path)
    v, h, p = split(gauss_bytes[ct])
    cov = get_array(h, p, "covariances_").copy()
    cov *= -1.0
    set_array(h, p, "covariances_", cov)
    with pytest.raises(ModelFileError, match="positive"):
        load_bytes(sign(h, p), tmp_path)


@pytest.mark.parametrize("ct", ["full", "tied", "diag", "spherical"])
def test_precisions_inconsistent_with_covariances_refused(gauss_bytes, tmp_path, ct):
    v, h, p = split(gauss_bytes[ct])
    P = get_array(h, p, "precisions_cholesky_").copy()
    P *= 2.0
    set_array(h, p, "precisions_cholesky_", P)
    with pytest.raises(ModelFileError, match="precisions_cholesky do not match"):
        load_bytes(sign(h, p), tmp_path)


def test_wrong_shape_does_not_allocate(gauss_bytes, tmp_path):
    # (1, 4000, 1) precision factors made the old loader build a 4000 x 4000 matrix
    v, h, p = split(gauss_bytes["full"])
    e = array_entry(h, "precisions_cholesky_")
    e["shape"], e["nbytes"] = [1, 4000, 1], 32000
    e["offset"] = len(p)
    p += bytes(32000)
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError, match=r"precisions_cholesky_ has shape \(1, 4000, 1\)"):
            load_bytes(sign(h, p), tmp_path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000


@pytest.mark.parametrize("edit,match", [
    (lambda h: array_entry(h, "means_").__setitem__("shape", [10**30, 2]), "does not match the payload"),
    (lambda h: array_entry(h, "means_").__setitem__("shape", [-2, -2]), "malformed array shape"),
    (lambda h: h["attributes"].__setitem__("extra_", {"__dict__": [1]}), "malformed dict"),
    (lambda h: h["attributes"].__setitem__("extra_", {"__range__": [0, 1, 0]}), "malformed range"),
    (lambda h: h["params"].__setitem__("covariance_type", "bogus"), "covariance_type"),
    (lambda h: h["params"].__setitem__("n_components", 3), r"weights_ has shape \(2,\)"),
    (lambda h: h["attributes"].__setitem__("n_features_in_", "2"), "n_features_in_"),
    (lambda h: h["attributes"].__setitem__("n_features_in_", 3), r"means_ has shape \(2, 2\)"),
    (lambda h: h["attributes"].__setitem__("lower_bound_", "x"), "lower_bound_"),
])
def test_crafted_headers_raise_model_file_error(gauss_bytes, tmp_path, edit, match):
    v, h, p = split(gauss_bytes["full"])
    edit(h)
    with pytest.raises(ModelFileError, match=match):
        load_bytes(sign(h, p), tmp_path)


def test_deeply_nested_header_raises_model_file_error(gauss_bytes, tmp_path):
    v, h, p = split(gauss_bytes["full"])
    hb = json.dumps(h).encode()
    deep = b'{"format":"emkit-model","estimator":"GaussianMixture","params":{},"x":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    with pytest.raises(ModelFileError, match="corrupt header"):
        load_bytes(sign(None, p, header_bytes=deep), tmp_path)
    h["attributes"]["extra_"] = json.loads("[" * 100 + "]" * 100)
    with pytest.raises(ModelFileError, match="nested too deeply"):
        load_bytes(sign(h, p), tmp_path)
    assert hb  # the unmodified header still loads
    load_bytes(sign(json.loads(hb), p), tmp_path)


def test_flipped_version_byte_is_corrupt_not_newer(gauss_bytes, tmp_path):
    data = bytearray(gauss_bytes["full"])
    data[6] ^= 0x40
    with pytest.raises(ModelFileError, match="corrupt emkit model file") as info:
        load_bytes(bytes(data), tmp_path)
    assert "upgrade" not in str(info.value)
    # a genuinely newer file (valid digest) is still reported as newer
    v, h, p = split(gauss_bytes["full"])
    with pytest.raises(ModelFileError, match="newer than this emkit"):
        load_bytes(sign(h, p, version=2), tmp_path)


# ------------------------------------------------------------ bounded fuzz
_LEAVES = [10**30, -1, 0, 1, 4000, 2.5, "x", "", None, True, [], {}, [1, 2], {"__dict__": [1]},
           {"__array__": 99}, {"__array__": -1}, {"__float__": "nan"}, {"__tuple__": 5},
           {"__set__": [[1]]}, {"__strarray__": ["a"], "shape": [10**9]},
           {"__randomstate__": [1, 2, 3]}, {"__scalar__": {"__array__": 0}}]


def _paths(node, prefix=()):
    if isinstance(node, dict):
        for k, v in node.items():
            yield prefix + (k,)
            yield from _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield prefix + (i,)
            yield from _paths(v, prefix + (i,))


def _mutate_header(header, rng):
    paths = list(_paths(header))
    path = paths[int(rng.integers(len(paths)))]
    node = header
    for key in path[:-1]:
        node = node[key]
    leaf = _LEAVES[int(rng.integers(len(_LEAVES)))]
    node[path[-1]] = json.loads(json.dumps(leaf))


def _fuzz_cases(sources, n, seed):
    rng = np.random.default_rng(seed)
    for i in range(n):
        data = sources[i % len(sources)]
        kind = i % 4
        if kind == 0:  # raw byte flips, not re-signed
            b = bytearray(data)
            for _ in range(int(rng.integers(1, 4))):
                b[int(rng.integers(len(b)))] ^= int(rng.integers(1, 256))
            yield bytes(b)
        elif kind == 1:  # truncation or extension, not re-signed
            cut = int(rng.integers(len(data)))
            yield data[:cut] if rng.random() < 0.7 else data + bytes(int(rng.integers(1, 64)))
        elif kind == 2:  # a header value replaced, re-signed
            v, h, p = split(data)
            _mutate_header(h, rng)
            yield sign(h, p)
        else:  # payload bytes changed (NaN, huge, negative values), re-signed
            v, h, p = split(data)
            for _ in range(int(rng.integers(1, 4))):
                pos = int(rng.integers(max(1, len(p) - 8)))
                p[pos:pos + 8] = rng.choice([np.nan, -1.0, 1e308, 0.0, np.inf, 7.0]).tobytes()
            yield sign(h, p)


def test_fuzzed_model_files_raise_only_model_file_error(gauss_bytes, discrete_bytes, tmp_path):
    sources = list(gauss_bytes.values()) + [d for d, _ in discrete_bytes.values()]
    outcomes = {"refused": 0, "loaded": 0}
    start = time.perf_counter()
    for data in _fuzz_cases(sources, 400, seed=10):
        tracemalloc.start()
        try:
            try:
                model = emkit._modelfile.loads(data)
            except ModelFileError:
                outcomes["refused"] += 1
                continue
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 20 * len(data) + 2_000_000
        outcomes["loaded"] += 1
        # whatever loads has finite weights on the simplex
        if hasattr(model, "weights_"):
            assert np.all(np.isfinite(model.weights_)) and np.all(model.weights_ >= 0)
            assert abs(model.weights_.sum() - 1.0) < 1e-6
    assert outcomes["refused"] > 200
    assert time.perf_counter() - start < 60
