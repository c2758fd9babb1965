"""Shared parts of families with one success probability per feature and component.

Bernoulli (one trial) and binomial (known trials) components have the same
parameter, ``probs`` of shape (n_components, n_features), the same M-step
``p_kj = sum_i r_ik x_ij / sum_i r_ik n_ij`` (with ``n_ij = 1`` for
Bernoulli), the same initial-value check and the same logit coordinates for
SQUAREM.
"""

from __future__ import annotations

import numpy as np

from ._base import Family
from ._cells import CellMixin
from ._numerics import check_init_array, check_unit_interval, expit, logit, ratio_or_pooled


class ProbabilityFamily(CellMixin, Family):
    """Base of the Bernoulli and binomial families (not registered itself)."""

    param_names = ("probs",)
    init_names = ("probs_init",)
    data_kind = "discrete"
    param_labels = {"probs": "p"}
    init_softening = 0.1
    init_aliases = {"probabilities": "probs"}

    def _trials_stat(self, stats) -> np.ndarray:
        """Summed (weighted) trials per component and feature: ``sn`` or ``nk``."""
        return stats["sn"] if "sn" in stats else stats["nk"][:, None]

    def m_step(self, stats, params, fixed):
        p = ratio_or_pooled(stats["sx"], self._trials_stat(stats))
        return {"probs": np.clip(p, 0.0, 1.0)}

    def check_params(self, params):
        check_unit_interval(np.asarray(params["probs"]), "probs")

    def n_parameters(self, params, fixed=frozenset()):
        return 0 if "probs" in fixed else int(np.asarray(params["probs"]).size)

    def check_init(self, values, n_components, n_features):
        if "probs_init" not in values:
            return {}
        return {"probs": check_init_array(values["probs_init"], (n_components, n_features),
                                          "probs_init", 0.0, 1.0, "hold probabilities in [0, 1]")}

    def to_unconstrained(self, params, fixed):
        """Logits of the probabilities (clipped to ``[1e-12, 1 - 1e-12]``)."""
        return {"probs_logit": logit(params["probs"])}

    def from_unconstrained(self, theta, params, fixed):
        return {"probs": expit(theta["probs_logit"])}


__all__ = ["ProbabilityFamily"]
