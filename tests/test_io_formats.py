"""Text tables as people write them: sniffed delimiters and decimal commas, .txt, .dat,
gzip, a directory; the same from the command line (--delimiter, --decimal)."""

import gzip

import numpy as np
import pytest
from typer.testing import CliRunner

from emkit import cli
from emkit.io import DataError, data_row_lines, read_table

runner = CliRunner()
EXPECTED = [[1.5, 2.0], [3.0, -4.25], [5.0, 6e-3]]


def write(path, text):
    path.write_text(text)
    return path


@pytest.mark.parametrize("name, text", [
    ("comma.csv", "a,b\n1.5,2\n3,-4.25\n5,6e-3\n"),
    ("semicolon.csv", "a;b\n1,5;2\n3;-4,25\n5;6e-3\n"),            # decimal commas
    ("tabs.csv", "a\tb\n1.5\t2\n3\t-4.25\n5\t6e-3\n"),
    ("tabs.tsv", "a\tb\n1,5\t2\n3\t-4,25\n5\t6e-3\n"),             # decimal commas
    ("pipes.dat", "a|b\n1.5|2\n3|-4.25\n5|6e-3\n"),
    ("blanks.txt", "a   b\n  1.5 2\n3\t-4.25\n\n5    6e-3\n"),
    ("quoted.csv", '"a;x","b"\n1.5,2\n3,-4.25\n5,6e-3\n'),          # ';' inside quotes
])
def test_sniffed_tables(tmp_path, name, text):
    X, names = read_table(write(tmp_path / name, text))
    np.testing.assert_array_equal(X, EXPECTED)
    assert names[1] == "b"


def test_gzip_and_row_lines(tmp_path):
    path = tmp_path / "t.csv.gz"
    with gzip.open(path, "wt") as fh:
        fh.write("a;b\n\n1,5;2\n3;-4,25\n5;6e-3\n")
    X, names = read_table(path)
    np.testing.assert_array_equal(X, EXPECTED)
    assert data_row_lines(path).tolist() == [3, 4, 5]
    assert data_row_lines(write(tmp_path / "b.txt", "1 2\n\n3 4\n")).tolist() == [1, 3]


def test_forced_delimiter_and_decimal(tmp_path):
    path = write(tmp_path / "t.txt", "a;b\n1,5;2\n")
    np.testing.assert_array_equal(read_table(path, delimiter=";", decimal=",")[0], [[1.5, 2.0]])
    np.testing.assert_array_equal(read_table(write(tmp_path / "s.csv", "a b\n1 2\n"),
                                             delimiter="space")[0], [[1.0, 2.0]])
    with pytest.raises(DataError, match="decimal comma needs another delimiter"):
        read_table(path, delimiter=",", decimal=",")
    with pytest.raises(DataError, match="delimiter must be one character"):
        read_table(path, delimiter="::")
    with pytest.raises(DataError, match="decimal must be"):
        read_table(path, decimal=";")


def test_bad_inputs(tmp_path):
    (tmp_path / "folder.csv").mkdir()
    with pytest.raises(DataError, match="folder.csv: is a directory"):
        read_table(tmp_path / "folder.csv")
    with pytest.raises(DataError, match="is a directory"):
        read_table(tmp_path)
    with pytest.raises(DataError, match=r"unsupported file type '\.npy\.gz'"):
        read_table(write(tmp_path / "x.npy.gz", "x"))
    bad = tmp_path / "bad.csv.gz"
    bad.write_bytes(b"not gzip at all")
    with pytest.raises(DataError, match="bad.csv.gz: cannot read"):
        read_table(bad)


def test_command_line_reads_them_and_locates_rows(tmp_path):
    path = write(tmp_path / "counts.csv", "n;m\n1;2\n\n3;-1\n")
    res = runner.invoke(cli.app, ["fit", str(path), "--family", "poisson"])
    assert res.exit_code == 2
    assert "counts.csv: the data must hold non-negative integer counts; -1 in column 'm', row 4" \
        in res.stderr
    path = write(tmp_path / "x.txt", "a|b\n1,5|2\n2,5|1\n3,5|0\n4|2\n")
    res = runner.invoke(cli.app, ["fit", str(path), "-k", "1", "--delimiter", "|", "--decimal", ",",
                                  "--json"])
    assert res.exit_code == 0, res.stderr
    assert '"feature_names": [\n    "a",\n    "b"\n  ]' in res.stdout
    res = runner.invoke(cli.app, ["fit", str(path), "--delimiter", ","])
    assert res.exit_code == 2 and "x.txt: row 2 has 2 cell(s) but the header has 1" in res.stderr
    res = runner.invoke(cli.app, ["fit", str(tmp_path)])
    assert res.exit_code == 2 and "is a directory" in res.stderr
    res = runner.invoke(cli.app, ["fit", str(path), "--decimal", ";"])
    assert res.exit_code == 2 and "decimal must be '.' or ','" in res.stderr
