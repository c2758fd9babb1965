"""The additive sufficient-statistics value type shared by every family."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import numpy as np


class Stats(Mapping):
    """Immutable bundle of named arrays that add elementwise.

    An E-step turns one chunk of rows into a ``Stats``; the statistics of
    several chunks (or Dask partitions) are combined with ``+`` and handed to
    the family's M-step.  Because the operation is a plain sum, processing the
    rows at once, in chunks, or on a cluster gives the same M-step input up to
    rounding.

    Parameters
    ----------
    **arrays : array-like
        Named statistics.  Every ``Stats`` added together must carry the same
        names and shapes.

    Examples
    --------
    >>> a = Stats(nk=np.array([1.0, 2.0]))
    >>> b = Stats(nk=np.array([0.5, 0.5]))
    >>> (a + b)["nk"]
    array([1.5, 2.5])
    """

    __slots__ = ("_arrays",)

    def __init__(self, **arrays):
        object.__setattr__(
            self, "_arrays", {k: np.asarray(v, dtype=np.float64) for k, v in arrays.items()}
        )

    def __setattr__(self, name, value):  # pragma: no cover - immutability guard
        raise AttributeError("Stats is immutable")

    def __getitem__(self, key: str) -> np.ndarray:
        return self._arrays[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._arrays)

    def __len__(self) -> int:
        return len(self._arrays)

    def __add__(self, other: Stats) -> Stats:
        if not isinstance(other, Stats):
            return NotImplemented
        if self._arrays.keys() != other._arrays.keys():
            raise ValueError(
                f"cannot add statistics with different fields: {sorted(self)} and {sorted(other)}"
            )
        return Stats(**{k: self._arrays[k] + other._arrays[k] for k in self._arrays})

    def __radd__(self, other):
        # lets ``sum(list_of_stats)`` work (sum starts from the integer 0)
        if isinstance(other, int) and other == 0:
            return self
        return NotImplemented

    def __reduce__(self):
        return (_rebuild_stats, (self._arrays,))

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}{tuple(v.shape)}" for k, v in self._arrays.items())
        return f"Stats({fields})"


def _rebuild_stats(arrays):
    return Stats(**arrays)
