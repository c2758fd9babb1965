"""emkit: mixture models fitted by the EM algorithm.

Gaussian and discrete component families share one EM engine written as a
reduction of additive sufficient statistics over row chunks, behind a
scikit-learn compatible API.
"""

# first: Ctrl-C while the command line loads exits 130 without a traceback
from . import _startup  # noqa: F401, I001

#: public name -> the module that defines it, imported on first use (PEP 562), so that a
#: process that only unpickles the engine's functions (a dask worker) never imports
#: scikit-learn or the estimators
_LAZY = {
    "BootstrapResult": "._bootstrap", "bootstrap": "._bootstrap",
    "BootstrapLRTResult": "._bootstrap_lrt", "bootstrap_lrt": "._bootstrap_lrt",
    "load": "._modelfile", "save": "._modelfile",
    "BootstrapFailureWarning": ".exceptions", "ConvergenceWarning": ".exceptions",
    "DegenerateComponentWarning": ".exceptions", "SingularCovarianceError": ".exceptions",
    "BernoulliMixture": ".mixture", "BinomialMixture": ".mixture",
    "CategoricalMixture": ".mixture", "GaussianMixture": ".mixture",
    "MixedMixture": ".mixture", "PoissonMixture": ".mixture",
    "select_model": ".selection",
}

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
    """The public names (imported on first use) and the estimators of registered families
    that have no written class (see emkit.registry)."""
    import importlib

    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    mixture = importlib.import_module(".mixture", __name__)
    if name in globals():  # a submodule that importing the estimators imported
        return globals()[name]
    try:
        return getattr(mixture, name)
    except AttributeError:
        pass
    try:  # a submodule not imported yet, as the eager package used to import them
        return importlib.import_module("." + name, __name__)
    except ModuleNotFoundError as exc:
        if exc.name != f"{__name__}.{name}":
            raise
    raise AttributeError(f"module 'emkit' has no attribute {name!r}")


def __dir__():
    from .registry import estimators

    return sorted(set(globals()) | set(estimators()))
