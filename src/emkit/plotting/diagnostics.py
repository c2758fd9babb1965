"""Plots about the fit rather than the data: EM history and model selection."""

from __future__ import annotations

import numpy as np

from .._status import fit_status
from ._common import _colour, _integer_xaxis, _matplotlib, _new_axes

# --------------------------------------------------------------------- history
def plot_history(model, ax=None):
    """Mean log-likelihood per row after every EM iteration.

    Parameters
    ----------
    model : emkit estimator
        A fitted estimator with ``history_``.
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    ax : matplotlib.axes.Axes
    """
    if not hasattr(model, "history_"):
        raise ValueError(f"{type(model).__name__} is not fitted: it has no history_")
    history = np.asarray(model.history_, dtype=np.float64).reshape(-1)
    _matplotlib()
    ax = _new_axes(ax)
    it = np.arange(1, history.size + 1)
    n = history.size
    # with SQUAREM, history_ holds accepted iterates while n_iter_ counts EM steps
    n_steps = int(getattr(model, "n_iter_", n))
    accelerated = n_steps != n
    status = fit_status(model, n_steps, "EM step")
    ax.plot(it, history, color="C0", lw=2, marker="o" if n <= 60 else None, markersize=4,
            label="mean log-likelihood per row")
    if n:
        ax.axhline(history[-1], color="0.5", lw=1, ls=":",
                   label=f"final value {history[-1]:.6g}")
    else:
        ax.text(0.5, 0.5, "no EM iterations were run", transform=ax.transAxes,
                ha="center", va="center", color="0.4")
    ax.ticklabel_format(axis="y", useOffset=False)
    _integer_xaxis(ax)
    ax.set_xlabel("accepted SQUAREM iterate" if accelerated else "EM iteration")
    ax.set_ylabel("mean log-likelihood per row")
    ax.set_title(f"EM progress of {type(model).__name__}: {status}")
    ax.legend(loc="lower right", fontsize="small")
    return ax


# ------------------------------------------------------------------- criterion
def competitive_limits(values) -> tuple[float, float] | None:
    """The y range of :func:`plot_criterion` with ``zoom=True``.

    From the lowest value to the median candidate's distance above it, times
    1.25 (at least 10 units): the better half of the candidates and a margin,
    so a far-off curve (one spherical component) does not flatten the rest.

    Parameters
    ----------
    values : array-like of float
        Criterion values (NaN for failed candidates).

    Returns
    -------
    (bottom, top) : tuple of float, or None when no value is finite
    """
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return None
    best = float(v.min())
    span = max(10.0, 1.25 * (float(np.median(v)) - best))
    return best - 0.08 * span, best + span


def plot_criterion(table, ax=None, *, zoom=True):
    """Information criterion over the number of components.

    One line per covariance type; candidates whose fit had degenerate
    components are crossed out (they are never chosen) and the chosen model
    is starred.  With ``zoom`` the y axis shows the competitive models
    (:func:`competitive_limits`); candidates above it are marked by
    triangles on the top edge and counted in a note.

    Parameters
    ----------
    table : list of dict
        The table returned by :func:`emkit.select_model`: rows with keys
        ``"covariance_type"``, ``"n_components"``, ``"criterion"``,
        ``"value"``, ``"degenerate"``, ``"best"`` (and ``"error"``).
    ax : matplotlib.axes.Axes, optional
    zoom : bool, default=True
        Limit the y axis to the competitive models, and the x axis to the
        largest number of components that has one (larger ones are named in
        the note: no empty stretch where every curve is off the scale).

    Returns
    -------
    ax : matplotlib.axes.Axes
    """
    rows = list(table)
    if not rows:
        raise ValueError("the model-selection table is empty")
    crit = str(rows[0].get("criterion") or "criterion").upper()
    _matplotlib()
    ax = _new_axes(ax)

    def value(row):
        v = row.get("value")
        if v is None or row.get("error"):
            return np.nan
        v = float(v)
        return v if np.isfinite(v) else np.nan

    groups: dict = {}
    for row in rows:
        groups.setdefault(row.get("covariance_type"), []).append(row)
    limits = competitive_limits([value(r) for r in rows]) if zoom else None
    degenerate_drawn = False
    for i, (ct, group) in enumerate(groups.items()):
        group = sorted(group, key=lambda r: r["n_components"])
        ks = np.array([r["n_components"] for r in group])
        vs = np.array([value(r) for r in group])
        label = str(ct) if ct is not None else "model"
        if limits is not None and not np.any(vs <= limits[1]):
            label += " (off the scale)"
        ax.plot(ks, vs, color=_colour(i), marker="o", lw=1.8, markersize=5, label=label)
        bad = np.array([bool(r.get("degenerate")) for r in group]) & np.isfinite(vs)
        if bad.any():
            ax.scatter(ks[bad], vs[bad], marker="x", s=80, color="red", lw=2, zorder=4,
                       label=None if degenerate_drawn else "degenerate fit (not eligible)")
            degenerate_drawn = True
    best = [r for r in rows if r.get("best")]
    if best:
        b = best[0]
        ax.scatter([b["n_components"]], [value(b)], marker="*", s=360, color="gold",
                   edgecolor="black", lw=1.2, zorder=5,
                   label=(f"best: {b.get('covariance_type') or 'model'}, "
                          f"{b['n_components']} components ({crit} {value(b):.1f})"))
    if limits is not None:
        ax.set_ylim(*limits)
        _zoom_components(ax, rows, [value(r) for r in rows], limits[1], crit)
    _integer_xaxis(ax)
    ax.ticklabel_format(axis="y", useOffset=False, style="plain")
    ax.set_xlabel("number of components")
    ax.set_ylabel(f"{crit} (lower is better)")
    ax.set_title(f"Model selection by {crit}")
    # outside the panel, so it never covers a curve
    ax.legend(title="covariance type" if len(groups) > 1 else None, loc="upper left",
              bbox_to_anchor=(1.01, 1.0), fontsize="small", borderaxespad=0.0)
    ax.grid(True, alpha=0.3)
    return ax


def _zoom_components(ax, rows, values, top: float, crit: str) -> None:
    """With the y axis cut at ``top``: x limits from the smallest number of components to the
    largest that has a candidate on the scale (beyond it every curve is off the scale: no empty
    stretch on the right), a triangle on the top edge for every candidate above the scale
    there, and one legend note counting all of them (and naming the components not shown)."""
    ks = np.array([r["n_components"] for r in rows])
    v = np.asarray(values, dtype=np.float64)
    lo = int(ks[np.isfinite(v)].min())
    hi = int(ks[np.isfinite(v) & (v <= top)].max())
    ax.set_xlim(lo - 0.3, hi + 0.3)
    above = np.isfinite(v) & (v > top)
    inside = above & (ks >= lo) & (ks <= hi)
    if not above.any():
        return
    hidden = sorted({int(k) for k in ks[above] if k < lo or k > hi})
    note = f"{int(above.sum())} off the scale (higher {crit})"
    if hidden:
        note += f"\nK = {', '.join(map(str, hidden))} not shown (all higher)"
    ax.scatter(ks[inside], np.full(int(inside.sum()), top), marker="^", s=50, color="0.4",
               clip_on=False, zorder=5, label=note)


# ------------------------------------------------------------ per-model criterion
#: plot.mclustBIC's colour of every model (mclust.options("bicPlotColors"), mclust 6.0)
MODEL_COLOURS = {
    "EII": "gray", "VII": "black", "EEI": "#218B21", "EVI": "#41884F", "VEI": "#508476",
    "VVI": "#58819C", "EEE": "#597DC3", "VEE": "#5178EA", "EVE": "#716EE7", "VVE": "#9B60B8",
    "EEV": "#B2508B", "VEV": "#C03F60", "EVV": "#C82A36", "VVV": "#CC0000", "E": "gray",
    "V": "black",
}
#: a matplotlib marker (and whether it is filled) near mclust's plotting symbol of every model
MODEL_MARKERS = {
    "EII": ("^", True), "VII": ("^", False), "EEI": ("o", True), "EVI": ("P", False),
    "VEI": ("X", False), "VVI": ("o", False), "EEE": ("s", True), "VEE": ("*", False),
    "EVE": ("D", False), "VVE": ("P", True), "EEV": ("s", False), "VEV": ("X", True),
    "EVV": ("v", False), "VVV": ("D", True), "E": ("^", True), "V": ("^", False),
}


def plot_model_criterion(table, ax=None, *, mclust_sign=True):
    """The criterion against the number of components, one line per model.

    The layout of mclust's ``plot.mclustBIC`` / ``plot.mclustICL``: each
    covariance type (model name) is one line over the numbers of components,
    in mclust's colour with a marker of its own, and a candidate that failed
    or ended degenerate (mclust's NA) leaves a gap.

    Parameters
    ----------
    table : list of dict
        The table returned by :func:`emkit.select_model`.
    ax : matplotlib.axes.Axes, optional
    mclust_sign : bool, default=True
        Draw minus emkit's criterion, mclust's sign (higher is better); False
        draws emkit's (lower is better).

    Returns
    -------
    ax : matplotlib.axes.Axes
        Line ``i`` holds model ``i``: x the numbers of components in
        increasing order, y its criterion values (NaN for gaps).
    """
    rows = list(table)
    if not rows:
        raise ValueError("the model-selection table is empty")
    crit = str(rows[0].get("criterion") or "criterion").upper()
    sign = -1.0 if mclust_sign else 1.0
    _matplotlib()
    ax = _new_axes(ax)
    groups: dict = {}
    for row in rows:
        groups.setdefault(row.get("covariance_type"), []).append(row)
    for i, (ct, group) in enumerate(groups.items()):
        group = sorted(group, key=lambda r: r["n_components"])
        ks = np.array([r["n_components"] for r in group])
        vs = np.array([np.nan if r.get("value") is None or r.get("error") or r.get("degenerate")
                       else sign * float(r["value"]) for r in group])
        marker, filled = MODEL_MARKERS.get(str(ct), ("o", True))
        colour = MODEL_COLOURS.get(str(ct), _colour(i))
        ax.plot(ks, vs, color=colour, marker=marker, lw=1.2, markersize=6,
                markerfacecolor=colour if filled else "none",
                label=str(ct) if ct is not None else "model")
    _integer_xaxis(ax)
    ax.ticklabel_format(axis="y", useOffset=False, style="plain")
    ax.set_xlabel("number of components")
    ax.set_ylabel(f"{crit} (mclust's sign: higher is better)" if mclust_sign
                  else f"{crit} (lower is better)")
    ax.set_title(f"{crit} of every model")
    ax.legend(loc="lower right", ncol=2, fontsize="small")
    ax.grid(True, alpha=0.3)
    return ax
