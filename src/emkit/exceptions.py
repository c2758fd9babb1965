"""Warnings and errors raised by emkit."""

from sklearn.exceptions import ConvergenceWarning, NotFittedError

from .families._linalg import SingularCovarianceError


class DegenerateComponentWarning(UserWarning):
    """A fitted component collapsed onto a spurious maximum of the likelihood.

    Typical with rounded or repeated values: a component's variance in some
    direction shrinks to the ``reg_covar`` floor and the likelihood could grow
    without bound.  Such fits should not win model selection.
    """


class ModelFileError(ValueError):
    """A model file cannot be loaded: truncated, tampered with, not emkit's, or too new."""


__all__ = [
    "ConvergenceWarning",
    "DegenerateComponentWarning",
    "ModelFileError",
    "NotFittedError",
    "SingularCovarianceError",
]
