"""Execution backends: how chunks of rows are mapped and their statistics reduced."""

from .numpy_backend import Data, NumpyBackend, default_chunk_size

__all__ = ["Data", "NumpyBackend", "default_chunk_size"]
