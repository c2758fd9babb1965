"""Component families: stateless statistics and M-steps on one interface."""

from ._base import Family
from ._stats import Stats
from .bernoulli import BernoulliFamily
from .binomial import BinomialFamily
from .categorical import CategoricalFamily
from .gaussian import GaussianFamily
from .poisson import PoissonFamily

__all__ = [
    "BernoulliFamily",
    "BinomialFamily",
    "CategoricalFamily",
    "Family",
    "GaussianFamily",
    "PoissonFamily",
    "Stats",
]
