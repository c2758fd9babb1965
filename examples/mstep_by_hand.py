"""One EM step written by hand in NumPy, next to emkit's own step.

Three labelled blobs in 2-D.  From the same starting parameters, the E-step gives
responsibilities (each row sums to 1) and the M-step for diagonal covariances is

    weights   = column sums of resp / n
    means     = resp^T X / column sums
    variances = resp^T (X - mean)^2 / column sums      (per feature)

emkit's one step (max_iter=1, plain EM, no covariance floor) gives the same numbers;
a full fit recovers the blobs (adjusted Rand index above 0.95).

    python examples/mstep_by_hand.py [--small]
"""

import warnings

import numpy as np
from scipy.stats import norm
from sklearn.metrics import adjusted_rand_score

import emkit
from _common import options

args = options(__doc__.splitlines()[0])
n = 100 if args.small else 500                     # rows per blob
rng = np.random.default_rng(0)
centres = np.array([[0.0, 0.0], [6.0, 1.0], [2.0, 7.0]])
X = np.concatenate([rng.normal(c, [1.0, 1.5], size=(n, 2)) for c in centres])
truth = np.repeat(np.arange(3), n)

# starting parameters: three rows as means, unit variances, equal weights
w0 = np.full(3, 1 / 3)
mu0 = X[[0, n, 2 * n]] + 0.5
var0 = np.ones((3, 2))

# --- E-step by hand: responsibilities from Bayes' rule (diagonal Gaussians)
dens = w0 * np.prod(norm.pdf(X[:, None, :], mu0, np.sqrt(var0)), axis=2)   # (N, 3)
resp = dens / dens.sum(axis=1, keepdims=True)
print("responsibilities: rows sum to 1:", np.allclose(resp.sum(axis=1), 1.0))

# --- M-step by hand
nk = resp.sum(axis=0)
weights = nk / X.shape[0]
means = resp.T @ X / nk[:, None]
variances = np.stack([resp[:, k] @ (X - means[k]) ** 2 for k in range(3)]) / nk[:, None]

# --- emkit's one step from the same start
one = emkit.GaussianMixture(3, covariance_type="diag", weights_init=w0, means_init=mu0,
                            precisions_init=1 / var0, max_iter=1, acceleration=None,
                            reg_covar=0.0)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")                # one step does not converge, as intended
    one.fit(X)

np.set_printoptions(precision=5, suppress=True)
print("by hand weights  ", weights, "\nemkit weights    ", one.weights_)
print("by hand means\n", means, "\nemkit means\n", one.means_)
print("by hand variances\n", variances, "\nemkit variances\n", one.covariances_)
diff = max(np.abs(weights - one.weights_).max(), np.abs(means - one.means_).max(),
           np.abs(variances - one.covariances_).max())
print(f"largest difference: {diff:.2e}")

full = emkit.GaussianMixture(3, covariance_type="diag", random_state=0).fit(X)
print(f"adjusted Rand index of a full fit against the labels: "
      f"{adjusted_rand_score(truth, full.predict(X)):.4f}")
