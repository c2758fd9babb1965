"""emkit: mixture models fitted by the EM algorithm.

Gaussian and discrete component families share one EM engine written as a
reduction of additive sufficient statistics over row chunks, behind a
scikit-learn compatible API.
"""

# first: Ctrl-C while the command line loads exits 130 without a traceback
from . import _startup  # noqa: F401, I001
from ._bootstrap import BootstrapResult, bootstrap
from ._bootstrap_lrt import BootstrapLRTResult, bootstrap_lrt
from ._modelfile import load, save
from .exceptions import (
    BootstrapFailureWarning,
    ConvergenceWarning,
    DegenerateComponentWarning,
    SingularCovarianceError,
)
from .mixture import (
    BernoulliMixture,
    BinomialMixture,
    CategoricalMixture,
    GaussianMixture,
    MixedMixture,
    PoissonMixture,
)
from .selection import select_model

__version__ = "0.1.0"

__all__ = [
    "BernoulliMixture",
    "BinomialMixture",
    "BootstrapFailureWarning",
    "BootstrapLRTResult",
    "BootstrapResult",
    "CategoricalMixture",
    "ConvergenceWarning",
    "DegenerateComponentWarning",
    "GaussianMixture",
    "MixedMixture",
    "PoissonMixture",
    "SingularCovarianceError",
    "__version__",
    "bootstrap",
    "bootstrap_lrt",
    "load",
    "save",
    "select_model",
]


def __getattr__(name):
    """Estimators of registered families that have no written class (see emkit.registry)."""
    from . import mixture

    try:
        return getattr(mixture, name)
    except AttributeError:
        raise AttributeError(f"module 'emkit' has no attribute {name!r}") from None


def __dir__():
    from .registry import estimators

    return sorted(set(globals()) | set(estimators()))
