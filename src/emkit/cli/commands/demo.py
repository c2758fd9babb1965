"""``emkit demo``: the Old Faithful walk-through."""

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from ... import registry
from ..application import CliError, _say, _stdout, app
from ..inputs import _check_matplotlib, _save_model
from ...selection import DEFAULTS
from ..views import _print_model, _select_table
from .select import _run_select

@app.command()
def demo(
    out_dir: Annotated[Path, typer.Option("--out-dir", metavar="DIR",
                                          help="Folder for the plots and the model.")] = Path("emkit-demo"),
    seed: Annotated[int, typer.Option("--seed", metavar="S", help="Random seed.")] = 0,
) -> None:
    """Fit the bundled Old Faithful data, choose the model by BIC and plot it."""
    from ...datasets import load_faithful

    if out_dir.exists() and not out_dir.is_dir():
        raise CliError(f"--out-dir {out_dir}: exists and is not a folder")
    X, names = load_faithful(return_names=True)
    out = _stdout()
    out.print(Text(f"Old Faithful: {X.shape[0]} eruptions, columns {', '.join(names)} (minutes)",
                   style="bold"))
    # the defaults of emkit select and emkit.select_model (selection.DEFAULTS), with
    # the family the registry gives real-valued columns
    family = registry.families_for_column("real")[0].name
    best, table = _run_select(X, None, {}, family=family, seed=seed,
                              covariances=list(DEFAULTS["covariance_types"]))
    best.feature_names_ = list(names)
    ranked = sorted((r for r in table if r.get("value") is not None), key=lambda r: r["value"])
    ks = DEFAULTS["n_components"]
    out.print(_select_table(ranked[:6], title=f"Best 6 of {len(table)} candidates by BIC "
                            f"({min(ks)}..{max(ks)} components x {len(DEFAULTS['covariance_types'])} "
                            f"covariance types; lower is better; seed {seed})"))
    out.print()
    _print_model(best)
    out.print()

    out_dir.mkdir(parents=True, exist_ok=True)
    written = [out_dir / "model.emkit"]
    _save_model(best, written[0])
    try:
        _check_matplotlib()
    except CliError:
        _say("warning: matplotlib is not installed, so no plots were drawn; "
             "pip install 'emkit[plot]' and run 'emkit demo' again", style="yellow")
    else:
        written += _demo_plots(best, X, names, table, out_dir)
    where = out_dir.resolve()
    out.print(f"Wrote {len(written)} files to {where}{os.sep}:", markup=False)
    for path in written:
        out.print(f"  {path.name}", markup=False)
    out.print(f"Next: emkit inspect {out_dir / 'model.emkit'}", markup=False)


def _demo_plots(model, X, names, table, out_dir: Path) -> list[Path]:
    from matplotlib.figure import Figure

    from ... import plotting
    from ...plotting._common import save_png

    jobs = [("clusters.png", lambda ax: plotting.plot_clusters_2d(model, X, ax=ax, feature_names=names)),
            ("uncertainty.png", lambda ax: plotting.plot_uncertainty(model, X, ax=ax,
                                                                     feature_names=names)),
            ("density_2d.png", lambda ax: plotting.plot_density_2d(model, X, ax=ax,
                                                                   feature_names=names))]
    for j, name in enumerate(names):
        jobs.append((f"density_{_safe_name(name, j)}.png",
                     lambda ax, j=j: plotting.plot_density_1d(model, X, ax=ax, feature=j,
                                                              feature_names=names)))
    jobs.append(("history.png", lambda ax: plotting.plot_history(model, ax=ax)))
    jobs.append(("criterion.png", lambda ax: plotting.plot_criterion(table, ax=ax)))
    written = []
    for filename, draw in jobs:
        fig = Figure(figsize=(10, 6), dpi=100)  # room for the legend right of the axes
        draw(fig.add_subplot())
        fig.tight_layout()
        path = out_dir / filename
        save_png(fig, path, 100)
        written.append(path)
    return written


def _safe_name(name: str, j: int) -> str:
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in str(name)).strip("_")
    return safe or f"feature{j}"
