"""Parameter descriptions every estimator's docstring shares (numpydoc lines)."""

#: ``tol``
TOL_DOC = """    tol : float, default=1e-9
        Convergence threshold on Aitken's estimate of how much the mean
        per-sample log-likelihood can still gain (Böhning et al. 1994), so a
        fit does not stop on a slow plateau; see :mod:`emkit.engine.monitor`.
"""

#: the fitted attributes that describe the kept run, every estimator's
RUN_ATTRS_DOC = """    converged_ : bool
        False when the run stopped at ``max_iter`` or on a plateau (a
        ConvergenceWarning says which).
    plateau_ : bool
        The run stopped unconverged while gaining less than ``tol`` per step.
    n_iter_ : int
        Data passes of the kept run after the one that evaluated its start:
        its M-steps for plain EM; with ``acceleration="squarem"`` the passes
        that evaluate extrapolated iterates count too.
    n_passes_ : int
        Every data pass of the kept run, the one that evaluated its start
        included.
    lower_bound_ : float
        Mean per-sample log-likelihood of the fitted parameters.
    history_ : ndarray of shape (n_history,)
        Mean per-sample log-likelihood after every iteration of the kept run:
        one entry per EM step, or with ``acceleration="squarem"`` one per
        accepted iterate (so ``n_history`` can be smaller than ``n_iter_``).
"""

#: ``max_iter`` and ``n_init``
RUNS_DOC = """    max_iter : int, default=1000
        Maximum number of data passes (EM iterations) per run.
    n_init : int, default=1
        Number of initialisations; the best run is kept (runs without a
        degenerate component rank first, then by log-likelihood).
"""
