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

Layout: :mod:`.application` (the Typer app and its error guard),
:mod:`.options` (choices and shared option declarations), :mod:`.inputs`
(reading data, options and model files), :mod:`.views` (tables and JSON),
:mod:`.progress` (progress bars and Ctrl-C), and :mod:`.commands` (one module
per group of commands).
"""

from . import commands  # noqa: F401  (registers the commands on the app)
from .application import CliError, app, main

__all__ = ["CliError", "app", "main"]
