"""The Typer application and its error guard.

Every command runs inside :class:`_EmkitGroup`, which turns any problem into
one line on standard error and a fixed exit status: 2 for bad input (also
input too large to hold in memory, nested too deeply or with numbers too
large: MemoryError, RecursionError, OverflowError), 130 for Ctrl-C, 1 for an
internal error (``EMKIT_DEBUG=1`` shows its traceback).  Ctrl-C before the
guard runs (while the modules load) exits with 130 quietly too
(:mod:`emkit._startup`).  Warnings are printed once each, as one line.
"""

import contextlib
import os
import re
import sys
import warnings
from typing import Annotated

import numpy as np
import typer
from rich.console import Console
from typer.core import TyperGroup

from .. import registry

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
    """Standard output: the terminal's width, COLUMNS when set, else (a pipe, a file) 120."""
    console = Console(highlight=False, emoji=False)
    if not console.is_terminal and not os.environ.get("COLUMNS", "").strip().isdigit():
        console.width = max(console.width, 120)
    return console


def _stderr() -> Console:
    return Console(stderr=True, highlight=False, emoji=False)


def _say(message: str, style: str | None = None) -> None:
    """One line of commentary on standard error (never wrapped)."""
    _stderr().print(message, style=style, markup=False, soft_wrap=True)


#: Python arguments named in library messages -> the command-line options that set them
_OPTION_WORDS = re.compile(r"\b(max_iter|tol|n_init|acceleration)=('?)([^\s',;)]+)\2")
#: "delimiter=';' and decimal=',' (--delimiter ';' --decimal ',')": the options only
_PYTHON_THEN_OPTIONS = re.compile(r"\b\w+=\S+(?: and \w+=\S+)* \((--[^)]*)\)")
_COMPONENTS = re.compile(r"\bn_components=(\d+)")
_OPTION_NAMES = re.compile(r"(?<![-\w.])(max_iter|n_init|tol)\b(?![=_(])")


def _cli_words(text: str) -> str:
    """A library message in the command line's words (``max_iter=10`` -> ``--max-iter 10``)."""
    text = _COMPONENTS.sub(r"--components \1", text)
    text = _OPTION_WORDS.sub(lambda m: f"--{m.group(1).replace('_', '-')} {m.group(3)}", text)
    text = _OPTION_NAMES.sub(lambda m: f"--{m.group(1).replace('_', '-')}", text)
    text = text.replace("drop_missing=True (--drop-missing on the command line)", "--drop-missing")
    text = text.replace("missing='marginalize' and unknown='missing'",
                        "--missing marginalize --unknown missing")
    text = _PYTHON_THEN_OPTIONS.sub(r"\1", text)
    return text.replace("drop_missing=True", "--drop-missing")


def _one_line(message) -> str:
    return _cli_words(" ".join(str(message).split()))


class _Session:
    """Per-invocation state shared by the guard and the commands."""

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        self.seen_warnings: set = set()
        self.interrupt_reported = False
        self.source = None  # where the data came from (.locate.Source), for messages
        self.text_format: dict = {}  # --delimiter and --decimal of a text DATA file


_session = _Session()


def _show_warning(message, category, filename, lineno, file=None, line=None):
    text = _one_line(message)
    key = (category, text)
    if key in _session.seen_warnings:
        return
    _session.seen_warnings.add(key)
    _say(f"warning: {text}", style="yellow")


# ------------------------------------------------------------------ help text
def _plain_help(group) -> None:
    """Help texts shown as written: brackets (``[default: full]``) are not rich markup, and
    flags get no ``<bool>`` placeholder."""
    from rich.markup import escape

    for command in [group, *getattr(group, "commands", {}).values()]:
        if not getattr(command, "_emkit_plain", False):
            command._emkit_plain = True
            command.get_help_option = _plain_help_option(command.get_help_option)
        for param in command.params:
            if getattr(param, "_emkit_plain", False):
                continue
            param._emkit_plain = True
            if getattr(param, "is_flag", False) and getattr(param, "is_bool_flag", True):
                param.metavar = ""
            if getattr(param, "help", None):
                param.help = escape(param.help)


def _plain_help_option(make):
    def get_help_option(ctx):
        option = make(ctx)
        if option is not None:
            option.metavar = ""
        return option

    return get_help_option


# --------------------------------------------------------------- click group
class _EmkitGroup(TyperGroup):
    """Typer group whose errors are one line on stderr with a fixed exit status."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        _session.reset()
        _plain_help(self)
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.showwarning = _show_warning
            code = self._guarded(args, prog_name, complete_var, extra)
        if standalone_mode:
            sys.exit(code)
        return code

    def _guarded(self, args, prog_name, complete_var, extra) -> int:
        from .._startup import release_interrupt

        try:
            release_interrupt()  # from here on Ctrl-C is a KeyboardInterrupt this guard reports
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
            from .locate import locate

            text = locate(_one_line(exc), _session.source)
            _say(f"emkit: error: {text or type(exc).__name__}", style="red")
            return 2
        except (MemoryError, RecursionError, OverflowError) as exc:
            _say(f"emkit: error: {_resource_message(exc)}", style="red")
            return 2
        except Exception as exc:  # a bug: say so in one line unless asked for details
            if os.environ.get("EMKIT_DEBUG"):
                raise
            _say(f"emkit: internal error: {type(exc).__name__}: {_one_line(exc)} "
                 "(set EMKIT_DEBUG=1 for a traceback)", style="red")
            return 1


def _resource_message(exc: BaseException) -> str:
    """One line for input too large to hold, nested too deeply, or with too large a number."""
    detail = _one_line(exc)
    detail = f" ({detail})" if detail else ""
    if isinstance(exc, MemoryError):
        return (f"not enough memory for this input{detail}; ask for less (fewer samples or "
                "rows, fewer components or a smaller --chunk-size) or check the input file")
    if isinstance(exc, RecursionError):
        return f"the input is nested too deeply to read{detail}; check the input file"
    return f"a number in the input is too large{detail}; check the input and the options"


def _version_callback(value: bool) -> None:
    if value:
        from .. import __version__

        _stdout().print(f"emkit {__version__}", markup=False)
        raise typer.Exit()


app = typer.Typer(
    cls=_EmkitGroup,
    name="emkit",
    help=f"Fit mixture models by EM: {', '.join(registry.families())} components.",
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
    """Fit mixture models by EM."""


def main() -> None:
    """Entry point of the ``emkit`` console script."""
    typer.main.get_command(app).main(prog_name="emkit")
