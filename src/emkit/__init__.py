"""emkit: mixture models fitted by the EM algorithm.

Gaussian and discrete component families share one EM engine written as a
reduction of additive sufficient statistics over row chunks, behind a
scikit-learn compatible API.
"""

from .exceptions import ConvergenceWarning, DegenerateComponentWarning, SingularCovarianceError
from .mixture import GaussianMixture

__version__ = "0.1.0"

__all__ = [
    "ConvergenceWarning",
    "DegenerateComponentWarning",
    "GaussianMixture",
    "SingularCovarianceError",
    "__version__",
]
