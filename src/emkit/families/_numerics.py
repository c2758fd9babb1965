"""Numerical helpers shared by the discrete families.

Floors
------
A component probability of exactly 0 or 1, or a Poisson rate of exactly 0,
is a legitimate maximum-likelihood value (a feature that a component never
or always shows).  Scores must stay finite all the same, so the discrete
families evaluate their log-probabilities *xlogy-style*:

- a term ``x * log(p)`` with ``x == 0`` is exactly 0, whatever ``p``;
- ``log(p)`` itself is floored at :data:`LOG_FLOOR` ``= log(TINY)``
  (about -708.4, with ``TINY`` the smallest normal float64), so a row that a
  component calls impossible gets a very low but finite log density instead
  of ``-inf``.

The floor only ever changes results at the boundary: for any probability or
rate above ``TINY`` the evaluation is exact.  Because the floored logarithm
is finite, the terms with ``x == 0`` vanish exactly in the matrix products
the families use, which is what ``scipy.special.xlogy`` does element by
element.

For the unconstrained coordinates used by SQUAREM, probabilities are clipped
to ``[CLIP, 1 - CLIP]`` before the logit (or log-ratio) transform and rates to
``>= CLIP`` before the logarithm, with ``CLIP = 1e-12``, so that boundary
values map to finite coordinates.
"""

from __future__ import annotations

import numpy as np

#: smallest normal float64; probabilities and rates are floored here in logs
TINY = float(np.finfo(np.float64).tiny)
#: ``log(TINY)``: the floor of every log-probability term (about -708.4)
LOG_FLOOR = float(np.log(TINY))
#: clip applied before the logit / log transforms of the acceleration hooks
CLIP = 1e-12


def floored_log(p: np.ndarray) -> np.ndarray:
    """``log(p)`` floored at :data:`LOG_FLOOR` (so ``log(0)`` is finite)."""
    return np.log(np.maximum(np.asarray(p, dtype=np.float64), TINY))


def floored_log1m(p: np.ndarray) -> np.ndarray:
    """``log(1 - p)`` computed with ``log1p``, floored at :data:`LOG_FLOOR`."""
    p = np.asarray(p, dtype=np.float64)
    with np.errstate(divide="ignore"):
        out = np.log1p(-p)
    return np.maximum(out, LOG_FLOOR)


def ratio_or_pooled(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` per component, the pooled ratio where ``den`` is zero.

    Parameters
    ----------
    num, den : ndarray of shape (n_components, ...)
        Summed statistics of every component.

    Returns
    -------
    ratio : ndarray of the same shape
        A component without any (weighted) data has no maximum-likelihood
        estimate; it gets the estimate of all components pooled, which is the
        estimate for the whole data.
    """
    num = np.asarray(num, dtype=np.float64)
    den = np.broadcast_to(np.asarray(den, dtype=np.float64), num.shape)
    pooled_den = den.sum(axis=0)
    pooled = np.divide(num.sum(axis=0), pooled_den, out=np.zeros(num.shape[1:]),
                       where=pooled_den > 0)
    return np.divide(num, den, out=np.broadcast_to(pooled, num.shape).copy(), where=den > 0)


def logit(p: np.ndarray) -> np.ndarray:
    """Logit of ``p`` clipped to ``[CLIP, 1 - CLIP]``."""
    p = np.clip(np.asarray(p, dtype=np.float64), CLIP, 1.0 - CLIP)
    return np.log(p) - np.log1p(-p)


def expit(t: np.ndarray) -> np.ndarray:
    """Inverse of :func:`logit` (the logistic function)."""
    from scipy.special import expit as _expit

    return _expit(np.asarray(t, dtype=np.float64))


def check_unit_interval(p: np.ndarray, name: str) -> None:
    """Raise ValueError unless every probability of ``p`` lies in [0, 1]."""
    bad = np.flatnonzero(((p < 0) | (p > 1)).ravel())
    if bad.size:
        idx = tuple(int(i) for i in np.unravel_index(int(bad[0]), p.shape))
        raise ValueError(f"{name}{list(idx)} = {p[idx]:g} is not a probability in [0, 1]")


def first_bad_cell(bad: np.ndarray):
    """``(row, column)`` of the first True cell of a 2-D mask, or None."""
    flat = np.flatnonzero(bad.ravel())
    if flat.size == 0:
        return None
    return divmod(int(flat[0]), bad.shape[1])


def raise_bad_cell(bad: np.ndarray, X: np.ndarray, message, start: int = 0,
                   name: str = "X") -> None:
    """Raise ValueError at the first True cell of the 2-D mask ``bad``; nothing when none is.

    ``message(cell, where, r, c)`` makes the text from ``cell``, the cell as
    ``"X[i, j] = v"``, ``where``, ``"(row i, column j)"`` (``i = r + start``,
    the row in the whole data, as the command line locates it), and the
    cell's row ``r`` and column ``c`` in this chunk.
    """
    found = first_bad_cell(bad)
    if found is None:
        return
    r, c = found
    i = r + start
    raise ValueError(message(f"{name}[{i}, {c}] = {X[r, c]:g}", f"(row {i}, column {c})", r, c))


#: largest count accepted (2**53): above it float64 values are not exact integers, and
#: the log-probabilities of counts near 1e308 would overflow to NaN
MAX_COUNT = float(2**53)


def check_counts(X: np.ndarray, what: str, name: str = "X", row_offset: int = 0) -> None:
    """Raise ValueError unless every cell of ``X`` is a non-negative integer.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Finite values (NaN and inf are checked before).
    what : str
        How the values are described in the message, e.g. "counts".
    name : str, default="X"
    row_offset : int, default=0
        Index of the first row of ``X`` in the whole data (for the message).
    """
    def message(cell, where, r, c):
        v = X[r, c]
        kind = ("negative" if v < 0 else "not an integer" if v != np.floor(v)
                else f"above 2**53 = {MAX_COUNT:.0f}, past which float64 holds no exact integers")
        return f"{name} must hold non-negative integer {what}; {cell} is {kind} {where}"

    raise_bad_cell((X < 0) | (X != np.floor(X)) | (X > MAX_COUNT), X, message, row_offset, name)


def index_text(idx) -> str:
    """``[i, j, ...]`` of an index tuple (plain ints, whatever their NumPy type)."""
    return "[" + ", ".join(str(int(i)) for i in idx) + "]"


def check_init_array(value, shape: tuple, name: str, low: float = 0.0, high: float = np.inf,
                     what: str = "be finite and non-negative") -> np.ndarray:
    """An initial parameter array of ``shape`` with every value in ``[low, high]``.

    Parameters
    ----------
    value : array-like
    shape : tuple of int
        The shape needed, (n_components, n_features[, n_categories]).
    name : str
        The constructor parameter (``"probs_init"``), for messages.
    low, high : float
        Allowed range.
    what : str
        The range in words, for messages.

    Returns
    -------
    array : ndarray of float64
    """
    try:
        a = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric: {exc}") from None
    if a.shape != shape:
        axes = "(n_components, n_features" + (", n_categories)" if len(shape) == 3 else ")")
        raise ValueError(f"{name} has shape {a.shape}, but shape {shape} is needed {axes}")
    bad = ~np.isfinite(a) | (a < low) | (a > high)
    if bad.any():
        idx = np.unravel_index(int(np.flatnonzero(bad.ravel())[0]), a.shape)
        raise ValueError(f"{name} must {what}; {name}{index_text(idx)} = {a[idx]:g}")
    return a
