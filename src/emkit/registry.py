"""The family registry: every layer above the engine finds families here.

A family registers itself with one line in :data:`FAMILY_MODULES` (the module
under :mod:`emkit.families` that defines it).  The family class carries its
registry entry as class attributes (name, estimator name, command-line
options, the constructor parameter that model selection varies, per-row side
data) and the methods that tables, JSON and plots call
(:meth:`~emkit.families.Family.describe`,
:meth:`~emkit.families.Family.marginal_density`, ...).  The command line,
model selection, model files and plots read this registry and never branch on
a family's name.

The estimator of a family is the class of that name in :mod:`emkit.mixture`
when one is written there (with its own documentation), else a thin one made
from the family (see :mod:`emkit.mixture._factory`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np

#: modules under emkit.families that each define one registered family
FAMILY_MODULES = (
    "gaussian",
    "bernoulli",
    "binomial",
    "poisson",
    "categorical",
    "exponential",
)

#: estimators built from several registered families (listed for model files, not
#: offered as a family of their own): module under emkit.mixture -> class name
COMPOSITE_ESTIMATORS = (("_mixed", "MixedMixture"),)



@dataclass(frozen=True)
class ColumnKind:
    """A kind of table column, for ``emkit fit --family auto``.

    Parameters
    ----------
    name : str
        What families list in their ``column_kinds``.
    text : str
        What such a column holds, shown in the table of inferred families.
    test : callable
        Whether observed values of shape (n,) (no NaN) are all of this kind.
    suggest_override : bool
        A column of this kind is often of a more general kind that happens
        to look like this one (rounded measurements as counts): the table
        names the override to the most general family.
    """

    name: str
    text: str
    test: Callable[[np.ndarray], bool]
    suggest_override: bool = False


#: column kinds, most specific first; every column is at least "real"
COLUMN_KINDS = (
    ColumnKind("binary", "only 0 and 1", lambda v: bool(np.all((v == 0) | (v == 1)))),
    ColumnKind("count", "non-negative integers",
               lambda v: bool(np.all(v >= 0) and np.all(v == np.floor(v))), suggest_override=True),
    ColumnKind("real", "real numbers", lambda v: True),
)

#: kinds of text columns (read as category codes with their labels), by number of labels
TEXT_KINDS = (
    ColumnKind("two labels", "two distinct strings", lambda v: bool(np.all((v == 0) | (v == 1)))),
    ColumnKind("labels", "strings", lambda v: True),
)


def text_kind(n_labels: int) -> ColumnKind:
    """The kind of a text column with ``n_labels`` distinct labels (one or two: "two labels")."""
    return TEXT_KINDS[0] if n_labels <= 2 else TEXT_KINDS[1]


__all__ = ["COLUMN_KINDS", "TEXT_KINDS", "text_kind", "COMPOSITE_ESTIMATORS", "FAMILY_MODULES", "ColumnKind", "column_kind",
           "estimator_class", "estimators", "families", "families_for_column", "family_of", "get"]


@cache
def families() -> dict:
    """Every registered family class by name, in registration order.

    Returns
    -------
    families : dict of str to type
    """
    from .families._base import Family

    out = {}
    for module_name in FAMILY_MODULES:
        module = importlib.import_module(f"emkit.families.{module_name}")
        found = [obj for obj in vars(module).values()
                 if isinstance(obj, type) and issubclass(obj, Family) and obj is not Family
                 and obj.__module__ == module.__name__]
        if len(found) != 1:
            raise RuntimeError(f"emkit.families.{module_name} must define exactly one Family "
                               f"subclass, found {len(found)}")
        out[found[0].name] = found[0]
    return out


def get(name: str) -> type:
    """The family class registered as ``name``; ValueError naming the choices otherwise."""
    fams = families()
    if not isinstance(name, str) or name not in fams:
        raise ValueError(f"family must be one of {', '.join(repr(f) for f in fams)}, got {name!r}")
    return fams[name]


def estimator_class(name: str) -> type:
    """The estimator class that fits the family registered as ``name``."""
    family = get(name)
    return _estimator_for(family)


@cache
def _estimator_for(family: type) -> type:
    from . import mixture

    cls = vars(mixture).get(family.estimator_name)  # a written estimator, if any
    if cls is None:
        from .mixture._factory import make_estimator

        cls = make_estimator(family)
    return cls


def estimators() -> dict:
    """Every registered family's estimator class, and the composite ones, by class name."""
    out = {family.estimator_name: _estimator_for(family) for family in families().values()}
    for module_name, class_name in COMPOSITE_ESTIMATORS:
        module = importlib.import_module(f"emkit.mixture.{module_name}")
        out[class_name] = getattr(module, class_name)
    return out


def family_of(model) -> type:
    """The family class of an emkit estimator (class or instance)."""
    cls = model if isinstance(model, type) else type(model)
    family = getattr(cls, "_family_type", None)
    if family is None:
        raise ValueError(f"{cls.__name__} is not an emkit mixture estimator")
    return family


def column_kind(values: np.ndarray) -> ColumnKind:
    """The most specific kind of a column.

    Parameters
    ----------
    values : ndarray of shape (n_samples,)
        The column; NaN cells (missing) are ignored.  A column with no
        observed cell is "real".
    """
    seen = np.asarray(values, dtype=np.float64)
    seen = seen[~np.isnan(seen)]
    for kind in COLUMN_KINDS[:-1]:
        if seen.size and kind.test(seen):
            return kind
    return COLUMN_KINDS[-1]


def families_for_column(kind: str) -> list:
    """Registered families that model columns of ``kind``, most specific first.

    Most specific: accepting the fewest column kinds (registration order on
    ties).  The first is what ``emkit fit --family auto`` gives such a column.
    """
    fams = [f for f in families().values() if kind in f.column_kinds]
    if not fams:
        raise ValueError(f"no registered family models {kind!r} columns")
    return sorted(fams, key=lambda f: len(f.column_kinds))
