"""The 1-D two-Gaussian tutorial: EM from a poor start, every iteration printed.

Data: numpy.random.seed(0), 50 draws of N(0, 1) then 50 of N(2, 1).  Start: means
0 and 1, standard deviations 2 and 2, weights 0.5 each.  Plain EM climbs
monotonically (about 1,200 iterations) to means (0.2218, 1.9945), standard
deviations (1.1717, 0.8570), weights (0.5273, 0.4727) and a total log-likelihood
of -170.98120; SQUAREM acceleration gets there in a few dozen data passes.

    python examples/tutorial_1d.py [--small] [--out DIR]
"""

import warnings

import numpy as np

import emkit
from _common import options, save

args = options(__doc__.splitlines()[0])

np.random.seed(0)                                  # the tutorial's data, legacy global RNG
x = np.concatenate([np.random.normal(0, 1, 50), np.random.normal(2, 1, 50)])
X = x[:, None]                                     # one feature: shape (100, 1)
start = dict(weights_init=[0.5, 0.5], means_init=[[0.0], [1.0]],
             precisions_init=[[[1 / 4]], [[1 / 4]]])   # sd 2 = precision 1/4


def show(info):
    """Called by emkit after every EM iteration: print its number, log-likelihood, parameters."""
    p = info["params"]
    sds = np.sqrt(p["covariances"].ravel())
    print(f"{info['iteration']:5d}  {info['log_likelihood'] * x.size:12.6f}  "
          f"w {p['weights'][0]:.4f} {p['weights'][1]:.4f}  "
          f"mean {p['means'][0, 0]:8.4f} {p['means'][1, 0]:8.4f}  sd {sds[0]:.4f} {sds[1]:.4f}")


print(" iter  log-likelihood  parameters (plain EM, every iteration)")
plain = emkit.GaussianMixture(2, **start, acceleration=None, tol=1e-10,
                              max_iter=300 if args.small else 5000)
with warnings.catch_warnings():
    if args.small:                                 # --small stops plain EM early on purpose
        warnings.simplefilter("ignore", emkit.ConvergenceWarning)
    plain.fit(X, callback=show)
print(f"plain EM: {plain.n_iter_} iterations, converged {plain.converged_}, "
      f"total log-likelihood {plain.lower_bound_ * x.size:.5f}")

fast = emkit.GaussianMixture(2, **start, tol=1e-10).fit(X)     # SQUAREM (the default)
order = np.argsort(fast.means_.ravel())
print(f"SQUAREM: {fast.n_iter_} data passes, total log-likelihood {fast.lower_bound_ * x.size:.5f}")
print("means", np.round(fast.means_.ravel()[order], 4),
      "sds", np.round(np.sqrt(fast.covariances_.ravel()[order]), 4),
      "weights", np.round(fast.weights_[order], 4))

if not args.no_plots:
    from matplotlib.figure import Figure

    from emkit.plotting import plot_history

    fig = Figure(figsize=(8, 5))
    plot_history(plain, ax=fig.add_subplot())      # the climb, one point per EM iteration
    save(fig, args, "tutorial_1d_climb.png")
