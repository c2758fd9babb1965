"""Mixture estimators with the scikit-learn interface."""

from ._base import BaseMixture
from ._discrete_mixtures import BernoulliMixture, BinomialMixture, CategoricalMixture, PoissonMixture
from ._gaussian import GaussianMixture
from ._mixed import MixedMixture

__all__ = [
    "BaseMixture",
    "BernoulliMixture",
    "BinomialMixture",
    "CategoricalMixture",
    "GaussianMixture",
    "MixedMixture",
    "PoissonMixture",
]


def __getattr__(name):
    """Estimators of registered families that have no written class here (made on first use)."""
    from .. import registry

    for family in registry.families().values():
        if family.estimator_name == name:
            return registry.estimator_class(family.name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
