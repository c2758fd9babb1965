"""Any family over all columns with missing cells integrated out (``missing="marginalize"``).

Every estimator takes ``missing="marginalize"``: its family is then wrapped
in :class:`MarginalFamily`, the mixed-type machinery of
:mod:`emkit.families.mixed` with one block that covers every column and keeps
the family's own parameter names (no block prefix).  A missing cell (NaN) is
integrated out under missingness at random: the Gaussian family by the
conditional mean and covariance of the missing cells given the observed ones
(Ghahramani & Jordan 1994; :mod:`emkit.families._gaussian_missing`), every
product family (Bernoulli, binomial, Poisson, categorical, exponential) by
dropping the cell's factor (:mod:`emkit.families._cells`).  ``score_samples``
is the log density of each row's observed cells and ``predict`` works on
incomplete rows.

The wrapper answers every registry question (name, labels, descriptions,
plots, samples, initial values) with the wrapped family's answer, so nothing
above the engine sees a difference.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .mixed import MixedFamily, StandardisedRows

#: class attributes that are the wrapped family's
_FORWARDED = ("name", "display_name", "estimator_name", "data_kind", "param_labels", "value_label",
              "ordered", "init_softening", "dtypes", "side_data", "side_data_text", "init_aliases",
              "settings_params", "init_names", "variant_param", "variants", "variant_groups",
              "cli_params", "estimator_doc", "missing_fill")


@dataclass(frozen=True, eq=False)
class MarginalFamily(MixedFamily):
    """One family over every column, NaN cells integrated out.

    Parameters are the wrapped family's, under its own names.  Build it with
    :meth:`wrap`.
    """

    @classmethod
    def wrap(cls, family, n_features: int, column_names=None) -> MarginalFamily:
        """``family`` over columns ``0 .. n_features - 1`` with missing cells integrated out."""
        return cls(blocks=((family, np.arange(int(n_features), dtype=np.int64)),),
                   n_features=int(n_features), marginalize=True,
                   column_names=None if column_names is None else tuple(map(str, column_names)))

    @property
    def inner(self):
        """The wrapped family (configured by the data once prepared)."""
        return self.blocks[0][0]

    def _prefix(self, b: int) -> str:
        return ""

    def block_label(self, b: int) -> str:
        return f"the {self.inner.name} family"

    # ------------------------------------------------ the wrapped family's answers
    def side_aux(self, n_samples, n_features, kwargs, where):
        return self.inner.side_aux(n_samples, n_features, kwargs, where)

    def check_init(self, values, n_components, n_features):
        return self.inner.check_init(values, n_components, n_features)

    def init_kwargs(self, values, n_components, n_features):
        return self.inner.init_kwargs(values, n_components, n_features)

    def init_value_names(self):
        return self.inner.init_value_names()

    def settings(self):
        return self.inner.settings()

    def describe(self, params):
        return self.inner.describe(params)

    def sample(self, params, labels, rng, aux):
        return self.inner.sample(params, labels, rng, aux)

    def ellipses(self, params):
        return self.inner.ellipses(params)

    def start_transform(self):
        """The family's own coordinates, missing cells at the column mean."""
        if self.standardise is None:
            return None
        return StandardisedRows(self.standardise.centre, np.ones_like(self.standardise.scale))


def _forward(name):
    return property(lambda self: getattr(self.inner, name), doc=f"The wrapped family's ``{name}``.")


for _name in _FORWARDED:
    setattr(MarginalFamily, _name, _forward(_name))


__all__ = ["MarginalFamily"]
