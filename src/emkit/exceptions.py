"""Warnings and errors raised by emkit.

``ConvergenceWarning`` and ``NotFittedError`` are scikit-learn's own,
imported when first asked for: the engine's modules import this one, and a
dask worker that only runs the engine's passes then never loads
scikit-learn (about 110 MiB of memory, measured in benchmarks/README.md).
"""

from .families._linalg import SingularCovarianceError


def __getattr__(name):
    if name in ("ConvergenceWarning", "NotFittedError"):
        from sklearn import exceptions

        return getattr(exceptions, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class DegenerateComponentWarning(UserWarning):
    """A fitted component collapsed onto a spurious maximum of the likelihood.

    Typical with rounded or repeated values: a component's variance in some
    direction shrinks to the ``reg_covar`` floor and the likelihood could grow
    without bound.  Such fits should not win model selection.
    """


class ModelFileError(ValueError):
    """A model file cannot be loaded: truncated, tampered with, not emkit's, or too new."""


class LikelihoodDecreaseWarning(RuntimeWarning):
    """The log-likelihood went down between EM iterates by more than rounding.

    EM never decreases the likelihood, so this points at ill-conditioned data
    (for example values many orders of magnitude apart) or a faulty family.
    """


class DroppedStartWarning(UserWarning):
    """One initialisation failed (for example a singular covariance) and was dropped.

    The fit goes on with the other starts; an error is raised only when every
    start fails.
    """


class BootstrapFailureWarning(UserWarning):
    """Some bootstrap replicates could not be refitted.

    They are counted (``n_failed``) and their reasons kept (``failures``) in
    the result; the statistics are over the replicates that were refitted.
    """


__all__ = [
    "BootstrapFailureWarning",
    "ConvergenceWarning",
    "DegenerateComponentWarning",
    "ModelFileError",
    "DroppedStartWarning",
    "LikelihoodDecreaseWarning",
    "NotFittedError",
    "SingularCovarianceError",
]
