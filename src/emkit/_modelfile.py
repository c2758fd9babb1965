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
from .exceptions import ModelFileError

__all__ = ["FORMAT_VERSION", "MAGIC", "load", "save"]

MAGIC = b"EMKIT\0"
FORMAT_VERSION = 1
_PREAMBLE = struct.Struct("<6sIQQ")
_DIGEST_SIZE = 32
_ARRAY_KINDS = "biufc"
#: deepest nesting of values a model file may hold (emkit writes at most a few levels)
_MAX_DEPTH = 32


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
    """Decode header values; every malformed value raises ModelFileError.

    The decoder trusts nothing: references, manifest entries and tagged values
    are type-checked before use, nesting is limited to :data:`_MAX_DEPTH`, and
    an array is only materialised after its declared shape has been checked
    against the bytes the payload really holds.
    """

    def __init__(self, manifest, payload: memoryview):
        if not isinstance(manifest, list):
            raise ModelFileError("malformed array manifest in the model file header")
        self.manifest = manifest
        self.payload = payload

    def array(self, ref) -> np.ndarray:
        if not isinstance(ref, dict):
            raise ModelFileError("malformed array reference in the model file header")
        if "__strarray__" in ref:
            items, shape = ref["__strarray__"], _shape(ref.get("shape"))
            if not isinstance(items, list) or not all(isinstance(x, str) for x in items):
                raise ModelFileError("malformed string array in the model file header")
            if _count(shape) != len(items):
                raise ModelFileError("string array does not match its shape in the model file header")
            return np.array(items, dtype=object).reshape(shape)
        idx = ref.get("__array__")
        if not _is_int(idx) or not 0 <= idx < len(self.manifest):
            raise ModelFileError("malformed array reference in the model file header")
        entry = self.manifest[idx]
        if not isinstance(entry, dict) or not isinstance(entry.get("dtype"), str):
            raise ModelFileError("malformed array manifest in the model file header")
        try:
            dtype = np.dtype(entry["dtype"])
        except (TypeError, ValueError):
            raise ModelFileError("malformed array manifest in the model file header") from None
        shape = _shape(entry.get("shape"))
        offset, nbytes = entry.get("offset"), entry.get("nbytes")
        if not (_is_int(offset) and _is_int(nbytes)):
            raise ModelFileError("malformed array manifest in the model file header")
        if dtype.kind not in _ARRAY_KINDS or dtype.names is not None or dtype.hasobject:
            raise ModelFileError(f"unsupported array dtype {dtype} in the model file")
        # Python integers: a declared shape can never overflow or allocate before this check
        count = _count(shape)
        if count * dtype.itemsize != nbytes or offset < 0 or offset + nbytes > len(self.payload):
            raise ModelFileError("array manifest does not match the payload in the model file")
        arr = np.frombuffer(self.payload, dtype=dtype, count=count, offset=offset).reshape(shape)
        return arr.astype(dtype.newbyteorder("="), copy=True)

    def value(self, v, depth: int = 0):
        if depth > _MAX_DEPTH:
            raise ModelFileError("values nested too deeply in the model file header")
        if isinstance(v, list):
            return [self.value(x, depth + 1) for x in v]
        if not isinstance(v, dict):
            return v
        if "__array__" in v or "__strarray__" in v:
            return self.array(v)
        if "__scalar__" in v:
            arr = self.array(v["__scalar__"])
            if arr.ndim != 0:
                raise ModelFileError("malformed scalar in the model file header")
            return arr[()]
        if "__float__" in v:
            if v["__float__"] not in ("nan", "inf", "-inf"):
                raise ModelFileError("malformed float in the model file header")
            return float(v["__float__"])
        if "__tuple__" in v:
            return tuple(self.value(x, depth + 1) for x in _tagged(v, "__tuple__", list))
        if "__range__" in v:
            args = _tagged(v, "__range__", list)
            if len(args) != 3 or not all(_is_int(a) for a in args) or args[2] == 0:
                raise ModelFileError("malformed range in the model file header")
            return range(*args)
        if "__set__" in v:
            items = [self.value(x, depth + 1) for x in _tagged(v, "__set__", list)]
            try:
                return frozenset(items) if v.get("frozen") else set(items)
            except TypeError:
                raise ModelFileError("malformed set in the model file header") from None
        if "__randomstate__" in v:
            state = _tagged(v, "__randomstate__", list)
            if len(state) != 5:
                raise ModelFileError("malformed random state in the model file header")
            kind, keys, pos, has_gauss, cached = state
            rs = np.random.RandomState()
            try:
                rs.set_state((kind, self.array(keys), pos, has_gauss, self.value(cached, depth + 1)))
            except (TypeError, ValueError, OverflowError):
                raise ModelFileError("malformed random state in the model file header") from None
            return rs
        if "__dict__" in v:
            return {k: self.value(x, depth + 1) for k, x in _tagged(v, "__dict__", dict).items()}
        raise ModelFileError("malformed value in the model file header")


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _tagged(v: dict, tag: str, kind: type):
    inner = v[tag]
    if not isinstance(inner, kind):
        raise ModelFileError(f"malformed {tag.strip('_')} in the model file header")
    return inner


def _shape(shape) -> tuple:
    if not isinstance(shape, list) or len(shape) > 32 or not all(_is_int(s) and s >= 0 for s in shape):
        raise ModelFileError("malformed array shape in the model file header")
    return tuple(shape)


def _count(shape: tuple) -> int:
    count = 1
    for s in shape:
        count *= s
    return count


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
        # every format version ends in the SHA-256 of what precedes it: a bad digest means
        # a damaged file (a flipped version byte), not one from a newer emkit
        if n < _PREAMBLE.size + _DIGEST_SIZE or (
                hashlib.sha256(view[: n - _DIGEST_SIZE]).digest() != bytes(view[n - _DIGEST_SIZE:])):
            raise ModelFileError(
                f"{source}: corrupt emkit model file (checksum mismatch; the version field reads "
                f"{version})"
            )
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
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError, ValueError):
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
    raw_params, raw_attrs = header.get("params"), header.get("attributes")
    if not isinstance(raw_params, dict) or not isinstance(raw_attrs, dict):
        raise ModelFileError(f"{source}: corrupt header in emkit model file")
    try:
        dec = _Decoder(header.get("arrays", []), payload)
        params = {k: dec.value(v) for k, v in raw_params.items()}
        attrs = {k: dec.value(v) for k, v in raw_attrs.items()}
    except ModelFileError as exc:
        raise ModelFileError(f"{source}: {exc}") from None
    except (TypeError, ValueError, KeyError, IndexError, AttributeError, OverflowError,
            RecursionError) as exc:
        raise ModelFileError(f"{source}: corrupt value in emkit model file ({exc})") from None
    try:
        model = cls(**params)
    except TypeError as exc:
        raise ModelFileError(
            f"{source}: parameters do not fit {name} in this emkit version ({exc})"
        ) from None
    for key in attrs:
        if not (key.endswith("_") and not key.startswith("_") and key.isidentifier()):
            raise ModelFileError(f"{source}: invalid fitted attribute name {key!r}")
    try:
        needed = ["weights_", *model._param_attrs.values()]
    except (ValueError, TypeError) as exc:
        raise ModelFileError(f"{source}: invalid estimator parameters ({exc})") from None
    present = [a for a in needed if a in attrs]
    if present:
        if len(present) != len(needed):
            missing = ", ".join(a for a in needed if a not in attrs)
            raise ModelFileError(f"{source}: fitted model lacks {missing}")
        try:
            _check_fitted(model, cls, attrs)
        except ModelFileError as exc:
            raise ModelFileError(f"{source}: {exc}") from None
        except (ValueError, TypeError, IndexError, AttributeError, OverflowError,
                np.linalg.LinAlgError) as exc:
            raise ModelFileError(f"{source}: invalid fitted parameters ({exc})") from None
    for key, value in attrs.items():
        setattr(model, key, value)
    if present:
        params_dict = {"weights": attrs["weights_"]}
        for key, attr in model._param_attrs.items():
            params_dict[key] = attrs[attr]
        try:
            model._store_params(params_dict)  # sets the params and calls _set_derived()
        except (ValueError, TypeError, np.linalg.LinAlgError) as exc:
            raise ModelFileError(f"{source}: inconsistent fitted parameters ({exc})") from None
    return model


def _check_fitted(model, cls, attrs: dict) -> None:
    """Check every fitted parameter of a file before anything is computed from it.

    The constructor parameters must pass the estimator's own checks;
    ``n_features_in_`` must be a positive integer; every parameter array must
    have the shape the family gives for ``n_components`` and ``n_features_in_``
    (so nothing derived from it can be larger than the file), be finite, and
    lie in the family's parameter space (:meth:`Family.check_params`); the
    weights must lie on the simplex.
    """
    try:
        model._check_parameters()
    except ValueError as exc:
        raise ModelFileError(f"invalid estimator parameters ({exc})") from None
    K = model.n_components
    d = attrs.get("n_features_in_")
    if not _is_int(d) or d < 1:
        raise ModelFileError(f"n_features_in_ must be a positive integer, got {d!r}")
    arrays = {"weights": attrs["weights_"]}
    for key, attr in model._param_attrs.items():
        arrays[key] = attrs[attr]
    for key, arr in arrays.items():
        if not isinstance(arr, np.ndarray) or arr.dtype.kind not in "biuf":
            raise ModelFileError(f"fitted parameter {key} is not a numeric array")
    w = arrays["weights"]
    if w.shape != (K,):
        raise ModelFileError(f"weights_ has shape {w.shape}, but n_components={K} needs ({K},)")
    w = w.astype(np.float64)
    if not np.all(np.isfinite(w)) or np.any(w < 0) or abs(w.sum() - 1.0) > 1e-6:
        raise ModelFileError("weights_ are not finite non-negative numbers summing to 1")
    for key, attr in model._param_attrs.items():
        setattr(model, attr, arrays[key])
    model.weights_ = w
    model.n_features_in_ = d  # a composite family's column layout depends on it
    if isinstance(attrs.get("feature_names_in_"), np.ndarray):
        model.feature_names_in_ = attrs["feature_names_in_"]
    family = _family_for_check(model)
    shapes = family.param_shapes(K, d)
    for key, attr in model._param_attrs.items():
        arr = arrays[key]
        if key not in shapes or arr.shape != tuple(shapes[key]):
            raise ModelFileError(
                f"{attr} has shape {arr.shape}, but n_components={K} and n_features_in_={d} "
                f"need {tuple(shapes.get(key, ()))}"
            )
        if not np.all(np.isfinite(arr)):
            raise ModelFileError(f"{attr} contains NaN or inf")
    try:
        family.check_params({k: v.astype(np.float64) for k, v in arrays.items()})
    except ValueError as exc:
        raise ModelFileError(f"invalid fitted parameters: {exc}") from None
    _check_fit_record(attrs)


def _check_fit_record(attrs: dict) -> None:
    """The fit's record (shown by the CLI) must have the types a fit gives it."""
    import numbers

    def real_not_nan(v):  # -inf is the record of a fit that never got a finite likelihood
        return isinstance(v, numbers.Real) and not isinstance(v, bool) and not np.isnan(v)

    checks = {
        "converged_": lambda v: isinstance(v, (bool, np.bool_)),
        "interrupted_": lambda v: isinstance(v, (bool, np.bool_)),
        "n_iter_": lambda v: _is_int(v) and v >= 0,
        "lower_bound_": real_not_nan,
        "history_": lambda v: isinstance(v, np.ndarray) and v.ndim == 1 and v.dtype.kind == "f"
        and bool(np.all(np.isfinite(v))),
        "degenerate_components_": lambda v: isinstance(v, list) and all(_is_int(i) for i in v),
    }
    for key, ok in checks.items():
        if key in attrs and not ok(attrs[key]):
            raise ModelFileError(f"fitted attribute {key} has an invalid value")


def _family_for_check(model):
    """The fitted family, built from parameters whose first axes are already checked."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            return model._fitted_family()


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
