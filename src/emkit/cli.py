"""The ``emkit`` command line: fit, select, inspect and use mixture models.

Subcommands (``emkit --help`` lists them, ``emkit COMMAND --help`` explains one):

- ``emkit demo``: fit the bundled Old Faithful data, choose the model by BIC,
  print it and write its plots;
- ``emkit fit DATA``: fit one mixture and print (or ``--out``: save) it;
- ``emkit select DATA``: fit many candidates and choose one by BIC or AIC;
- ``emkit predict MODEL DATA``, ``emkit score MODEL DATA``,
  ``emkit sample MODEL -n N``, ``emkit inspect MODEL``.

Results go to standard output (rich tables, or JSON with ``--json``);
warnings, progress and errors go to standard error.  Every problem with the
input ends the command with exit status 2 and one line on standard error,
and leaves files named by ``--out`` untouched.  Ctrl-C during a fit stops
after the current EM iteration, saves the last complete parameters when
``--out`` was given, and exits with status 130.
"""

import contextlib
import json
import math
import os
import sys
import tempfile
import warnings
from enum import Enum
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text
from typer.core import TyperGroup

__all__ = ["app", "main"]

_FAMILY_CLASSES = {
    "gaussian": "GaussianMixture",
    "bernoulli": "BernoulliMixture",
    "binomial": "BinomialMixture",
    "poisson": "PoissonMixture",
    "categorical": "CategoricalMixture",
}
_COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")


class FamilyName(str, Enum):
    """Component families the command line can fit."""

    gaussian = "gaussian"
    bernoulli = "bernoulli"
    binomial = "binomial"
    poisson = "poisson"
    categorical = "categorical"


class CovarianceName(str, Enum):
    """Covariance types of Gaussian components."""

    full = "full"
    tied = "tied"
    diag = "diag"
    spherical = "spherical"


class CriterionName(str, Enum):
    """Information criteria for model selection."""

    bic = "bic"
    aic = "aic"


class CliError(Exception):
    """A problem to report as one line on standard error, ending the command.

    Parameters
    ----------
    message : str
    code : int, default=2
        Exit status.
    """

    def __init__(self, message: str, code: int = 2):
        super().__init__(message)
        self.code = code


def _click_exception_types():
    """Click's exception classes, from typer's vendored copy and/or click itself."""
    modules = []
    with contextlib.suppress(ImportError):
        from typer._click import exceptions as vendored

        modules.append(vendored)
    with contextlib.suppress(ImportError):
        from click import exceptions as upstream

        modules.append(upstream)
    errors = tuple(m.ClickException for m in modules)
    no_args = tuple(m.NoArgsIsHelpError for m in modules if hasattr(m, "NoArgsIsHelpError"))
    aborts = (typer.Abort,) + tuple(m.Abort for m in modules if hasattr(m, "Abort"))
    usage = tuple(m.UsageError for m in modules)
    return errors, no_args, aborts, usage


_CLICK_ERRORS, _NO_ARGS_ERRORS, _ABORTS, _USAGE_ERRORS = _click_exception_types()


# ------------------------------------------------------------------ consoles
def _stdout() -> Console:
    console = Console(highlight=False, emoji=False)
    if not console.is_terminal:
        console.width = max(console.width, 120)
    return console


def _stderr() -> Console:
    return Console(stderr=True, highlight=False, emoji=False)


def _say(message: str, style: str | None = None) -> None:
    """One line of commentary on standard error (never wrapped)."""
    _stderr().print(message, style=style, markup=False, soft_wrap=True)


def _one_line(message) -> str:
    return " ".join(str(message).split())


class _Session:
    """Per-invocation state shared by the guard and the commands."""

    def __init__(self):
        self.seen_warnings: set = set()
        self.interrupt_reported = False


_session = _Session()


def _show_warning(message, category, filename, lineno, file=None, line=None):
    text = _one_line(message)
    key = (category, text)
    if key in _session.seen_warnings:
        return
    _session.seen_warnings.add(key)
    _say(f"warning: {text}", style="yellow")


# --------------------------------------------------------------- click group
class _EmkitGroup(TyperGroup):
    """Typer group whose errors are one line on stderr with a fixed exit status."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        global _session
        _session = _Session()
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.showwarning = _show_warning
            code = self._guarded(args, prog_name, complete_var, extra)
        if standalone_mode:
            sys.exit(code)
        return code

    def _guarded(self, args, prog_name, complete_var, extra) -> int:
        try:
            rv = super().main(args=args, prog_name=prog_name, complete_var=complete_var,
                              standalone_mode=False, **extra)
            code = rv if isinstance(rv, int) else 0
            if code == 130 and not _session.interrupt_reported:
                _say("emkit: interrupted", style="red")
            return code
        except _NO_ARGS_ERRORS as exc:
            text = exc.format_message()  # rich help was printed while the error was made
            if text.strip():
                _stdout().print(text, markup=False)
            return 0
        except _CLICK_ERRORS as exc:
            ctx = getattr(exc, "ctx", None)
            where = f"{ctx.command_path}: " if ctx is not None else "emkit: "
            hint = ""
            if isinstance(exc, _USAGE_ERRORS) and ctx is not None:
                hint = f" (see '{ctx.command_path} --help')"
            message = _one_line(exc.format_message()).replace("Value error, ", "")
            _say(f"{where}error: {message}{hint}", style="red")
            return 2
        except _ABORTS:
            _say("emkit: aborted", style="red")
            return 1
        except KeyboardInterrupt:
            _say("emkit: interrupted", style="red")
            return 130
        except CliError as exc:
            _say(f"emkit: error: {_one_line(exc)}", style="red")
            return exc.code
        except (ValueError, OSError, np.linalg.LinAlgError) as exc:
            _say(f"emkit: error: {_one_line(exc) or type(exc).__name__}", style="red")
            return 2
        except Exception as exc:  # a bug: say so in one line unless asked for details
            if os.environ.get("EMKIT_DEBUG"):
                raise
            _say(f"emkit: internal error: {type(exc).__name__}: {_one_line(exc)} "
                 "(set EMKIT_DEBUG=1 for a traceback)", style="red")
            return 1


def _version_callback(value: bool) -> None:
    if value:
        from . import __version__

        _stdout().print(f"emkit {__version__}", markup=False)
        raise typer.Exit()


app = typer.Typer(
    cls=_EmkitGroup,
    name="emkit",
    help="Fit mixture models by EM: Gaussian, Bernoulli, binomial, Poisson and categorical.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version_callback, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """Fit mixture models by EM: Gaussian, Bernoulli, binomial, Poisson and categorical."""


def main() -> None:
    """Entry point of the ``emkit`` console script."""
    typer.main.get_command(app).main(prog_name="emkit")


# ------------------------------------------------------------------- helpers
def _emkit():
    import emkit

    return emkit


def _io():
    from . import io

    return io


def _estimator_class(family: str):
    cls = getattr(_emkit(), _FAMILY_CLASSES[family], None)
    if cls is None:
        raise CliError(f"the {family} family ({_FAMILY_CLASSES[family]}) is not available "
                       "in this version of emkit")
    return cls


def _family_of(model) -> str:
    from .plotting import family_of

    return family_of(model)


def _split_list(value: str | None, option: str) -> list[str] | None:
    if value is None:
        return None
    items = [v.strip() for v in value.split(",")]
    if not items or any(not v for v in items):
        raise CliError(f"{option} must be a comma-separated list without empty entries, got {value!r}")
    return items


def _parse_components(value: str) -> list[int]:
    """``"3"``, ``"1-8"`` or ``"1,2,5"`` (ranges allowed in lists) to a list of ints."""
    out: list[int] = []
    try:
        for part in value.split(","):
            part = part.strip()
            if "-" in part:
                lo, hi = (int(p) for p in part.split("-", 1))
                if lo > hi:
                    raise ValueError
                out.extend(range(lo, hi + 1))
            else:
                out.append(int(part))
    except ValueError:
        raise CliError(f"--components must look like 3, 1-8 or 1,2,4, got {value!r}") from None
    if not out or min(out) < 1:
        raise CliError(f"--components must be at least 1, got {value!r}")
    return list(dict.fromkeys(out))


def _parse_covariances(value: str) -> list[str]:
    if value.strip().lower() == "all":
        return list(_COVARIANCE_TYPES)
    items = _split_list(value, "--covariance")
    for item in items:
        if item not in _COVARIANCE_TYPES:
            raise CliError(f"--covariance: unknown covariance type {item!r}; choose 'all' or a "
                           f"comma-separated list of {', '.join(_COVARIANCE_TYPES)}")
    return list(dict.fromkeys(items))


def _check_out_path(path: Path | None, option: str) -> None:
    """Fail before any work when ``path`` cannot be written."""
    if path is None:
        return
    if path.is_dir():
        raise CliError(f"{option} {path}: is a directory")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise CliError(f"{option} {path}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise CliError(f"{option} {path}: folder {parent} is not writable")


def _check_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise CliError("plots need matplotlib: pip install 'emkit[plot]'") from None


def _column_index(token: str, names: list[str], option: str) -> int:
    if token in names:
        return names.index(token)
    with contextlib.suppress(ValueError):
        i = int(token)
        if -len(names) <= i < len(names):
            return i % len(names)
    raise CliError(f"{option}: no column {token!r}; the columns are {', '.join(names)}")


class _Inputs:
    """Data read for one command: the feature matrix and the side columns."""

    def __init__(self, X, names, weights=None, trials=None):
        self.X = X
        self.names = names
        self.weights = weights
        self.trials = trials


def _read_inputs(data: str, columns: str | None, *, weights_column: str | None = None,
                 trials_column: str | None = None, drop_missing: bool = False,
                 default_names: list[str] | None = None) -> _Inputs:
    """Read DATA, keeping the chosen feature columns and the side columns.

    ``default_names`` (the columns a saved model was fitted on) pick the
    feature columns when ``--columns`` is not given and DATA has them all.
    """
    io = _io()
    cols = _split_list(columns, "--columns")
    side = [c for c in (weights_column, trials_column) if c is not None]
    if cols is not None:
        for c in side:
            if c in cols:
                raise CliError(f"column {c!r} is in --columns and is also the weights or trials column")
        X, names = io.read_table(data, cols + side, drop_missing=drop_missing)
        feat = list(range(len(cols)))
        side_idx = list(range(len(cols), len(cols) + len(side)))
    else:
        X, names = io.read_table(data, None, drop_missing=drop_missing)
        side_idx = [_column_index(c, names, "--weights-column" if c == weights_column
                                  else "--trials-column") for c in side]
        if len(set(side_idx)) != len(side_idx):
            raise CliError("--weights-column and --trials-column name the same column")
        feat = [j for j in range(len(names)) if j not in side_idx]
        if default_names is not None and all(n in names for n in default_names):
            chosen = [names.index(n) for n in default_names]
            if not set(chosen) & set(side_idx):
                feat = chosen
    if not feat:
        raise CliError(f"{data}: no feature columns left to use")
    out = _Inputs(X[:, feat], [names[j] for j in feat])
    rest = iter(side_idx)
    if weights_column is not None:
        out.weights = X[:, next(rest)]
    if trials_column is not None:
        out.trials = X[:, next(rest)]
    return out


def _trials_kwargs(family: str, trials: int | None, trials_column: str | None) -> None:
    if family != "binomial" and (trials is not None or trials_column is not None):
        raise CliError("--trials and --trials-column apply to the binomial family only")
    if trials is not None and trials_column is not None:
        raise CliError("give either --trials N or --trials-column c, not both")


def _aux(model, inputs: _Inputs, trials: int | None) -> dict:
    """Keyword arguments for predict/score of a loaded model (binomial trials)."""
    if _family_of(model) != "binomial":
        if trials is not None or inputs.trials is not None:
            raise CliError("--trials and --trials-column apply to binomial models only")
        return {}
    if inputs.trials is not None:
        return {"n_trials": inputs.trials}
    if trials is not None:
        return {"n_trials": int(trials)}
    if getattr(model, "n_trials", None) is None:
        raise CliError("this binomial model was fitted with per-row numbers of trials: "
                       "give them with --trials-column c (or --trials N)")
    return {}


def _load_model(path: Path):
    from ._modelfile import load

    return load(path)


def _save_model(model, path: Path) -> None:
    from ._modelfile import save

    save(model, path)


def _feature_names(model) -> list[str]:
    names = getattr(model, "feature_names_", None)
    d = int(model.n_features_in_)
    if names is not None and len(names) == d:
        return [str(n) for n in names]
    return [f"x{j}" for j in range(d)]


def _check_features(model, inputs: _Inputs, data: str) -> None:
    d = int(model.n_features_in_)
    if inputs.X.shape[1] != d:
        raise CliError(
            f"{data}: the model was fitted on {d} feature(s) ({', '.join(_feature_names(model))}) "
            f"but {inputs.X.shape[1]} column(s) were read ({', '.join(inputs.names)}); "
            "choose the columns with --columns"
        )


def _atomic_write(path: Path, write) -> None:
    """Write through a temporary file in the same folder, then rename over ``path``."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return v if math.isfinite(v) else None
    return value


def _print_json(obj) -> None:
    _stdout().print(json.dumps(_jsonable(obj), indent=2), markup=False, soft_wrap=True,
                    highlight=False)


def _fmt(v, digits: int = 4) -> str:
    if v is None:
        return "-"
    v = float(v)
    if not math.isfinite(v):
        return str(v)
    return f"{v:.{digits}g}"


def _fixed(v, decimals: int = 2) -> str:
    if v is None or not math.isfinite(float(v)):
        return "-"
    return f"{float(v):.{decimals}f}"


# --------------------------------------------------------------- model views
def _model_dict(model) -> dict:
    """JSON-ready description of a fitted model."""
    family = _family_of(model)
    out = {
        "estimator": type(model).__name__,
        "family": family,
        "n_components": int(model.n_components),
        "n_features": int(model.n_features_in_),
        "feature_names": _feature_names(model),
        "weights": model.weights_,
    }
    if family == "gaussian":
        out["covariance_type"] = model.covariance_type
        out["means"] = model.means_
        out["covariances"] = model.covariances_
    elif family == "poisson":
        out["rates"] = model.rates_
    else:
        out["probs"] = model.probs_
    if family == "binomial":
        out["n_trials"] = getattr(model, "n_trials", None)
    if family == "categorical":
        out["n_categories"] = int(np.asarray(model.probs_).shape[2])
    out.update(
        converged=bool(getattr(model, "converged_", False)),
        n_iter=int(getattr(model, "n_iter_", 0)),
        interrupted=bool(getattr(model, "interrupted_", False)),
        mean_log_likelihood=getattr(model, "lower_bound_", None),
        degenerate_components=list(getattr(model, "degenerate_components_", [])),
    )
    return out


def _model_summary(model) -> str:
    family = _family_of(model)
    K, d = int(model.n_components), int(model.n_features_in_)
    parts = [type(model).__name__, f"{K} component{'s' if K != 1 else ''}"]
    if family == "gaussian":
        parts.append(f"{model.covariance_type} covariance")
    if family == "binomial" and getattr(model, "n_trials", None) is not None:
        parts.append(f"{model.n_trials} trials")
    parts.append(f"{d} feature{'s' if d != 1 else ''} ({', '.join(_feature_names(model))})")
    n_iter = int(getattr(model, "n_iter_", 0))
    if getattr(model, "interrupted_", False):
        status = f"interrupted after {n_iter} iterations (not converged)"
    elif getattr(model, "converged_", False):
        status = f"converged after {n_iter} iteration{'s' if n_iter != 1 else ''}"
    else:
        status = f"not converged after {n_iter} iterations"
    return " | ".join(parts) + f"\n{status}; mean log-likelihood per row {_fmt(model.lower_bound_, 6)}"


def _model_table(model, title: str | None = None) -> Table:
    """Rich table of the fitted parameters, one row per component (or per component and feature)."""
    family = _family_of(model)
    names = _feature_names(model)
    d = len(names)
    weights = np.asarray(model.weights_)
    table = Table(title=title, title_justify="left", header_style="bold")
    table.add_column("component", justify="right")
    table.add_column("weight", justify="right")
    if family == "gaussian":
        from .plotting import _full_covariances

        means = np.asarray(model.means_)
        covs = _full_covariances(model)
        sds = np.sqrt(np.einsum("kii->ki", covs))
        wide = d <= 3
        if wide:
            for n in names:
                table.add_column(f"mean {n}", justify="right")
                table.add_column(f"sd {n}", justify="right")
            if d == 2:
                table.add_column(f"corr({names[0]}, {names[1]})", justify="right")
            for k in range(len(weights)):
                cells = [str(k), _fmt(weights[k], 3)]
                for j in range(d):
                    cells += [_fmt(means[k, j]), _fmt(sds[k, j])]
                if d == 2:
                    cells.append(_fmt(covs[k, 0, 1] / (sds[k, 0] * sds[k, 1]), 3))
                table.add_row(*cells)
        else:
            table.add_column("feature")
            table.add_column("mean", justify="right")
            table.add_column("sd", justify="right")
            for k in range(len(weights)):
                for j in range(d):
                    table.add_row(str(k) if j == 0 else "", _fmt(weights[k], 3) if j == 0 else "",
                                  names[j], _fmt(means[k, j]), _fmt(sds[k, j]),
                                  end_section=j == d - 1)
    elif family == "categorical":
        probs = np.asarray(model.probs_)
        C = probs.shape[2]
        shown = min(C, 10)
        table.add_column("feature")
        for c in range(shown):
            table.add_column(f"P(={c})", justify="right")
        if C > shown:
            table.add_column("...")
        for k in range(len(weights)):
            for j in range(d):
                cells = [str(k) if j == 0 else "", _fmt(weights[k], 3) if j == 0 else "", names[j]]
                cells += [_fmt(p, 3) for p in probs[k, j, :shown]]
                if C > shown:
                    cells.append("...")
                table.add_row(*cells, end_section=j == d - 1)
    else:
        values = np.asarray(model.rates_ if family == "poisson" else model.probs_)
        label = "rate" if family == "poisson" else "p"
        if d <= 6:
            for n in names:
                table.add_column(f"{label} {n}", justify="right")
            for k in range(len(weights)):
                table.add_row(str(k), _fmt(weights[k], 3), *[_fmt(v) for v in values[k]])
        else:
            table.add_column("feature")
            table.add_column(label, justify="right")
            for k in range(len(weights)):
                for j in range(d):
                    table.add_row(str(k) if j == 0 else "", _fmt(weights[k], 3) if j == 0 else "",
                                  names[j], _fmt(values[k, j]), end_section=j == d - 1)
    return table


def _print_model(model, extra_lines=()) -> None:
    out = _stdout()
    out.print(Text(_model_summary(model), style="bold"))
    for line in extra_lines:
        out.print(line, markup=False)
    out.print(_model_table(model))


# ------------------------------------------------------------------ progress
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
def _fit_one(model, X, weights, fit_kwargs, max_iter, n_init):
    """Fit with progress and Ctrl-C handling; return True when interrupted."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with _fit_progress(max_iter, n_init) as callback:
            model.fit(X, sample_weight=weights, callback=callback, catch_interrupt=True,
                      **fit_kwargs)
    interrupted = bool(getattr(model, "interrupted_", False))
    from .exceptions import ConvergenceWarning

    for w in caught:
        if interrupted and issubclass(w.category, ConvergenceWarning):
            continue
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return interrupted


def _make_estimator(family: str, n_components: int, *, covariance: str | None, n_init: int,
                    max_iter: int, tol: float, seed: int | None, trials: int | None,
                    categories: int | None):
    cls = _estimator_class(family)
    kwargs = {"n_init": n_init, "max_iter": max_iter, "tol": tol, "random_state": seed}
    if family == "gaussian":
        kwargs["covariance_type"] = covariance or "full"
    elif covariance is not None:
        raise CliError("--covariance applies to the gaussian family only")
    if family == "binomial" and trials is not None:
        kwargs["n_trials"] = int(trials)
    if categories is not None:
        if family != "categorical":
            raise CliError("--categories applies to the categorical family only")
        kwargs["n_categories"] = int(categories)
    return cls(n_components, **kwargs)


def _report_interrupt(model, out: Path | None) -> None:
    _session.interrupt_reported = True
    n = int(getattr(model, "n_iter_", 0))
    saved = f"; saved them to {out}" if out is not None else ""
    _say(f"warning: interrupted (Ctrl-C) after {n} EM iteration{'s' if n != 1 else ''}: the fit did "
         f"not converge; kept the last complete parameters{saved}", style="yellow")


DataArg = Annotated[str, typer.Argument(metavar="DATA", show_default=False,
                                        help="CSV/TSV (header optional), Parquet or .npy file; '-' reads CSV from stdin.")]
ModelArg = Annotated[Path, typer.Argument(metavar="MODEL", show_default=False,
                                          help="Model file written by 'emkit fit --out' or 'emkit select --out'.")]
ColumnsOpt = Annotated[str | None, typer.Option("--columns", metavar="a,b",
                                                help="Feature columns by name or 0-based index (default: all others).")]
TrialsOpt = Annotated[int | None, typer.Option("--trials", min=0, metavar="N",
                                               help="Binomial: number of trials of every row.")]
TrialsColOpt = Annotated[str | None, typer.Option("--trials-column", metavar="c",
                                                  help="Binomial: column holding each row's number of trials.")]
DropOpt = Annotated[bool, typer.Option("--drop-missing",
                                       help="Drop rows with missing, NaN or inf cells (with a warning) instead of failing.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
SeedOpt = Annotated[int | None, typer.Option("--seed", metavar="S", help="Random seed for reproducible results.")]
NInitOpt = Annotated[int, typer.Option("--n-init", min=1, metavar="N", help="Initialisations per fit; the best is kept.")]
MaxIterOpt = Annotated[int, typer.Option("--max-iter", min=1, metavar="N", help="Maximum EM iterations per initialisation.")]
TolOpt = Annotated[float, typer.Option("--tol", min=0.0, metavar="T",
                                       help="Stop when the mean log-likelihood per row changes by less.")]
WeightsColOpt = Annotated[str | None, typer.Option("--weights-column", metavar="w",
                                                   help="Column of non-negative row weights.")]


@app.command()
def fit(
    data: DataArg,
    components: Annotated[int, typer.Option("--components", "-k", min=1, metavar="K",
                                            help="Number of mixture components.")] = 2,
    family: Annotated[FamilyName, typer.Option("--family", help="Component family.")] = FamilyName.gaussian,
    covariance: Annotated[CovarianceName | None, typer.Option(
        "--covariance", help="Gaussian covariance type [default: full].", show_default=False)] = None,
    columns: ColumnsOpt = None,
    trials: TrialsOpt = None,
    trials_column: TrialsColOpt = None,
    categories: Annotated[int | None, typer.Option("--categories", min=1, metavar="C",
                                                   help="Categorical: number of categories (default: largest code + 1).")] = None,
    weights_column: WeightsColOpt = None,
    n_init: NInitOpt = 1,
    max_iter: MaxIterOpt = 100,
    tol: TolOpt = 1e-3,
    seed: SeedOpt = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", metavar="MODEL",
                                             help="Save the fitted model to this file.")] = None,
    plot: Annotated[Path | None, typer.Option("--plot", metavar="PNG",
                                              help="Draw the plot that fits the data into this PNG.")] = None,
    drop_missing: DropOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Fit one mixture to DATA and print its parameters."""
    fam = family.value
    _trials_kwargs(fam, trials, trials_column)
    _check_out_path(out, "--out")
    _check_out_path(plot, "--plot")
    if plot is not None:
        _check_matplotlib()
    model = _make_estimator(fam, components, covariance=covariance.value if covariance else None,
                            n_init=n_init, max_iter=max_iter, tol=tol, seed=seed, trials=trials,
                            categories=categories)
    if fam == "binomial" and trials is None and trials_column is None:
        raise CliError("the binomial family needs the number of trials: --trials N or --trials-column c")
    inputs = _read_inputs(data, columns, weights_column=weights_column, trials_column=trials_column,
                          drop_missing=drop_missing)
    fit_kwargs = {"n_trials": inputs.trials} if inputs.trials is not None else {}
    interrupted = _fit_one(model, inputs.X, inputs.weights, fit_kwargs, max_iter, n_init)
    model.feature_names_ = list(inputs.names)

    n = inputs.X.shape[0]
    stats = {"n_samples": n, "mean_log_likelihood": float(model.lower_bound_),
             "log_likelihood": float(model.lower_bound_) * (
                 n if inputs.weights is None else float(np.sum(inputs.weights)))}
    if inputs.weights is None:
        stats["bic"] = float(model.bic(inputs.X, **fit_kwargs))
        stats["aic"] = float(model.aic(inputs.X, **fit_kwargs))
    if out is not None:
        _save_model(model, out)
    if plot is not None and not interrupted:
        from .plotting import plot_auto

        plot_auto(model, inputs.X, plot, feature_names=inputs.names,
                  n_trials=inputs.trials if inputs.trials is not None else trials)
    if as_json:
        _print_json({**_model_dict(model), **stats})
    else:
        line = f"{n} rows; total log-likelihood {_fmt(stats['log_likelihood'], 8)}"
        if "bic" in stats:
            line += f"; BIC {_fmt(stats['bic'], 8)}; AIC {_fmt(stats['aic'], 8)}"
        _print_model(model, [line])
    if out is not None and not interrupted:
        _say(f"saved the model to {out}")
    if plot is not None and not interrupted:
        _say(f"wrote the plot to {plot}")
    if interrupted:
        _report_interrupt(model, out)
        raise typer.Exit(130)


# ------------------------------------------------------------------ select
def _select_table(table: list[dict], title: str | None = None) -> Table:
    crit = str(table[0]["criterion"]).upper() if table else "BIC"
    finite = [r["value"] for r in table if r.get("value") is not None and math.isfinite(r["value"])]
    best = min(finite) if finite else None
    has_cov = any(r.get("covariance_type") for r in table)
    t = Table(title=title, title_justify="left", header_style="bold")
    t.add_column("")
    if has_cov:
        t.add_column("covariance")
    t.add_column("components", justify="right")
    t.add_column(crit, justify="right")
    t.add_column(f"{crit} - lowest", justify="right")
    t.add_column("log-likelihood", justify="right")
    t.add_column("parameters", justify="right")
    t.add_column("converged")
    t.add_column("note")
    for r in table:
        note = ""
        if r.get("error"):
            note = f"failed: {_one_line(r['error'])}"
        elif r.get("degenerate"):
            note = "degenerate (not eligible)"
        cells = ["best" if r.get("best") else ""]
        if has_cov:
            cells.append(str(r.get("covariance_type") or "-"))
        value = r.get("value")
        delta = None if value is None or best is None else value - best
        cells += [str(r["n_components"]), _fixed(value), _fixed(delta), _fixed(r.get("log_likelihood")), str(r.get("n_parameters") or "-"),
                  "-" if r.get("converged") is None else ("yes" if r["converged"] else "no"), note]
        t.add_row(*cells, style="bold green" if r.get("best") else ("dim" if note else None))
    return t


def _run_select(X, weights, fit_params, *, components, covariances, criterion, family, n_init,
                seed, max_iter, tol):
    from .selection import select_model

    total = len(components) * (len(covariances) if family == "gaussian" else 1)
    with _select_progress(total) as callback:
        return select_model(
            X, n_components=components, covariance_types=covariances, criterion=criterion,
            n_init=n_init, random_state=seed, sample_weight=weights, family=family,
            max_iter=max_iter, tol=tol, callback=callback, fit_params=fit_params or None,
        )


def _candidates_json(table: list[dict]) -> list[dict]:
    keys = ("covariance_type", "n_components", "criterion", "value", "log_likelihood",
            "n_parameters", "converged", "degenerate", "best", "error")
    return [{k: r.get(k) for k in keys} for r in table]


@app.command()
def select(
    data: DataArg,
    components: Annotated[str, typer.Option("--components", "-k", metavar="RANGE",
                                            help="Numbers of components to try: 1-8, 3 or 1,2,4.")] = "1-6",
    covariance: Annotated[str, typer.Option("--covariance", metavar="all|full,tied,...",
                                            help="Gaussian covariance types to try.")] = "all",
    criterion: Annotated[CriterionName, typer.Option("--criterion", help="Information criterion (lower is better).")] = CriterionName.bic,
    family: Annotated[FamilyName, typer.Option("--family", help="Component family.")] = FamilyName.gaussian,
    columns: ColumnsOpt = None,
    trials: TrialsOpt = None,
    trials_column: TrialsColOpt = None,
    weights_column: WeightsColOpt = None,
    n_init: NInitOpt = 1,
    max_iter: MaxIterOpt = 100,
    tol: TolOpt = 1e-3,
    seed: SeedOpt = None,
    plot: Annotated[Path | None, typer.Option("--plot", metavar="PNG",
                                              help="Draw the criterion curve into this PNG.")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", metavar="MODEL",
                                             help="Save the chosen model to this file.")] = None,
    drop_missing: DropOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Fit every candidate mixture and choose one by BIC or AIC."""
    fam = family.value
    ks = _parse_components(components)
    covs = _parse_covariances(covariance)
    if fam != "gaussian" and covariance.strip().lower() != "all":
        raise CliError("--covariance applies to the gaussian family only")
    _trials_kwargs(fam, trials, trials_column)
    if fam == "binomial" and trials is None and trials_column is None:
        raise CliError("the binomial family needs the number of trials: --trials N or --trials-column c")
    _estimator_class(fam)
    _check_out_path(out, "--out")
    _check_out_path(plot, "--plot")
    if plot is not None:
        _check_matplotlib()
    inputs = _read_inputs(data, columns, weights_column=weights_column, trials_column=trials_column,
                          drop_missing=drop_missing)
    fit_params = {}
    if inputs.trials is not None:
        fit_params["n_trials"] = inputs.trials
    elif trials is not None:
        fit_params["n_trials"] = int(trials)
    best, table = _run_select(inputs.X, inputs.weights, fit_params, components=ks,
                              covariances=covs, criterion=criterion.value, family=fam,
                              n_init=n_init, seed=seed, max_iter=max_iter, tol=tol)
    best.feature_names_ = list(inputs.names)
    if out is not None:
        _save_model(best, out)
    if plot is not None:
        _save_criterion_plot(table, plot)
    best_row = next(r for r in table if r.get("best"))
    if as_json:
        _print_json({
            "criterion": criterion.value,
            "family": fam,
            "n_samples": int(inputs.X.shape[0]),
            "best": {**_candidates_json([best_row])[0], "model": _model_dict(best)},
            "candidates": _candidates_json(table),
        })
    else:
        out_console = _stdout()
        out_console.print(_select_table(table, title=f"{len(table)} candidates by "
                                        f"{criterion.value.upper()} (lower is better)"))
        out_console.print()
        _print_model(best)
    if out is not None:
        _say(f"saved the chosen model to {out}")
    if plot is not None:
        _say(f"wrote the criterion plot to {plot}")


def _save_criterion_plot(table, path: Path) -> None:
    from matplotlib.figure import Figure

    from .plotting import _atomic_savefig, plot_criterion

    fig = Figure(figsize=(8, 6), dpi=100)
    plot_criterion(table, ax=fig.add_subplot())
    fig.tight_layout()
    _atomic_savefig(fig, path, 100)


# --------------------------------------------------------- predict and co.
@app.command()
def predict(
    model_path: ModelArg,
    data: DataArg,
    proba: Annotated[bool, typer.Option("--proba", help="Print each row's component probabilities instead of its label.")] = False,
    out: Annotated[Path | None, typer.Option("--out", "-o", metavar="FILE",
                                             help="Write to this file (.npy or CSV text) instead of stdout.")] = None,
    columns: ColumnsOpt = None,
    trials: TrialsOpt = None,
    trials_column: TrialsColOpt = None,
    drop_missing: DropOpt = False,
) -> None:
    """Most likely component (or --proba: probabilities) of every row of DATA."""
    _check_out_path(out, "--out")
    model = _load_model(model_path)
    names = getattr(model, "feature_names_", None)
    inputs = _read_inputs(data, columns, trials_column=trials_column, drop_missing=drop_missing,
                          default_names=list(names) if names is not None else None)
    _check_features(model, inputs, data)
    aux = _aux(model, inputs, trials)
    if proba:
        result = model.predict_proba(inputs.X, **aux)
        lines = [",".join(f"{p:.6g}" for p in row) for row in result]
    else:
        result = model.predict(inputs.X, **aux)
        lines = [str(int(v)) for v in result]
    text = "\n".join(lines) + ("\n" if lines else "")
    if out is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    if out.suffix.lower() == ".npy":
        _atomic_write(out, lambda fh: np.save(fh, result, allow_pickle=False))
    else:
        _atomic_write(out, lambda fh: fh.write(text.encode("utf-8")))
    _say(f"wrote {len(lines)} {'rows of probabilities' if proba else 'labels'} to {out}")


@app.command()
def score(
    model_path: ModelArg,
    data: DataArg,
    columns: ColumnsOpt = None,
    trials: TrialsOpt = None,
    trials_column: TrialsColOpt = None,
    drop_missing: DropOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Log-likelihood of DATA under the model, with BIC and AIC."""
    model = _load_model(model_path)
    names = getattr(model, "feature_names_", None)
    inputs = _read_inputs(data, columns, trials_column=trials_column, drop_missing=drop_missing,
                          default_names=list(names) if names is not None else None)
    _check_features(model, inputs, data)
    aux = _aux(model, inputs, trials)
    n = inputs.X.shape[0]
    mean = float(model.score(inputs.X, **aux))
    result = {"n_samples": n, "mean_log_likelihood": mean, "log_likelihood": mean * n,
              "bic": float(model.bic(inputs.X, **aux)), "aic": float(model.aic(inputs.X, **aux))}
    if as_json:
        _print_json(result)
        return
    t = Table(show_header=False, box=None)
    t.add_column(style="bold")
    t.add_column(justify="right")
    t.add_row("rows", str(n))
    t.add_row("mean log-likelihood per row", _fmt(mean, 8))
    t.add_row("total log-likelihood", _fmt(mean * n, 10))
    t.add_row("BIC", _fmt(result["bic"], 10))
    t.add_row("AIC", _fmt(result["aic"], 10))
    _stdout().print(t)


@app.command()
def sample(
    model_path: ModelArg,
    n: Annotated[int, typer.Option("-n", "--n-samples", min=1, metavar="N", help="Number of rows to draw.")] = 100,
    seed: SeedOpt = None,
    trials: TrialsOpt = None,
    labels: Annotated[bool, typer.Option("--labels", help="Add a 'component' column with each row's component.")] = False,
    out: Annotated[Path | None, typer.Option("--out", "-o", metavar="FILE",
                                             help="Write CSV to this file instead of stdout.")] = None,
) -> None:
    """Draw N rows from the model, as CSV with a header."""
    _check_out_path(out, "--out")
    model = _load_model(model_path)
    family = _family_of(model)
    kwargs = {}
    if trials is not None:
        if family != "binomial":
            raise CliError("--trials applies to binomial models only")
        kwargs["n_trials"] = int(trials)
    elif family == "binomial" and getattr(model, "n_trials", None) is None:
        raise CliError("this binomial model was fitted with per-row numbers of trials: give --trials N")
    model.random_state = seed
    X, y = model.sample(n, **kwargs)
    order = np.random.default_rng(seed).permutation(n)
    X, y = X[order], y[order]
    header = _feature_names(model) + (["component"] if labels else [])
    integer = family != "gaussian"
    rows = [",".join(header)]
    for x, k in zip(X, y, strict=True):
        cells = [str(int(v)) if integer else f"{v:.10g}" for v in x]
        if labels:
            cells.append(str(int(k)))
        rows.append(",".join(cells))
    text = "\n".join(rows) + "\n"
    if out is None:
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        _atomic_write(out, lambda fh: fh.write(text.encode("utf-8")))
        _say(f"wrote {n} rows to {out}")


@app.command()
def inspect(
    model_path: ModelArg,
    as_json: JsonOpt = False,
) -> None:
    """Print a saved model's parameters."""
    model = _load_model(model_path)
    if as_json:
        _print_json(_model_dict(model))
    else:
        _print_model(model, [f"file {model_path} ({model_path.stat().st_size} bytes)"])


# --------------------------------------------------------------------- demo
@app.command()
def demo(
    out_dir: Annotated[Path, typer.Option("--out-dir", metavar="DIR",
                                          help="Folder for the plots and the model.")] = Path("emkit-demo"),
    seed: Annotated[int, typer.Option("--seed", metavar="S", help="Random seed.")] = 0,
) -> None:
    """Fit the bundled Old Faithful data, choose the model by BIC and plot it."""
    from .datasets import load_faithful

    if out_dir.exists() and not out_dir.is_dir():
        raise CliError(f"--out-dir {out_dir}: exists and is not a folder")
    X, names = load_faithful(return_names=True)
    out = _stdout()
    out.print(Text(f"Old Faithful: {X.shape[0]} eruptions, columns {', '.join(names)} (minutes)",
                   style="bold"))
    best, table = _run_select(X, None, {}, components=list(range(1, 7)),
                              covariances=list(_COVARIANCE_TYPES), criterion="bic",
                              family="gaussian", n_init=3, seed=seed, max_iter=200, tol=1e-4)
    best.feature_names_ = list(names)
    ranked = sorted((r for r in table if r.get("value") is not None), key=lambda r: r["value"])
    out.print(_select_table(ranked[:6], title=f"Best 6 of {len(table)} candidates by BIC "
                            "(1..6 components x 4 covariance types; lower is better)"))
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

    from . import plotting

    jobs = [("clusters.png", lambda ax: plotting.plot_clusters_2d(model, X, ax=ax, feature_names=names))]
    for j, name in enumerate(names):
        jobs.append((f"density_{_safe_name(name, j)}.png",
                     lambda ax, j=j: plotting.plot_density_1d(model, X, ax=ax, feature=j,
                                                              feature_names=names)))
    jobs.append(("history.png", lambda ax: plotting.plot_history(model, ax=ax)))
    jobs.append(("criterion.png", lambda ax: plotting.plot_criterion(table, ax=ax)))
    written = []
    for filename, draw in jobs:
        fig = Figure(figsize=(8, 6), dpi=100)
        draw(fig.add_subplot())
        fig.tight_layout()
        path = out_dir / filename
        plotting._atomic_savefig(fig, path, 100)
        written.append(path)
    return written


def _safe_name(name: str, j: int) -> str:
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in str(name)).strip("_")
    return safe or f"feature{j}"


if __name__ == "__main__":  # pragma: no cover
    main()
