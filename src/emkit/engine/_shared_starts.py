"""The model-independent draws of the default start, shared by the fits of one selection.

:func:`~emkit.engine.starts.auto_starts` begins every fit with work that
does not depend on the covariance model: the data's centre, the weighted
subsample of the short runs, the agglomeration subsample, and the
k-means and random-row centres.  A selection over mclust's fourteen
models makes this work fourteen times per number of components, each time
from the same data and the same random state (every candidate gets
``random_state``), so each time with the same result.  Inside
:func:`shared_starts` it is made once per number of components and reused:
a later fit gets the same draws and leaves its random generator in the
state the first fit left it in, so every fit is exactly what it would be
alone.  Outside the context nothing is kept.

Only in-memory float data without auxiliary columns, the numpy backend and
families that start in the rows' own coordinates are shared; the key holds
the data array itself (by identity, with the weights compared by value),
the number of components, the chunking and thread count of the backend
and the generator's whole state.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from contextlib import contextmanager

import numpy as np

from ..backends.numpy_backend import Data, NumpyBackend

_SCOPE: contextvars.ContextVar = contextvars.ContextVar("emkit_shared_starts", default=None)


@contextmanager
def shared_starts():
    """Share the draws of :func:`~emkit.engine.starts.auto_starts` between the fits run inside.

    Nested use keeps the outer store.  The store is dropped on exit.
    """
    if _SCOPE.get() is not None:
        yield
        return
    token = _SCOPE.set({})
    try:
        yield
    finally:
        _SCOPE.reset(token)


def _state_key(rng: np.random.RandomState) -> tuple:
    name, keys, pos, has_gauss, gauss = rng.get_state()
    return (name, keys.tobytes(), int(pos), int(has_gauss), float(gauss))


def draws(data: Data, n_components: int, rng: np.random.RandomState, backend: NumpyBackend,
          shareable: bool, make: Callable[[], object]):
    """``make()``, or what it gave an earlier fit of the same data, K and random state.

    Parameters
    ----------
    data : Data
    n_components : int
    rng : RandomState
        Advanced exactly as ``make()`` would advance it.
    backend : NumpyBackend
    shareable : bool
        False when the family's starts depend on more than the rows (a
        start transform): then ``make()`` is always called.
    make : callable
        Makes the draws from ``rng``; its result is never modified by the
        caller.
    """
    store = _SCOPE.get()
    X = data.X
    if (store is None or not shareable or type(backend) is not NumpyBackend or data.aux
            or type(X) is not np.ndarray or not isinstance(rng, np.random.RandomState)):
        return make()
    key = (id(X), X.shape, X.dtype.str, int(n_components), backend.chunk_size, backend.n_jobs,
           _state_key(rng))
    hit = store.get(key)
    if hit is not None:
        X0, w0, after, result = hit
        if X0 is X and np.array_equal(w0, data.sample_weight):
            rng.set_state(after)
            return result
    result = make()
    store[key] = (X, np.array(data.sample_weight, copy=True), rng.get_state(), result)
    return result
