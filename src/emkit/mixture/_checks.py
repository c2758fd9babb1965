"""Checks of a dask array's shape and dtype before fitting or scoring.

The values are checked later, block by block on the workers, by the family
(:meth:`~emkit.families.Family.prepare` and
:meth:`~emkit.families.Family.check_data`), as for in-memory data.
"""

from __future__ import annotations

import numpy as np


def check_dask_array(estimator, X, reset: bool):
    """What ``validate_data`` checks of an in-memory ``X``, for a dask array.

    Parameters
    ----------
    estimator : BaseMixture
        Sets ``n_features_in_`` when ``reset``, else supplies it.
    X : dask.array.Array
    reset : bool
        True when fitting.

    Returns
    -------
    X : dask.array.Array
        Cast to the family's first dtype when its dtype is not one it fits in.
    """
    if X.ndim != 2:
        raise ValueError(
            f"Expected 2D array, got a {X.ndim}-D dask array; reshape it to (n_samples, n_features)"
        )
    n, d = X.shape
    if not np.isfinite(n):
        raise ValueError("the dask array has unknown row-block sizes; call X.compute_chunk_sizes() first")
    if X.dtype.kind not in "biuf":
        raise ValueError(f"X must be numeric, but the dask array has dtype {X.dtype}")
    dtypes = estimator._dtypes
    if X.dtype not in dtypes:
        X = X.astype(dtypes[0])
    if reset:
        if n < 2:
            raise ValueError(f"Found array with {n} sample(s) while a minimum of 2 is required.")
        estimator.n_features_in_ = d
    elif d != estimator.n_features_in_:
        raise ValueError(
            f"X has {d} features, but {type(estimator).__name__} is expecting "
            f"{estimator.n_features_in_} features as input."
        )
    return X


def check_dask_sample_weight(sample_weight, X, persist: bool):
    """Validated weights of a dask ``X`` as a dask array with ``X``'s row blocks.

    The weights never come to the client: their checks (finite,
    non-negative, some positive) are reductions computed on the workers, and
    the result is scaled to a largest weight of 1 there.  ``None`` gives
    ones made block by block on the workers; NumPy weights are cut to ``X``'s
    row blocks and (with ``persist``) sent to the cluster once.

    Returns
    -------
    w : dask array of shape (n_samples,), float64
    n_positive : int
        Rows with a positive weight.
    """
    import dask
    import dask.array as da

    from ..backends.dask_backend import is_dask_array

    n = X.shape[0]
    rows = (tuple(X.chunks[0]),)
    if sample_weight is None:
        return da.ones(n, chunks=rows, dtype=np.float64), n
    if is_dask_array(sample_weight):
        w = sample_weight
        if w.ndim != 1 or w.shape[0] != n:
            raise ValueError(
                f"sample_weight has shape {w.shape}, but X has {n} rows: pass one weight per row, "
                f"shape ({n},)"
            )
        if w.dtype.kind not in "biuf":
            raise ValueError(f"sample_weight must be numeric, but the dask array has dtype {w.dtype}")
        w = w.astype(np.float64).rechunk(rows)
    else:
        from .._validation import check_sample_weight

        w = da.from_array(check_sample_weight(sample_weight, n), chunks=rows)
    if persist:
        w = w.persist()
    finite = da.isfinite(w)
    bad_nonfinite, first_bad, bad_neg, first_neg, top, positive = dask.compute(
        ~finite.all(), da.argmin(finite), (w < 0).any(), da.argmax(w < 0), da.nanmax(w),
        da.count_nonzero(w > 0),
    )
    if bad_nonfinite:
        v = float(w[int(first_bad)].compute())
        raise ValueError(
            f"sample_weight contains {'NaN' if np.isnan(v) else 'inf'} at row {int(first_bad)}; "
            "weights must be finite and non-negative"
        )
    if bad_neg:
        v = float(w[int(first_neg)].compute())
        raise ValueError(f"sample_weight must be non-negative; row {int(first_neg)} has weight {v:g}")
    if not int(positive):
        raise ValueError("sample_weight is zero for every row; at least one row needs a positive weight")
    # only ratios of weights matter (as for in-memory weights)
    w = w / float(top)
    if persist:
        w = w.persist()
    return w, int(positive)
