"""One phrase for how a fit ended, shared by the command line and the plots."""

from __future__ import annotations


def fit_status(model, n_steps: int | None = None, unit: str = "iteration") -> str:
    """``"converged after 12 iterations"``, ``"not converged after ..."`` or ``"interrupted after ..."``.

    Parameters
    ----------
    model : emkit estimator
        Read for ``converged_`` and ``interrupted_`` (False when absent).
    n_steps : int or None
        The count to show; ``None`` reads ``model.n_iter_`` (0 when absent).
    unit : str
        What is counted, in the singular (``"iteration"``, ``"EM step"``).
    """
    n = int(getattr(model, "n_iter_", 0)) if n_steps is None else int(n_steps)
    steps = f"{n} {unit}{'s' if n != 1 else ''}"
    if getattr(model, "interrupted_", False):
        return f"interrupted after {steps} (not converged)"
    if getattr(model, "converged_", False):
        return f"converged after {steps}"
    return f"not converged after {steps}"
