"""Online EM: ``partial_fit`` by stepwise updates of the sufficient statistics.

After the statistics ``s_t`` (per unit of weight) of the batches seen so far,
a new batch ``b`` with statistics ``s_b(theta_t)`` under the current
parameters gives

    s_{t+1} = s_t + gamma_{t+1} (s_b(theta_t) - s_t),    theta_{t+1} = M(s_{t+1}),

with step sizes ``gamma_t = (t + 2) ** -alpha`` for ``alpha`` in (0.5, 1]
(so ``sum gamma = inf`` and ``sum gamma^2 < inf``): the online EM of Cappé, O.
and Moulines, E. (2009), "On-line expectation-maximization algorithm for
latent data models", JRSS-B 71(3):593-613.  ``alpha = 1`` averages the
batches' statistics; smaller ``alpha`` forgets the early, poorly estimated
ones faster.  The M-step is the family's own, so every family works.
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.utils import check_random_state

from .._validation import check_sample_weight
from ..backends.numpy_backend import Data
from ..engine.em import expectation, maximization
from ..families._stats import Stats

#: default exponent of the step sizes (t + 2) ** -alpha
DEFAULT_ALPHA = 0.6


def _check_alpha(alpha) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not 0.5 < alpha <= 1.0:
        raise ValueError(f"step_exponent must be a number in (0.5, 1], got {alpha!r}")
    return float(alpha)


def step_size(t: int, alpha: float) -> float:
    """Weight of the ``t``-th update (``t = 1, 2, ...``): ``(t + 2) ** -alpha``."""
    return float((t + 2.0) ** -alpha)


class OnlineMixin:
    """``partial_fit`` for every mixture estimator."""

    def partial_fit(self, X, y=None, sample_weight=None, *, step_exponent=DEFAULT_ALPHA, **kwargs):
        """Update the fit with one mini-batch by stepwise (online) EM.

        The first call (or the first after ``fit``) initialises the
        parameters from its batch with ``init_params`` (or the ``*_init``
        values) and takes the batch's statistics under them; every later call
        moves the running statistics towards the new batch's by the step
        ``(t + 2) ** -step_exponent`` (``t`` counts the updates, from 1) and
        takes one M-step (Cappé & Moulines, JRSS-B 71:593-613, 2009).

        Parameters
        ----------
        X : array-like of shape (n_batch, n_features)
            One mini-batch (a dask array works too).
        y : Ignored
        sample_weight : array-like of shape (n_batch,), default=None
        step_exponent : float, default=0.6
            ``alpha`` in (0.5, 1].
        **kwargs
            Per-row side data of the family (for example ``n_trials``).

        Returns
        -------
        self : object
        """
        alpha = _check_alpha(step_exponent)
        first = getattr(self, "_online_state", None) is None
        if first:
            self._check_parameters()
        X = self._validate_X(X, reset=first)
        n = X.shape[0]
        w = check_sample_weight(sample_weight, n)
        aux = self._aux(X, dict(kwargs), fitting=True)
        data = Data(X, w, aux)
        backend = self._backend_for(X)
        fixed = self._fixed_names()
        if first:
            K = self.n_components
            if np.count_nonzero(w) < K:
                raise ValueError(
                    f"the first batch of partial_fit has {np.count_nonzero(w)} rows of positive "
                    f"weight, fewer than n_components={K}; start with a larger batch"
                )
            family, data = self._configured_family().prepare(data, backend, self._init_values())
            rng = check_random_state(self.random_state)
            params = self._initial_params(family, data, backend, rng)
            t, running = 0, None
        else:
            family, t, running = self._online_state
            family.check_data(data, backend)
            params = self._fitted_params()
        stats, ll = expectation(family, params, data, backend)
        batch = Stats(**{k: v / w.sum() for k, v in stats.items()})
        if running is None:
            running = batch
        else:
            t += 1
            g = step_size(t, alpha)
            running = Stats(**{k: running[k] + g * (batch[k] - running[k]) for k in running})
        params = maximization(family, running, params, fixed)
        self._store_params(params)
        self._online_state = (family, t, running)
        self.n_batches_ = t + 1
        self.lower_bound_ = float(ll)
        self.converged_ = False
        self.n_iter_ = t + 1
        # mean log-likelihood of every batch under the parameters before its update
        self.history_ = np.append(np.empty(0) if first else self.history_, ll)
        self.interrupted_ = False
        self.degenerate_components_ = list(family.degenerate_components(params))
        return self
