"""Encoding model-file values as JSON plus raw arrays, and decoding them untrusted.

Arrays anywhere in a value become ``{"__array__": i}`` references into a
manifest of (dtype, shape, offset, size) entries over the payload; see
:mod:`emkit._modelfile` for the container around them.
"""

from __future__ import annotations

import numpy as np

from .exceptions import ModelFileError

_ARRAY_KINDS = "biufc"
#: deepest nesting of values a model file may hold (emkit writes at most a few levels)
_MAX_DEPTH = 32


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
