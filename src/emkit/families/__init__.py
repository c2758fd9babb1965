"""Component families: stateless statistics and M-steps on one interface."""

from ._base import Family
from ._stats import Stats
from .gaussian import GaussianFamily

__all__ = ["Family", "GaussianFamily", "Stats"]
