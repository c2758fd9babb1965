"""What the Gaussian family shows: its description, marginal densities, ellipses and draws."""

from __future__ import annotations

import numpy as np

from ._describe import Column, Description


class GaussianDescription:
    """Description, plot and sampling hooks of :class:`~emkit.families.gaussian.GaussianFamily`.

    A base class of it, before :class:`~emkit.families.Family`; uses its
    ``covariance_type`` and ``covariance_matrices``.
    """

    # ------------------------------------------------------------ description
    def settings(self):
        return {"covariance_type": self.covariance_type}

    def describe(self, params):
        """Means and standard deviations per feature (and the correlation of two)."""
        means = np.asarray(params["means"], dtype=np.float64)
        covs = self.covariance_matrices(params)
        sds = np.sqrt(np.einsum("kii->ki", covs))
        columns = [Column("mean", means), Column("sd", sds)]
        if means.shape[1] == 2:
            columns.append(Column("corr({0}, {1})", covs[:, 0, 1] / (sds[:, 0] * sds[:, 1]), 3))
        return Description(
            fields={"covariance_type": self.covariance_type, "means": means,
                    "covariances": params["covariances"]},
            summary=(f"{self.covariance_type} covariance",), columns=tuple(columns), wide_max=3,
        )

    def marginal_density(self, x, params, feature, aux):
        means = np.asarray(params["means"], dtype=np.float64)[:, feature]
        sds = np.sqrt(self.covariance_matrices(params)[:, feature, feature])
        z = (np.asarray(x, dtype=np.float64)[None, :] - means[:, None]) / sds[:, None]
        return np.exp(-0.5 * z * z) / (sds[:, None] * np.sqrt(2.0 * np.pi))

    def marginal_range(self, params, feature, x, aux):
        means = np.asarray(params["means"], dtype=np.float64)[:, feature]
        sds = np.sqrt(self.covariance_matrices(params)[:, feature, feature])
        return float((means - 3 * sds).min()), float((means + 3 * sds).max())

    def ellipses(self, params):
        return np.asarray(params["means"], dtype=np.float64), self.covariance_matrices(params)

    def sample(self, params, labels, rng, aux):
        means = params["means"]
        K, d = means.shape
        covs = self.covariance_matrices(params)
        X = np.empty((labels.shape[0], d))
        # sampling is not a hot path: one draw per component
        for k in range(K):
            idx = np.flatnonzero(labels == k)
            if idx.size:
                X[idx] = rng.multivariate_normal(means[k], covs[k], size=idx.size)
        return X
