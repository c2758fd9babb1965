"""Checks of an estimator's parameters and inputs, and where its passes run.

:class:`InputsMixin` is a base class of
:class:`~emkit.mixture._base.BaseMixture`: constructor parameters shared by
every estimator, ``fixed`` and ``weights_init``, the shape and dtype of
``X`` (values are checked chunk by chunk by the family), per-row side data
and the backend of ``X``.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import validate_data

from .._validation import check_choice, check_float_param, check_int_param, non_numeric_cell
from ..backends.dask_backend import DaskBackend, is_dask_array, persist_rows
from ..backends.numpy_backend import NumpyBackend
from ..engine.init import INIT_METHODS
from ._checks import check_dask_array

ACCELERATIONS = ("squarem",)
#: what a missing cell (NaN) means: an error, or integrated out (MAR)
MISSING = ("error", "marginalize")


class InputsMixin:
    """Parameter and input checks of :class:`~emkit.mixture._base.BaseMixture` (see the module)."""

    # ----------------------------------------------------------- validation
    def _check_common_params(self, family_param_names) -> None:
        check_int_param(self.n_components, "n_components", 1)
        check_float_param(self.tol, "tol", 0.0)
        check_int_param(self.max_iter, "max_iter", 0)
        check_int_param(self.n_init, "n_init", 1)
        check_choice(self.init_params, "init_params", self._init_methods())
        check_int_param(self.verbose, "verbose", 0)
        check_int_param(self.verbose_interval, "verbose_interval", 1)
        check_int_param(self.chunk_size, "chunk_size", 1, allow_none=True)
        check_choice(getattr(self, "missing", "error"), "missing", MISSING)
        if self.acceleration is not None:
            check_choice(self.acceleration, "acceleration", ACCELERATIONS)
        allowed = ("weights",) + tuple(family_param_names)
        for name in self._fixed_names():
            if name not in allowed:
                raise ValueError(
                    f"fixed contains {name!r}; {type(self).__name__} can hold fixed only "
                    f"{', '.join(repr(a) for a in allowed)}"
                )

    def _init_methods(self):
        return INIT_METHODS

    def _fixed_names(self) -> frozenset:
        fixed = self.fixed
        if fixed is None:
            return frozenset()
        if isinstance(fixed, str):
            fixed = (fixed,)
        try:
            names = frozenset(fixed)
        except TypeError:
            raise ValueError(f"fixed must be a sequence of parameter names, got {fixed!r}") from None
        for name in names:
            if not isinstance(name, str):
                raise ValueError(f"fixed must hold parameter names (strings), got {name!r}")
        return names

    def _check_weights_init(self) -> np.ndarray | None:
        if self.weights_init is None:
            return None
        w = np.asarray(self.weights_init, dtype=np.float64)
        K = self.n_components
        if w.shape != (K,):
            raise ValueError(
                f"weights_init has shape {w.shape}, but n_components={K} needs shape ({K},)"
            )
        if not np.all(np.isfinite(w)) or np.any(w < 0) or np.any(w > 1):
            raise ValueError(f"weights_init must lie in [0, 1], got {w.tolist()}")
        if abs(w.sum() - 1.0) > 1e-6:
            raise ValueError(f"weights_init must sum to 1, but sums to {w.sum():.10g}")
        return w / w.sum()

    def _validate_X(self, X, reset: bool, persist: bool = True, lazy: bool = False):
        """Shape and dtype of ``X``; its values are checked chunk by chunk later.

        A dask ``X`` being fitted (``reset``) is persisted on the cluster first
        (unless ``persist`` is False), so every later pass reads the persisted
        blocks; its values are checked block by block on the workers by
        :meth:`~emkit.families.Family.prepare` / ``check_data``, or, for the
        lazy results of ``predict`` and co., inside each block
        (the family's ``check_rows`` through
        :func:`~emkit.backends.dask_backend.check_message`).
        """
        if is_dask_array(X):
            return persist_rows(check_dask_array(self, X, reset), persist=reset and persist)
        try:
            return validate_data(
                self, X, reset=reset, dtype=list(self._dtypes), ensure_all_finite=False,
                ensure_min_samples=2 if reset else 1,
            )
        except ValueError as exc:
            # "could not convert string to float: 'x'" does not say where: name the column
            where = non_numeric_cell(X) if "convert" in str(exc) or "float" in str(exc) else None
            if where is None:
                raise
            raise ValueError(f"X: {where}") from None

    def _aux(self, X, kwargs: dict, fitting: bool) -> dict:
        """Validated per-row side data for ``X`` from ``kwargs`` (values not checked)."""
        family = self._configured_family() if fitting else self._fitted_family()
        return family.side_aux(X.shape[0], X.shape[1], dict(kwargs), "fit" if fitting else "predict/score")

    def _backend_for(self, X):
        """Dask arrays run on their own row blocks; anything else in NumPy chunks."""
        return DaskBackend(self.chunk_size) if is_dask_array(X) else NumpyBackend(self.chunk_size)
