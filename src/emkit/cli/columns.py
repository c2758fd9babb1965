"""``--family auto``: a component family for every column of a table (mixed-type mixtures)."""

import numpy as np
from rich.table import Table

from .. import registry
from .application import CliError, _stderr

def infer_family(values: np.ndarray, labels=None) -> str:
    """The family ``--family auto`` gives a column (see :func:`_inferred`)."""
    return _inferred(values, "", labels)[0]


def _inferred(values: np.ndarray, name: str, labels=None) -> tuple[str, str]:
    """Family name and why, for a column: the registry's most specific family for its kind.

    Parameters
    ----------
    values : ndarray of shape (n_samples,)
        The column; NaN cells (missing) are ignored.
    name : str
        The column's name, for the override note.
    labels : sequence of str, optional
        The labels of a text column (``values`` are their codes).
    """
    if labels is not None:
        kind = registry.text_kind(len(labels))
        shown = ", ".join(labels[:3]) + (", ..." if len(labels) > 3 else "")
        text = kind.text if len(labels) == 2 else f"{len(labels)} distinct strings"
        return registry.families_for_column(kind.name)[0].name, f"{text} ({shown})"
    kind = registry.column_kind(values)
    candidates = registry.families_for_column(kind.name)
    why = kind.text
    if kind.suggest_override and len(candidates) > 1:
        why += f" (--column-family {name}={candidates[-1].name} overrides)"
    return candidates[0].name, why


def parse_column_families(items, names: list[str]) -> dict:
    """``--column-family name=family`` options as {column name: family name}."""
    out = {}
    for item in items or ():
        name, sep, family = item.partition("=")
        name, family = name.strip(), family.strip()
        if not sep or not name or not family:
            raise CliError(f"--column-family must look like name=family, got {item!r}")
        if name not in names:
            raise CliError(f"--column-family {item}: no column {name!r}; the columns are "
                           f"{', '.join(names)}")
        try:
            registry.get(family)
        except ValueError as exc:
            raise CliError(f"--column-family {item}: {exc}") from None
        out[name] = family
    return out


def column_families(X: np.ndarray, names: list[str], overrides: dict,
                    levels: dict | None = None) -> list[tuple[str, str, str]]:
    """``(column, family, why)`` for every column: inferred, or as --column-family sets it.

    ``levels`` holds the labels of the text columns; a text column may be
    set only to a family of unordered categories.
    """
    levels = levels or {}
    rows = []
    for j, name in enumerate(names):
        if np.isnan(X[:, j]).all():
            raise CliError(f"column {name!r} is entirely missing; leave it out with --columns")
        if name in overrides:
            family = registry.get(overrides[name])
            if name in levels:
                kind = registry.text_kind(len(levels[name]))
                if kind.name not in family.column_kinds:
                    takers = " or ".join(f.name for f in registry.families_for_column(kind.name))
                    raise CliError(f"--column-family {name}={family.name}: column {name!r} holds "
                                   f"text ({len(levels[name])} labels), which only {takers} "
                                   "models")
            rows.append((name, overrides[name], "--column-family"))
        else:
            rows.append((name, *_inferred(X[:, j], name, levels.get(name))))
    return rows


def blocks_of(families: list[tuple[str, str, str]], covariance: str | None,
              options: dict | None = None) -> list:
    """MixedMixture blocks for the columns' families.

    A family that integrates out single missing cells itself (the Gaussian,
    by conditioning) gets one block of all its columns, with ``covariance``
    (default: the family's own, full) when it takes ``--covariance``; every
    other column is a block of its own, so each cell can be missing on its own,
    with the command-line ``options[j]`` (option name -> value) its family takes.
    """
    grouped: dict = {}
    blocks = []
    for j, (_, name, _) in enumerate(families):
        family = registry.get(name)
        if callable(getattr(family, "log_prob_missing", None)):
            grouped.setdefault(name, []).append(j)
        else:
            given = (options or {}).get(j, {})
            taken = {family.cli_params[o]: v for o, v in given.items()
                     if o in family.cli_params and v is not None}
            blocks.append((name, [j], taken) if taken else (name, [j]))
    out = []
    for name, cols in grouped.items():
        param = registry.get(name).cli_params.get("covariance")
        out.append((name, cols, {param: covariance} if param and covariance else {}))
    return out + blocks


def print_families(families, n_missing: np.ndarray) -> None:
    """The per-column family table, on standard error (standard output stays the result)."""
    table = Table(title="families by column (--family auto)", title_justify="left",
                  header_style="bold")
    for head in ("column", "family", "why", "missing cells"):
        table.add_column(head, justify="right" if head == "missing cells" else "left")
    for (name, family, why), miss in zip(families, n_missing, strict=True):
        table.add_row(name, family, why, str(int(miss)))
    _stderr().print(table)
