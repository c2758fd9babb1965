"""Mixture estimators with the scikit-learn interface."""

from ._base import BaseMixture
from ._discrete import BernoulliMixture, BinomialMixture, CategoricalMixture, PoissonMixture
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
