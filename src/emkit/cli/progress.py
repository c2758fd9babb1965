"""Progress bars, the per-iteration hook and Ctrl-C reporting of fits."""

import contextlib
import warnings
from pathlib import Path

from .application import _say, _session, _stderr

def _iteration_hook(info: dict) -> None:
    """Called after every EM iteration of a command-line fit (a seam for tests)."""


@contextlib.contextmanager
def _fit_progress(max_iter: int, n_init: int, label: str = "fitting"):
    """Yield an EM callback that drives a progress bar when stderr is a terminal."""
    console = _stderr()
    state = {"init": 0}
    if not console.is_terminal:
        def quiet(info):
            _iteration_hook(info)

        yield quiet
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("iteration {task.fields[iteration]:>4}"),
        TextColumn("log-likelihood {task.fields[ll]}"),
        TextColumn("change {task.fields[change]}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    with progress:
        task = progress.add_task(label, total=max_iter * n_init, iteration=0, ll="-", change="-")

        def update(info):
            it = int(info["iteration"])
            if it == 1:
                state["init"] += 1
            desc = label if n_init == 1 else f"{label} (init {state['init']}/{n_init})"
            progress.update(task, completed=(state["init"] - 1) * max_iter + it, description=desc,
                            iteration=it, ll=f"{info['log_likelihood']:.6g}",
                            change=f"{info['change']:.2e}")
            _iteration_hook(info)

        yield update


def _select_progress(total: int):
    """Context manager yielding a per-candidate callback for select_model."""
    console = _stderr()

    @contextlib.contextmanager
    def manager():
        if not console.is_terminal:
            yield None
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                            MofNCompleteColumn(), TextColumn("{task.fields[last]}"),
                            console=console, transient=True)
        with progress:
            task = progress.add_task("fitting candidates", total=total, last="")

            def update(row):
                ct = row.get("covariance_type")
                last = f"{ct + ', ' if ct else ''}{row['n_components']} components"
                progress.update(task, completed=int(row.get("index", 0)) + 1, last=last)

            yield update

    return manager()


# ---------------------------------------------------------------------- fit
@contextlib.contextmanager
def _traced(trace):
    def callback(info):
        trace(info)
        _iteration_hook(info)

    yield callback


def _fit_one(model, X, weights, fit_kwargs, max_iter, n_init, trace=None):
    """Fit with progress and Ctrl-C handling; return True when interrupted.

    ``trace`` (``--trace``), when given, is called after every iteration
    instead of a progress bar being drawn.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with _fit_progress(max_iter, n_init) if trace is None else _traced(trace) as callback:
            model.fit(X, sample_weight=weights, callback=callback, catch_interrupt=True,
                      **fit_kwargs)
    interrupted = bool(getattr(model, "interrupted_", False))
    from ..exceptions import ConvergenceWarning

    for w in caught:
        if interrupted and issubclass(w.category, ConvergenceWarning):
            continue
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return interrupted


def _report_interrupt(model, out: Path | None) -> None:
    _session.interrupt_reported = True
    n = int(getattr(model, "n_iter_", 0))
    saved = f"; saved them to {out}" if out is not None else ""
    _say(f"warning: interrupted (Ctrl-C) after {n} EM iteration{'s' if n != 1 else ''}: the fit did "
         f"not converge; kept the last complete parameters{saved}", style="yellow")
