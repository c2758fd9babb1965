"""Estimator constructors, and estimators, made from a family.

Every estimator takes the same engine parameters (:data:`ENGINE_PARAMS`),
plus its family's settings (``settings_params``, with the family's
defaults) and initial values (``init_names``, default None).  The
constructor is written out with an explicit signature, as scikit-learn's
``get_params`` / ``clone`` need, and stores every argument unchanged.

An estimator written in :mod:`emkit.mixture` only adds its documentation;
a registered family without one gets :func:`make_estimator`'s.
"""

from __future__ import annotations

import dataclasses

#: constructor parameters of every estimator and their defaults
ENGINE_PARAMS = (
    ("tol", 1e-9),
    ("max_iter", 1000),
    ("n_init", 1),
    ("init_params", "auto"),
    ("weights_init", None),
    ("random_state", None),
    ("warm_start", False),
    ("verbose", 0),
    ("verbose_interval", 10),
    ("fixed", ()),
    ("chunk_size", None),
    ("acceleration", "squarem"),
    ("missing", "error"),
)


def constructor_params(family: type) -> list[tuple[str, object]]:
    """Keyword parameters (after ``n_components``) of the estimator of ``family``."""
    defaults = {f.name: f.default for f in dataclasses.fields(family)}
    settings = [(name, defaults.get(name)) for name in family.settings_params]
    inits = [(name, None) for name in family.init_names]
    return settings + list(ENGINE_PARAMS) + inits


def make_init(family: type):
    """An ``__init__(self, n_components=1, *, ...)`` that stores every argument."""
    params = constructor_params(family)
    namespace = {f"_default_{name}": value for name, value in params}
    signature = ", ".join(f"{name}=_default_{name}" for name, _ in params)
    body = "\n".join(f"    self.{name} = {name}" for name, _ in [("n_components", 1), *params])
    source = f"def __init__(self, n_components=1, *, {signature}):\n{body}\n"
    exec(compile(source, f"<emkit constructor of {family.estimator_name}>", "exec"), namespace)
    return namespace["__init__"]


def make_estimator(family: type) -> type:
    """A thin estimator for a registered family that has no written one.

    Fitted attributes are the family's parameters with a trailing underscore
    (``rates`` -> ``rates_``); the docstring is the family's
    ``estimator_doc``.
    """
    from ._base import BaseMixture

    cls = type(family.estimator_name, (BaseMixture,), {
        "__doc__": family.estimator_doc or f"Mixture of {family.name} components fitted by EM.",
        "__module__": "emkit.mixture",
        "_family_type": family,
        "_param_attrs": {p: f"{p}_" for p in family.param_names},
    })
    return cls
