"""Text columns ("red", "green") read as category codes with their labels (io.read_labelled_table)."""

import gzip

import numpy as np
import pytest

from emkit.io import DataError, read_labelled_table, read_table

TABLE = """id;colour;size;smoker;x
a1;red;3;yes;1,5
a2;green;1;no;2,5

a3;;2;yes;NA
a4;blue;0;no;0,1
"""


def write(tmp_path, text, name="t.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_codes_are_sorted_labels_and_missing_is_nan(tmp_path):
    t = read_labelled_table(write(tmp_path, TABLE), drop_missing="keep")
    assert t.names == ["id", "colour", "size", "smoker", "x"]
    assert t.levels == {"id": ("a1", "a2", "a3", "a4"), "colour": ("blue", "green", "red"),
                        "smoker": ("no", "yes")}
    expected = [[0, 2, 3, 1, 1.5], [1, 1, 1, 0, 2.5], [2, np.nan, 2, 1, np.nan],
                [3, 0, 0, 0, 0.1]]
    np.testing.assert_array_equal(t.X, expected)
    # the codes index the labels: decoding gives back the cells as written
    for name, labels in t.levels.items():
        j = t.names.index(name)
        decoded = [None if np.isnan(c) else labels[int(c)] for c in t.X[:, j]]
        assert decoded == list(t.text[name])
    # the numeric reader still refuses text, naming the cell
    with pytest.raises(DataError, match=r"non-numeric value 'a1' in column 'id', row 2"):
        read_table(write(tmp_path, TABLE))


def test_fixed_levels_unseen_label_and_dropped_rows(tmp_path):
    path = write(tmp_path, TABLE)
    levels = {"colour": ["green", "red"]}
    with pytest.raises(DataError, match=r"t\.csv: category 'blue' in column 'colour', row 6 is "
                                        r"not one of the 2 the model was fitted with"):
        read_labelled_table(path, ["colour", "x"], levels=levels, drop_missing=True)
    t = read_labelled_table(path, ["smoker", "colour", "x"], levels=levels, unknown="missing",
                            drop_missing="keep")
    # blue is unseen, so missing
    np.testing.assert_array_equal(t.X, [[1, 1, 1.5], [0, 0, 2.5], [1, np.nan, np.nan],
                                        [0, np.nan, 0.1]])
    assert t.levels["colour"] == ("green", "red")
    # dropping rows drops their text cells too (a3: missing; a4: blue, unseen)
    with pytest.warns(UserWarning, match="dropped 2 of 4 rows"):
        t = read_labelled_table(path, ["id", "colour", "x"], levels=levels, unknown="missing",
                                drop_missing=True)
    assert list(t.text["id"]) == ["a1", "a2"]
    np.testing.assert_array_equal(t.X, [[0, 1, 1.5], [1, 0, 2.5]])
    with pytest.raises(DataError, match=r"column 'size' holds numbers, but the model knows it"):
        read_labelled_table(path, ["size"], levels={"size": ["s", "m"]})
    with pytest.raises(ValueError, match=r"levels\['colour'\] names the label 'red' twice"):
        read_labelled_table(path, levels={"colour": ["red", "red"]})
    with pytest.raises(ValueError, match="unknown must be one of"):
        read_labelled_table(path, unknown="drop")


def test_mixed_numbers_and_text_is_an_error(tmp_path):
    path = write(tmp_path, "age,sex\n31,f\n4o,m\n52,f\n")
    with pytest.raises(DataError, match=r"non-numeric value '4o' in column 'age', row 3, a "
                                        r"column of numbers \('31' in row 2\)"):
        read_labelled_table(path)


def test_gzip_and_stdin_text_columns(tmp_path, monkeypatch):
    path = tmp_path / "t.tsv.gz"
    with gzip.open(path, "wt") as fh:
        fh.write("g\tv\nb\t1\na\t2\nb\t3\n")
    t = read_labelled_table(path)
    np.testing.assert_array_equal(t.X, [[1, 1], [0, 2], [1, 3]])
    assert t.levels == {"g": ("a", "b")}

    import io as stdio
    import sys

    monkeypatch.setattr(sys, "stdin", stdio.TextIOWrapper(stdio.BytesIO(b"g,v\nz,1\ny,2\n")))
    t = read_labelled_table("-")
    np.testing.assert_array_equal(t.X, [[1, 1], [0, 2]])


def test_parquet_string_columns(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"c": ["red", None, "blue"], "x": [1.0, 2.0, 3.0]}), path)
    t = read_labelled_table(path, drop_missing="keep")
    np.testing.assert_array_equal(t.X, [[1, 1], [np.nan, 2], [0, 3]])
    assert t.levels == {"c": ("blue", "red")}
    with pytest.raises(DataError, match="column 'c' has type string, not a number"):
        read_table(path)
    with pytest.raises(DataError, match=r"category 'blue' in column 'c', row 3"):
        read_labelled_table(path, levels={"c": ["red"]}, drop_missing="keep")
