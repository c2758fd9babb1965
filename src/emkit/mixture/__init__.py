"""Mixture estimators with the scikit-learn interface."""

from ._base import BaseMixture
from ._discrete import BernoulliMixture, BinomialMixture, CategoricalMixture, PoissonMixture
from ._gaussian import GaussianMixture

__all__ = [
    "BaseMixture",
    "BernoulliMixture",
    "BinomialMixture",
    "CategoricalMixture",
    "GaussianMixture",
    "PoissonMixture",
]
