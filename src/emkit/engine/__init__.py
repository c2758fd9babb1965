"""The family-agnostic EM engine: loop, convergence, initialisation, acceleration."""

from .em import EMResult, expectation, maximization, params_from_resp, run_em

__all__ = ["EMResult", "expectation", "maximization", "params_from_resp", "run_em"]
