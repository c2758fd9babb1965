"""Optional hooks of a family: several EM runs in one pass over small in-memory data.

Part of :class:`~emkit.families.Family` (its base class).  The engine's
batched EM (:func:`emkit.engine.batch.run_em_batch`) calls them with the
runs still going; None from either means "no batched step here", and the
engine takes one ordinary E- or M-step per run instead, so a family that
does not implement them (every family but the Gaussian one) loses nothing.
"""

from __future__ import annotations

from collections.abc import Mapping


class BatchHooks:
    """Default batched steps: none (the engine's per-run path)."""

    def batch_e_step(self, data, params_list: list) -> list | None:
        """The E-steps of several runs on in-memory data held in one chunk, or None.

        Parameters
        ----------
        data : Data
            All rows, in memory.
        params_list : list of dict
            Every run's parameters (``"weights"`` of shape (K_r,) included).

        Returns
        -------
        list of (stats, loglik) or None
            Per run, in order: the statistics (``"nk"`` of shape (K_r,)
            included, rows weighted) and ``sum_i w_i log p(x_i)``, equal to
            the run's own fused E-step up to rounding.
        """
        return None

    def batch_m_step(self, stats_list: list[Mapping]) -> list | None:
        """The M-steps of several runs with nothing held fixed, or None.

        Parameters
        ----------
        stats_list : list of Mapping
            Every run's summed statistics (``"nk"`` included).

        Returns
        -------
        list of dict or None
            Per run, the new parameters with ``"weights"``, as
            :func:`emkit.engine.em.maximization` gives them up to rounding.
            May raise what the family's M-step raises when any run fails
            (the engine then redoes the runs one by one).
        """
        return None

    def batch_key(self):
        """What makes two family objects take batched steps together, or None.

        Runs of different fits (several ``K`` of one model selection) share
        a batched step when their families' keys are equal (and their rows
        are); None: only runs of this very family object batch together.
        """
        return None

    # SQUAREM's per-run work (emkit.engine.squarem), for runs with nothing held fixed
    def batch_to_unconstrained(self, params_list: list) -> list | None:
        """``[self.to_unconstrained(p, frozenset()) for p in params_list]``, or None."""
        return None

    def batch_from_unconstrained(self, theta_list: list, params_list: list) -> list | None:
        """``[self.from_unconstrained(t, p, frozenset()) for t, p in ...]``, or None.

        May raise what ``from_unconstrained`` raises for any run (the engine
        then maps the runs one by one).
        """
        return None

    def batch_degenerate_components(self, params_list: list) -> list | None:
        """``[self.degenerate_components(p) for p in params_list]``, or None."""
        return None
