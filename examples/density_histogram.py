"""The density of a fitted mixture over a histogram, and the classic mistake.

Data: 2,000 draws of N(-0.5, 0.2), 5,000 of N(-0.1, 0.07), 10,000 of N(0.2, 0.13).
A 3-component fit's density is sum_k w_k N(x; mean_k, sd_k) with every component
normalised on its own; it equals exp(score_samples) and integrates to 1.  The
classic mistake adds the components' unnormalised bells w_k exp(-z^2 / 2) and then
normalises the sum: it also integrates to 1, but the narrow component is too low
and the wide ones too high.

    python examples/density_histogram.py [--small] [--out DIR]
"""

import numpy as np

import emkit
from _common import options, save

args = options(__doc__.splitlines()[0])
scale = 10 if args.small else 1                    # --small: a tenth of the rows
rng = np.random.default_rng(1)                      # the reference case's data
x = np.concatenate([rng.normal(-0.5, 0.2, 2000 // scale), rng.normal(-0.1, 0.07, 5000 // scale),
                    rng.normal(0.2, 0.13, 10000 // scale)])
gm = emkit.GaussianMixture(3, random_state=0).fit(x[:, None])
w, mu, sd = gm.weights_, gm.means_.ravel(), np.sqrt(gm.covariances_.ravel())
order = np.argsort(mu)
print(f"{x.size} rows; total log-likelihood {gm.lower_bound_ * x.size:.2f}")
print("means", np.round(mu[order], 4), "sds", np.round(sd[order], 4), "weights", np.round(w[order], 4))

grid = np.linspace(x.min() - 0.2, x.max() + 0.2, 2001)
z = (grid[None, :] - mu[:, None]) / sd[:, None]
parts = w[:, None] * np.exp(-0.5 * z**2) / (sd[:, None] * np.sqrt(2 * np.pi))   # each normalised
right = parts.sum(axis=0)
wrong = (w[:, None] * np.exp(-0.5 * z**2)).sum(axis=0)                          # the mistake ...
wrong /= np.trapezoid(wrong, grid)                                               # ... normalised at the end
print(f"largest |sum of components - exp(score_samples)|: "
      f"{np.abs(right - np.exp(gm.score_samples(grid[:, None]))).max():.2e}")
print(f"integral of the density: {np.trapezoid(right, grid):.6f}; of the mistake: "
      f"{np.trapezoid(wrong, grid):.6f}")
print(f"largest gap between the two curves: {np.abs(right - wrong).max():.3f} "
      f"(the density peaks at {right.max():.3f})")

if not args.no_plots:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 5))
    ax = fig.add_subplot()
    ax.hist(x, bins=80, density=True, color="0.8", label=f"data ({x.size} rows)")
    for k in order:
        ax.plot(grid, parts[k], lw=1.2, label=f"component {k}: w {w[k]:.2f} x N({mu[k]:.2f}, {sd[k]:.2f})")
    ax.plot(grid, right, "k", lw=2, label="mixture density (each component normalised)")
    ax.plot(grid, wrong, "r--", lw=1.5, label="mistake: unnormalised bells, sum normalised")
    ax.set_xlabel("x")
    ax.set_ylabel("density")
    ax.legend(fontsize="small", loc="upper left")
    save(fig, args, "density_histogram.png")
