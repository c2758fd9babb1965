"""emkit model files: a small, versioned, checksummed binary container.

Layout (all integers little-endian)::

    magic         6 bytes   b"EMKIT\\0"
    version       uint32    FORMAT_VERSION
    header_len    uint64    length of the JSON header in bytes
    payload_len   uint64    length of the array payload in bytes
    header        header_len bytes of UTF-8 JSON
    payload       the arrays' raw little-endian bytes, back to back
    checksum      32 bytes  SHA-256 of everything above

The JSON header holds the estimator class name, the emkit version, the
constructor parameters and the fitted attributes.  Arrays anywhere in those
values are replaced by ``{"__array__": i}`` and described in the header's
``"arrays"`` manifest (dtype, shape, offset and size in the payload).  No
code is ever unpickled: loading only decodes JSON and raw numeric bytes and
instantiates estimator classes from emkit's own registry.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct

import numpy as np

from ._atomic import atomic_write
from .io import ModelFileError

__all__ = ["FORMAT_VERSION", "MAGIC", "load", "save"]

MAGIC = b"EMKIT\0"
FORMAT_VERSION = 1
_PREAMBLE = struct.Struct("<6sIQQ")
_DIGEST_SIZE = 32
_ARRAY_KINDS = "biufc"


# ------------------------------------------------------------------ registry
def estimator_registry() -> dict[str, type]:
    """Every mixture estimator class a model file may name: those of the family registry."""
    from .registry import estimators

    return estimators()


# ------------------------------------------------------------------ encoding
class _Encoder:
    """Turn parameter values into JSON, collecting arrays on the side."""

    def __init__(self):
        self.chunks: list[bytes] = []
        self.manifest: list[dict] = []
        self.offset = 0

    def array(self, arr: np.ndarray, where: str) -> dict:
        if arr.dtype.kind in "US" or (arr.dtype.kind == "O" and _all_str(arr)):
            return {"__strarray__": np.asarray(arr, dtype=str).tolist(), "shape": list(arr.shape)}
        if arr.dtype.kind not in _ARRAY_KINDS or arr.dtype.names is not None:
            raise TypeError(f"{where}: cannot store an array of dtype {arr.dtype} in a model file")
        le = np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("<"))
        data = le.tobytes(order="C")
        self.manifest.append({
            "dtype": le.dtype.str, "shape": list(arr.shape), "offset": self.offset, "nbytes": len(data),
        })
        self.chunks.append(data)
        self.offset += len(data)
        return {"__array__": len(self.manifest) - 1}

    def value(self, v, where: str):
        if v is None or isinstance(v, (bool, str)):
            return v
        if isinstance(v, int):
            return int(v)
        if isinstance(v, float):
            return _float_json(v)
        if isinstance(v, np.ndarray):
            return self.array(v, where)
        if isinstance(v, np.generic):
            if isinstance(v, np.bool_):
                return bool(v)
            return {"__scalar__": self.array(np.asarray(v), where)}
        if isinstance(v, np.random.RandomState):
            kind, keys, pos, has_gauss, cached = v.get_state(legacy=True)
            return {"__randomstate__": [kind, self.array(keys, where), int(pos), int(has_gauss),
                                        _float_json(float(cached))]}
        if isinstance(v, tuple):
            return {"__tuple__": [self.value(x, f"{where}[{i}]") for i, x in enumerate(v)]}
        if isinstance(v, list):
            return [self.value(x, f"{where}[{i}]") for i, x in enumerate(v)]
        if isinstance(v, range):
            return {"__range__": [v.start, v.stop, v.step]}
        if isinstance(v, (set, frozenset)):
            items = sorted(v, key=repr)
            return {"__set__": [self.value(x, f"{where}[{i}]") for i, x in enumerate(items)],
                    "frozen": isinstance(v, frozenset)}
        if isinstance(v, dict):
            if not all(isinstance(k, str) for k in v):
                raise TypeError(f"{where}: only dicts with string keys can be stored")
            return {"__dict__": {k: self.value(x, f"{where}[{k!r}]") for k, x in v.items()}}
        raise TypeError(f"{where}: cannot store a value of type {type(v).__name__} in a model file")


def _all_str(arr: np.ndarray) -> bool:
    return all(isinstance(x, str) for x in arr.ravel().tolist())


def _float_json(x: float):
    if np.isfinite(x):
        return x
    return {"__float__": "nan" if np.isnan(x) else ("inf" if x > 0 else "-inf")}


class _Decoder:
    def __init__(self, manifest: list, payload: memoryview):
        self.manifest = manifest
        self.payload = payload

    def array(self, ref) -> np.ndarray:
        if not isinstance(ref, dict):
            raise ModelFileError("malformed array reference in the model file header")
        if "__strarray__" in ref:
            return np.array(ref["__strarray__"], dtype=object).reshape(ref["shape"])
        idx = ref.get("__array__")
        if not isinstance(idx, int) or not 0 <= idx < len(self.manifest):
            raise ModelFileError("malformed array reference in the model file header")
        entry = self.manifest[idx]
        try:
            dtype = np.dtype(entry["dtype"])
            shape = tuple(int(s) for s in entry["shape"])
            offset, nbytes = int(entry["offset"]), int(entry["nbytes"])
        except (KeyError, TypeError, ValueError):
            raise ModelFileError("malformed array manifest in the model file header") from None
        if dtype.kind not in _ARRAY_KINDS or dtype.names is not None or dtype.hasobject:
            raise ModelFileError(f"unsupported array dtype {dtype} in the model file")
        count = int(np.prod(shape, dtype=np.int64))
        if count * dtype.itemsize != nbytes or offset < 0 or offset + nbytes > len(self.payload):
            raise ModelFileError("array manifest does not match the payload in the model file")
        arr = np.frombuffer(self.payload, dtype=dtype, count=count, offset=offset).reshape(shape)
        return arr.astype(dtype.newbyteorder("="), copy=True)

    def value(self, v):
        if isinstance(v, list):
            return [self.value(x) for x in v]
        if not isinstance(v, dict):
            return v
        if "__array__" in v or "__strarray__" in v:
            return self.array(v)
        if "__scalar__" in v:
            return self.array(v["__scalar__"])[()]
        if "__float__" in v:
            return float(v["__float__"])
        if "__tuple__" in v:
            return tuple(self.value(x) for x in v["__tuple__"])
        if "__range__" in v:
            return range(*v["__range__"])
        if "__set__" in v:
            items = [self.value(x) for x in v["__set__"]]
            return frozenset(items) if v.get("frozen") else set(items)
        if "__randomstate__" in v:
            kind, keys, pos, has_gauss, cached = v["__randomstate__"]
            rs = np.random.RandomState()
            rs.set_state((kind, self.array(keys), pos, has_gauss, self.value(cached)))
            return rs
        if "__dict__" in v:
            return {k: self.value(x) for k, x in v["__dict__"].items()}
        raise ModelFileError("malformed value in the model file header")


# ---------------------------------------------------------------- public API
def _fitted_attributes(model) -> dict:
    """Public fitted state: instance attributes ending in one underscore."""
    return {
        k: v for k, v in vars(model).items()
        if k.endswith("_") and not k.startswith("_") and not k.endswith("__")
    }


def dumps(model) -> bytes:
    """Serialise a (fitted or unfitted) emkit estimator to model-file bytes.

    Parameters
    ----------
    model : emkit mixture estimator

    Returns
    -------
    data : bytes
    """
    from . import __version__

    cls = type(model)
    registry = estimator_registry()
    if registry.get(cls.__name__) is not cls:
        raise TypeError(
            f"cannot save a {cls.__name__}: only emkit estimators can be saved "
            f"({', '.join(sorted(registry))})"
        )
    enc = _Encoder()
    params = {k: enc.value(v, f"parameter {k}") for k, v in model.get_params(deep=False).items()}
    attrs = {k: enc.value(v, f"attribute {k}") for k, v in _fitted_attributes(model).items()}
    header = {
        "format": "emkit-model",
        "estimator": cls.__name__,
        "emkit_version": __version__,
        "params": params,
        "attributes": attrs,
        "arrays": enc.manifest,
    }
    header_bytes = json.dumps(header, allow_nan=False, separators=(",", ":")).encode("utf-8")
    payload = b"".join(enc.chunks)
    body = _PREAMBLE.pack(MAGIC, FORMAT_VERSION, len(header_bytes), len(payload)) + header_bytes + payload
    return body + hashlib.sha256(body).digest()


def loads(data: bytes, source: str = "model file"):
    """Re-create an estimator from model-file bytes (see :func:`load`)."""
    view = memoryview(data)
    n = len(view)
    if n < len(MAGIC) or bytes(view[: len(MAGIC)]) != MAGIC:
        if n == 0:
            raise ModelFileError(f"{source}: empty file, not an emkit model file")
        if MAGIC.startswith(bytes(view[: len(MAGIC)])):
            raise ModelFileError(f"{source}: truncated emkit model file ({n} bytes)")
        raise ModelFileError(f"{source}: not an emkit model file (wrong magic bytes)")
    if n < _PREAMBLE.size:
        raise ModelFileError(f"{source}: truncated emkit model file ({n} bytes)")
    _, version, header_len, payload_len = _PREAMBLE.unpack_from(view, 0)
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{source}: written in model-file format version {version}, newer than this emkit "
            f"reads ({FORMAT_VERSION}); upgrade emkit to load it"
        )
    if version < 1:
        raise ModelFileError(f"{source}: invalid model-file format version {version}")
    expected = _PREAMBLE.size + header_len + payload_len + _DIGEST_SIZE
    if n < expected:
        raise ModelFileError(
            f"{source}: truncated emkit model file ({n} of {expected} bytes)"
        )
    if n > expected:
        raise ModelFileError(
            f"{source}: corrupt emkit model file ({n - expected} unexpected trailing bytes)"
        )
    body = view[: n - _DIGEST_SIZE]
    if hashlib.sha256(body).digest() != bytes(view[n - _DIGEST_SIZE:]):
        raise ModelFileError(
            f"{source}: checksum mismatch; the file was modified or corrupted after it was written"
        )
    start = _PREAMBLE.size
    try:
        header = json.loads(bytes(view[start: start + header_len]).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ModelFileError(f"{source}: corrupt header in emkit model file") from None
    if not isinstance(header, dict) or header.get("format") != "emkit-model":
        raise ModelFileError(f"{source}: corrupt header in emkit model file")
    name = header.get("estimator")
    registry = estimator_registry()
    cls = registry.get(name) if isinstance(name, str) else None
    if cls is None:
        raise ModelFileError(
            f"{source}: unknown estimator class {name!r} (written by emkit "
            f"{header.get('emkit_version', '?')}); this emkit knows {', '.join(sorted(registry))}"
        )
    payload = view[start + header_len: start + header_len + payload_len]
    dec = _Decoder(header.get("arrays", []), payload)
    raw_params, raw_attrs = header.get("params"), header.get("attributes")
    if not isinstance(raw_params, dict) or not isinstance(raw_attrs, dict):
        raise ModelFileError(f"{source}: corrupt header in emkit model file")
    try:
        params = {k: dec.value(v) for k, v in raw_params.items()}
        attrs = {k: dec.value(v) for k, v in raw_attrs.items()}
    except ModelFileError as exc:
        raise ModelFileError(f"{source}: {exc}") from None
    except (TypeError, ValueError, KeyError, IndexError) as exc:
        raise ModelFileError(f"{source}: corrupt value in emkit model file ({exc})") from None
    try:
        model = cls(**params)
    except TypeError as exc:
        raise ModelFileError(
            f"{source}: parameters do not fit {name} in this emkit version ({exc})"
        ) from None
    for key, value in attrs.items():
        if not (isinstance(key, str) and key.endswith("_") and not key.startswith("_")):
            raise ModelFileError(f"{source}: invalid fitted attribute name {key!r}")
        setattr(model, key, value)
    needed = ["weights_", *cls._param_attrs.values()]
    present = [a for a in needed if a in attrs]
    if present:
        if len(present) != len(needed):
            missing = ", ".join(a for a in needed if a not in attrs)
            raise ModelFileError(f"{source}: fitted model lacks {missing}")
        params_dict = {"weights": attrs["weights_"]}
        for key, attr in cls._param_attrs.items():
            params_dict[key] = attrs[attr]
        try:
            model._store_params(params_dict)  # sets the params and calls _set_derived()
        except (ValueError, TypeError, np.linalg.LinAlgError) as exc:
            raise ModelFileError(f"{source}: inconsistent fitted parameters ({exc})") from None
    return model


def save(model, path) -> None:
    """Write a fitted estimator to ``path`` in emkit's model-file format.

    The file is written atomically: to a temporary file in the same folder,
    flushed and fsynced, then renamed over ``path``.  If anything fails, an
    older file at ``path`` is left untouched and no temporary file remains.
    The format is not pickle; see :func:`load`.

    Parameters
    ----------
    model : emkit mixture estimator
        For example a fitted :class:`~emkit.GaussianMixture`.
    path : str or path-like
    """
    data = dumps(model)
    atomic_write(path, lambda fh: fh.write(data))


def load(path):
    """Read an estimator written by :func:`save`.

    Only JSON and raw numeric arrays are decoded (never pickle), and the
    estimator class must be one of emkit's.  The result predicts and scores
    exactly like the saved estimator.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    model : emkit mixture estimator

    Raises
    ------
    emkit.io.ModelFileError
        With a one-line reason: missing, truncated, checksum mismatch
        (modified), not an emkit file, a newer format version, or an unknown
        estimator class.
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        raise ModelFileError(f"{path}: no such model file") from None
    except IsADirectoryError:
        raise ModelFileError(f"{path}: is a directory, not a model file") from None
    except OSError as exc:
        raise ModelFileError(f"{path}: cannot read model file ({exc.strerror or exc})") from None
    return loads(data, source=path)
