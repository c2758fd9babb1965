"""Parameter descriptions every estimator's docstring shares (numpydoc lines)."""

#: ``tol``
TOL_DOC = """    tol : float, default=1e-9
        Convergence threshold on Aitken's estimate of how much the mean
        per-sample log-likelihood can still gain (Böhning et al. 1994), so a
        fit does not stop on a slow plateau; see :mod:`emkit.engine.monitor`.
"""

#: ``max_iter`` and ``n_init``
RUNS_DOC = """    max_iter : int, default=1000
        Maximum number of data passes (EM iterations) per run.
    n_init : int, default=1
        Number of initialisations; the best run is kept (runs without a
        degenerate component rank first, then by log-likelihood).
"""
