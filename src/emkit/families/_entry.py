"""A family's registry entry: what the estimator, command line and model selection read.

:class:`RegistryEntry` is a base class of :class:`~emkit.families.Family`:
class attributes that a family sets to say its estimator's name, its
command-line options, what model selection varies, the per-row side data and
the column kinds it models, plus the mapping from starting values to the
estimator's ``*_init`` parameters.  It uses the family's ``name`` and
``param_names``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


class RegistryEntry:
    """Registry and estimator entry of a family (class attributes; see the module)."""

    # ---------------------------------------------------------- registry entry
    #: name of the estimator class that fits this family (exported by emkit)
    estimator_name: str = ""
    #: name in titles ("Gaussian"); defaults to :attr:`name`
    display_name: str = ""
    #: "continuous" (densities, float samples) or "discrete" (pmfs, integer samples)
    data_kind: str = "continuous"
    #: constructor parameter that model selection varies, and its values
    variant_param: str | None = None
    variants: tuple[str, ...] = ()
    #: names that stand for several variants in model selection (``"all"``, ...)
    variant_groups: Mapping[str, tuple[str, ...]] = {}
    #: command-line options the family accepts: option name -> constructor parameter
    cli_params: Mapping[str, str] = {}
    #: keyword of per-row side data that fit, predict, score and sample take
    side_data: str | None = None
    #: what the side data is, for messages ("the number of trials")
    side_data_text: str = ""
    #: kinds of table column the family models (names in
    #: :data:`emkit.registry.COLUMN_KINDS`); ``emkit fit --family auto`` gives a
    #: column the family that accepts its kind and the fewest other kinds
    column_kinds: tuple[str, ...] = ()

    @classmethod
    def expand_variants(cls, name: str, n_features: int | None) -> tuple[str, ...] | None:
        """The variants a group name stands for on data with ``n_features``
        columns, or None when ``name`` is not a group."""
        return cls.variant_groups.get(name)
    #: table labels of the parameters in the default :meth:`describe`
    param_labels: Mapping[str, str] = {}
    #: what a value of a feature is, for plot axes ("count")
    value_label: str = "value"
    #: discrete values are ordered (pmf points joined by lines) or not (categories)
    ordered: bool = True

    # ------------------------------------------------------ estimator entry
    #: constructor parameters of the estimator that configure the family
    #: (the family's dataclass fields of the same names)
    settings_params: tuple[str, ...] = ()
    #: estimator constructor parameters holding initial values (``"means_init"``)
    init_names: tuple[str, ...] = ()
    #: dtypes the family fits in (the first is the default)
    dtypes: tuple = (np.float64,)
    #: share of uniform mass mixed into hard initial responsibilities (so that
    #: a discrete family never starts at a probability of exactly 0 or 1)
    init_softening: float = 0.0
    #: the estimator's docstring for estimators made from the family
    estimator_doc: str = ""
    #: a value inside the support that stands in for a missing cell where a
    #: family's own code must see a number (its factor is dropped)
    missing_fill: float = 0.0
    #: at set-up, fill a missing cell with its column's smallest observed value instead of
    #: :attr:`missing_fill` (for a family whose set-up collects the values seen, so that a
    #: stand-in adds no value the data does not hold: categorical codes)
    fill_from_data: bool = False

    #: other names a starting-values file may give a parameter ("probabilities")
    init_aliases: Mapping[str, str] = {}

    def init_kwargs(self, values: Mapping, n_components: int, n_features: int) -> dict:
        """Estimator keyword arguments (``*_init``) from starting values by parameter name.

        The command line's ``--init FILE`` reads a JSON object such as
        ``{"weights": [...], "means": [...]}``; the engine takes
        ``"weights"`` itself and this maps every other name (a parameter of
        :attr:`param_names` or an alias of :attr:`init_aliases`) to the
        constructor parameter that starts it.

        Parameters
        ----------
        values : dict
            Starting values by parameter name, without ``"weights"``.
        n_components, n_features : int

        Returns
        -------
        kwargs : dict
            ``{"probs_init": ...}`` and the like; ValueError for a name the
            family cannot start from.
        """
        out = {}
        for name, value in values.items():
            param = self.init_aliases.get(name, name)
            if f"{param}_init" not in self.init_names:
                raise ValueError(f"starting values: the {self.name} family cannot start from "
                                 f"{name!r}; give {', '.join(self.init_value_names())}")
            out[f"{param}_init"] = value
        return out

    def init_value_names(self) -> tuple:
        """Names :meth:`init_kwargs` accepts, with ``"weights"`` (for messages)."""
        names = [p for p in self.param_names if f"{p}_init" in self.init_names]
        return ("weights", *names, *self.init_aliases)
