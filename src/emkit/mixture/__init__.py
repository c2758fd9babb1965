"""Mixture estimators with the scikit-learn interface."""

from ._base import BaseMixture
from ._gaussian import GaussianMixture

__all__ = ["BaseMixture", "GaussianMixture"]
