"""Counts from two hidden groups: a Poisson mixture, observed against fitted shares.

Calls per day at a help desk: quiet days (rate 2) and busy days (rate 9), 30% busy.
The fit recovers the rates and the share of busy days; every day gets the
probability that it was busy.

    python examples/poisson_counts.py [--small] [--out DIR]
"""

import numpy as np
from scipy.stats import poisson

import emkit
from _common import options, save

args = options(__doc__.splitlines()[0])
n = 300 if args.small else 3000
rng = np.random.default_rng(0)
busy = rng.random(n) < 0.3
counts = rng.poisson(np.where(busy, 9.0, 2.0))[:, None]       # shape (n, 1)

pm = emkit.PoissonMixture(2, random_state=0).fit(counts)
order = np.argsort(pm.rates_.ravel())
rates, weights = pm.rates_.ravel()[order], pm.weights_[order]
print(f"{n} days; rates {np.round(rates, 3)} (true 2 and 9), weights {np.round(weights, 3)} "
      f"(true 0.7 and 0.3)")
print(f"total log-likelihood {pm.score(counts) * n:.4f}; BIC {pm.bic(counts):.2f}")

print(" calls  observed  fitted   P(busy)")
values = np.arange(0, 16)
fitted = (weights[:, None] * poisson.pmf(values[None, :], rates[:, None])).sum(axis=0)
observed = np.bincount(counts.ravel(), minlength=values.size)[: values.size] / n
p_busy = pm.predict_proba(values[:, None])[:, order[1]]
for v, o, f, b in zip(values, observed, fitted, p_busy, strict=True):
    print(f"{v:6d}  {o:8.4f}  {f:6.4f}  {b:8.3f}")

if not args.no_plots:
    from matplotlib.figure import Figure

    from emkit.plotting import plot_pmf

    fig = Figure(figsize=(8, 5))
    plot_pmf(pm, counts, ax=fig.add_subplot(), feature_names=["calls per day"])
    save(fig, args, "poisson_counts.png")
