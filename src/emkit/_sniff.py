"""Text tables as people write them: the delimiter and the decimal mark, sniffed.

:func:`emkit.io.read_table` reads ``.csv``, ``.tsv``, ``.txt`` and ``.dat``
files, each also gzip-compressed (``.csv.gz``), and CSV on standard input.
The delimiter is sniffed from the first rows (text in quotes ignored): a
``;``, tab or ``|`` that every row has the same number of times wins over a
``,``; rows with none of these are split on runs of blanks.  With a delimiter
other than ``,``, numbers written with a decimal comma (``1,5``) are read as
``1.5``.  Either can be forced (``delimiter=``, ``decimal=``; the command
line's ``--delimiter`` and ``--decimal``).
"""

from __future__ import annotations

import gzip
import io
import os
import re

#: text formats read_table understands, each also with ".gz"
TEXT_EXTENSIONS = (".csv", ".tsv", ".txt", ".dat")
#: delimiters tried, in order of preference when several fit every row
_CANDIDATES = ("\t", ";", "|", ",")
_QUOTED = re.compile(r'"[^"]*"')
_DECIMAL_COMMA = re.compile(r"(?<![\w.,])[+-]?\d+,\d+(?:[eE][+-]?\d+)?(?![\w.,])")
_DIGIT_COMMA_DIGIT = re.compile(r"(?<=\d),(?=\d)")
#: rows looked at when sniffing
_SNIFF_ROWS = 50

NAMES = {",": "','", "\t": "tab", ";": "';'", "|": "'|'", " ": "blanks"}


def split_extension(path: str) -> tuple[str, bool]:
    """(extension without ``.gz``, whether gzip-compressed) of a file name, lower case."""
    name = os.path.basename(path).lower()
    gz = name.endswith(".gz")
    if gz:
        name = name[:-3]
    dot = name.rfind(".")
    return (name[dot:] if dot > 0 else ""), gz


def read_text(path: str, gz: bool) -> str:
    """The whole text of a (possibly gzip-compressed) UTF-8 file, BOM removed."""
    if gz:
        with gzip.open(path, "rb") as fh:
            data = fh.read()
    else:
        with open(path, "rb") as fh:
            data = fh.read()
    return data.decode("utf-8-sig")


def _delimiter_option(value: str | None) -> str | None:
    if value is None:
        return None
    aliases = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "space": " ",
               "whitespace": " ", "blank": " ", "blanks": " ", "pipe": "|"}
    value = aliases.get(value.lower(), value)
    if len(value) != 1 or value in "\"\n\r" or value.isalnum() or value == ".":
        raise ValueError(f"delimiter must be one character such as ',', ';', '|', 'tab' or "
                         f"'space', got {value!r}")
    return value


def sniff(lines: list[str], default: str | None) -> str:
    """The delimiter of a table from its first non-blank ``lines``.

    A candidate fits when every row has it the same, non-zero, number of times
    outside quotes; tab, ``;`` and ``|`` win over ``,`` (which may be a
    decimal mark); with none, ``" "`` (runs of blanks); rows that disagree
    get ``default`` (from the extension), so the parser names the bad row.
    """
    rows = [_QUOTED.sub('""', line) for line in lines if line.strip()][:_SNIFF_ROWS]
    if not rows:
        return default or ","
    fitting = [c for c in _CANDIDATES
               if len({row.count(c) for row in rows}) == 1 and rows[0].count(c) > 0]
    if fitting:  # tab, ';', '|' before ',' (a comma may be a decimal mark)
        return fitting[0]
    if not any(c in row for row in rows for c in ",;|") and all(len(row.split()) > 1 for row in rows):
        return " "                 # blanks and tabs mixed: runs of either
    return default or ","          # ragged: the parser names the bad row


def sniff_decimal(lines: list[str], delimiter: str) -> str:
    """``","`` when the rows hold numbers with a decimal comma (and the delimiter is not
    a comma), else ``"."``."""
    if delimiter == ",":
        return "."
    rows = [_QUOTED.sub('""', line) for line in lines if line.strip()][:_SNIFF_ROWS]
    return "," if any(_DECIMAL_COMMA.search(row) for row in rows) else "."


def canonical(text: str, delimiter: str, decimal: str) -> tuple[str, str]:
    """The table as ``delimiter``-separated text with decimal points, line for line.

    Blank-separated rows become tab-separated; with a decimal comma every
    comma between digits outside a header row becomes a point.  Lines are
    neither added nor removed, so row numbers stay those of the file.
    """
    if delimiter == " ":
        text = "\n".join("\t".join(line.split()) for line in text.splitlines())
        delimiter = "\t"
    if decimal == ",":
        out, seen_first = [], False
        for line in text.splitlines():
            if line.strip() and not seen_first:
                seen_first = True
                if re.search(r"[A-Za-z_]", _QUOTED.sub("", line)):  # a header keeps its commas
                    out.append(line)
                    continue
            out.append(_DIGIT_COMMA_DIGIT.sub(".", line))
        text = "\n".join(out)
    return text, delimiter


def text_source(path: str, src: str, ext: str, gz: bool, delimiter: str | None,
                decimal: str | None):
    """An open text stream of a table file and its delimiter, sniffed or as given.

    Returns
    -------
    fh : text stream
        Seekable; the caller closes it.
    delimiter : str
    """
    delimiter = _delimiter_option(delimiter)
    if decimal not in (None, ".", ","):
        raise ValueError(f"decimal must be '.' or ',', got {decimal!r}")
    default = "\t" if ext == ".tsv" else ("," if ext == ".csv" else None)
    if not gz and delimiter in (None, default or ",") and decimal in (None, "."):
        fh = open(path, encoding="utf-8-sig", newline="")  # noqa: SIM115 - returned open
        head = [fh.readline() for _ in range(_SNIFF_ROWS)]
        fh.seek(0)
        found = delimiter or sniff(head, default)
        dec = decimal or sniff_decimal(head, found)
        if found == (default or ",") and dec == "." and found != " ":
            return fh, found            # the common case: streamed, not read into memory
        fh.close()
    text = read_text(path, gz)
    return from_text(text, src, default, delimiter, decimal)


def from_text(text: str, src: str, default: str | None, delimiter: str | None,
              decimal: str | None):
    """:func:`text_source` of a table already read as text (standard input, gzip)."""
    delimiter = _delimiter_option(delimiter)
    head = text.splitlines()[: 4 * _SNIFF_ROWS]
    found = delimiter or sniff(head, default)
    dec = decimal or sniff_decimal(head, found)
    if dec == "," and found == ",":
        raise ValueError(f"{src}: a decimal comma needs another delimiter than ','; "
                         "give the delimiter (--delimiter ';')")
    text, found = canonical(text, found, dec)
    return io.StringIO(text, newline=""), found
