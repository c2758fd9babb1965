"""A Bernoulli mixture of binary images: handwritten 0s, 1s and 7s as 8 x 8 pixels.

scikit-learn's bundled digits (no download), binarised at half intensity.  Each
component is an image of pixel probabilities: printed as text (# above 0.5, +
above 0.2) and drawn as a component x pixel heatmap and as images.

    python examples/bernoulli_images.py [--small] [--out DIR]
"""

import numpy as np
from sklearn.datasets import load_digits
from sklearn.metrics import adjusted_rand_score

import emkit
from _common import options, save

args = options(__doc__.splitlines()[0])
digits = load_digits()
keep = np.isin(digits.target, [0, 1, 7])
X = (digits.data[keep] >= 8).astype(float)          # (n, 64) zeros and ones
y = digits.target[keep]
if args.small:
    X, y = X[::3], y[::3]

bm = emkit.BernoulliMixture(3, n_init=3, random_state=0).fit(X)
print(f"{X.shape[0]} images of {X.shape[1]} pixels; total log-likelihood "
      f"{bm.score(X) * X.shape[0]:.2f}")
labels = bm.predict(X)
print(f"adjusted Rand index against the digits: {adjusted_rand_score(y, labels):.3f}")
for k in range(3):
    digit = np.bincount(y[labels == k]).argmax() if np.any(labels == k) else -1
    print(f"component {k}: weight {bm.weights_[k]:.3f}, mostly the digit {digit}")
    image = bm.probs_[k].reshape(8, 8)
    for row in image:
        print("    " + "".join("#" if p > 0.5 else "+" if p > 0.2 else "." for p in row))

if not args.no_plots:
    from matplotlib.figure import Figure

    from emkit.plotting import plot_heatmap

    fig = Figure(figsize=(14, 3.5))
    plot_heatmap(bm, ax=fig.add_subplot(), feature_names=[f"{r},{c}" for r in range(8) for c in range(8)])
    save(fig, args, "bernoulli_heatmap.png")
    fig = Figure(figsize=(7, 2.6))
    for k in range(3):
        ax = fig.add_subplot(1, 3, k + 1)
        ax.imshow(bm.probs_[k].reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
        ax.set_title(f"component {k} ({bm.weights_[k]:.2f})", fontsize="small")
        ax.axis("off")
    save(fig, args, "bernoulli_images.png")
