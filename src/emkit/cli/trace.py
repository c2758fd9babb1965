"""``emkit fit --trace``: every EM iteration on standard output, and the history plot.

Each accepted iterate is one line: its data pass, the total log-likelihood,
the change since the last line and, for small models (at most
:data:`TEXT_PARAMS` numbers), the weights and the family's table columns
(means and standard deviations, probabilities, rates: whatever the family's
:meth:`~emkit.families.Family.describe` shows).  With ``--json`` every line
is a JSON object instead, with the family's parameter fields for models of up
to :data:`JSON_PARAMS` numbers.  A new start (``--n-init``, the default
start's short runs) begins with a line of its own.
"""

import json
import math
import shutil
import sys

import numpy as np

from .views import _jsonable

#: largest number of parameter values the text trace shows per line
TEXT_PARAMS = 12
#: largest number of parameter values the JSON trace carries per line
JSON_PARAMS = 2000


class Trace:
    """The per-iteration callback of a traced fit.

    Parameters
    ----------
    model : emkit estimator
        The estimator being fitted (its family describes the parameters).
    total_weight : float
        Rows (or summed row weights): the mean log-likelihood times this is
        the total shown.
    feature_names : list of str
    as_json : bool
        JSON lines instead of a text table.
    write : callable, optional
        Where lines go (default: standard output, flushed per line).
    width : int, optional
        Line width of the text table (default: the terminal's, at least 80).
    """

    def __init__(self, model, total_weight: float, feature_names, as_json: bool, write=None,
                 width: int | None = None):
        self.model = model
        self.total = float(total_weight)
        self.names = [str(n) for n in feature_names]
        self.as_json = as_json
        self.write = write or _write_stdout
        self.width = width or max(shutil.get_terminal_size((100, 24)).columns, 80)
        self.start = 0
        self.last_iteration = None
        self.last_total = None
        self.header = None

    # ------------------------------------------------------------ parameters
    def _describe(self, params: dict):
        """(labels, values) of the weights and the family's table columns, and JSON fields."""
        try:
            family = self.model._configured_family().for_params(params)
            desc = family.describe(params)
        except Exception:  # noqa: BLE001 - a family that cannot describe mid-fit shows none
            return [], [], {}
        weights = np.asarray(params["weights"], dtype=np.float64)
        K = weights.size
        d = len(self.names)
        labels = [f"w{k}" for k in range(K)]
        values = list(weights)
        for col in desc.columns:
            if col.values is None:
                continue
            v = np.asarray(col.values, dtype=np.float64)
            if v.ndim == 1:
                label = col.label.format(*self.names) if d > 1 else col.label
                labels += [f"{label} {k}" for k in range(K)]
                values += list(v)
            else:
                for j in range(v.shape[1]):
                    suffix = "" if d == 1 else f"[{self.names[j] if j < d else j}]"
                    labels += [f"{col.label}{k}{suffix}" for k in range(K)]
                    values += list(v[:, j])
        fields = {"weights": weights, **desc.fields}
        return labels, values, fields

    # -------------------------------------------------------------- callback
    def __call__(self, info: dict) -> None:
        it = int(info["iteration"])
        if self.last_iteration is None or it <= self.last_iteration:
            self.start += 1
            self.last_total = None
            if not self.as_json:
                self.write(f"start {self.start}\n")
                self.header = None
        mean = float(info["log_likelihood"])
        total = mean * self.total
        change = float(info["change"]) * self.total
        self.last_iteration = it
        self.last_total = total
        labels, values, fields = self._describe(info["params"])
        if self.as_json:
            line = {"start": self.start, "iteration": it, "log_likelihood": total,
                    "mean_log_likelihood": mean, "change": change}
            if len(values) <= JSON_PARAMS and fields:
                line["parameters"] = fields
            self.write(json.dumps(_jsonable(line)) + "\n")
            return
        show = len(values) <= TEXT_PARAMS
        if self.header is None:
            cells = [f"{'iter':>5}", f"{'log-likelihood':>16}", f"{'change':>10}"]
            if show:
                cells += [f"{lab[:10]:>10}" for lab in labels]
            self.header = cells
            self.write(self._wrap(cells))
        cells = [f"{it:>5}", f"{total:>16.10g}", f"{change:>10.3g}"]
        if show:
            cells += [f"{_short(v):>10}" for v in values]
        self.write(self._wrap(cells))

    def _wrap(self, cells: list) -> str:
        """Cells joined by spaces; parameter cells continue on indented lines past the width."""
        lead = " ".join(cells[:3])
        lines, line = [], lead
        indent = " " * (len(lead) + 1)
        for cell in cells[3:]:
            if len(line) + 1 + len(cell) > self.width and line.strip():
                lines.append(line)
                line = indent + cell
            else:
                line += " " + cell
        lines.append(line)
        return "\n".join(lines) + "\n"


def _short(v: float) -> str:
    if not math.isfinite(v):
        return str(v)
    return f"{v:.6g}" if abs(v) >= 1e-4 or v == 0 else f"{v:.3e}"


def _write_stdout(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def save_history_plot(model, path) -> None:
    """The climb of the mean log-likelihood (:func:`emkit.plotting.plot_history`) as a PNG."""
    from matplotlib.figure import Figure

    from ..plotting import plot_history
    from ..plotting._common import save_png

    fig = Figure(figsize=(8, 6), dpi=100)
    plot_history(model, ax=fig.add_subplot())
    fig.tight_layout()
    save_png(fig, path, 100)
