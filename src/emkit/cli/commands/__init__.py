"""One module per group of commands; importing them registers them on the app."""

from . import bootstrap, demo, fit, select, use  # noqa: F401
