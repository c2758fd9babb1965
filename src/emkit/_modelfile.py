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
from ._modelcheck import _check_fitted
from ._modelcodec import _Decoder, _Encoder
from .exceptions import ModelFileError

__all__ = ["FORMAT_VERSION", "MAGIC", "load", "save"]

MAGIC = b"EMKIT\0"
FORMAT_VERSION = 1
_PREAMBLE = struct.Struct("<6sIQQ")
_DIGEST_SIZE = 32


# ------------------------------------------------------------------ registry
def estimator_registry() -> dict[str, type]:
    """Every mixture estimator class a model file may name: those of the family registry."""
    from .registry import estimators

    return estimators()


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
