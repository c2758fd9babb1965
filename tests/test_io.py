"""emkit.io.read_table: every format, column selection and every error message."""

from __future__ import annotations

import io
import sys

import numpy as np
import pytest

from emkit.io import DataError, DroppedRowsWarning, read_table


def write(tmp_path, name, text, encoding="utf-8"):
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


@pytest.fixture
def matrix():
    rng = np.random.default_rng(42)
    return rng.normal(size=(57, 3)) * np.array([1.0, 1e-3, 1e4])


# ------------------------------------------------------------------ CSV
def test_csv_header_exact_values(tmp_path, matrix):
    p = tmp_path / "data.csv"
    np.savetxt(p, matrix, delimiter=",", header="a,b,c", comments="", fmt="%.17g")
    X, names = read_table(p)
    assert names == ["a", "b", "c"]
    assert X.dtype == np.float64 and X.flags.c_contiguous
    np.testing.assert_array_equal(X, matrix)  # %.17g round-trips exactly


def test_csv_without_header_gets_index_names(tmp_path, matrix):
    p = tmp_path / "data.csv"
    np.savetxt(p, matrix, delimiter=",", fmt="%.17g")
    X, names = read_table(str(p))
    assert names == ["0", "1", "2"]
    np.testing.assert_array_equal(X, matrix)
    # digit strings and integers are indices; negative ones count from the end
    X2, names2 = read_table(p, columns=["2", 0])
    assert names2 == ["2", "0"]
    np.testing.assert_array_equal(X2, matrix[:, [2, 0]])
    X3, names3 = read_table(p, columns=[-1])
    assert names3 == ["2"]
    np.testing.assert_array_equal(X3, matrix[:, [2]])


def test_csv_columns_by_name_reorders_and_ignores_other_columns(tmp_path):
    p = write(tmp_path, "iris.csv", "sl,sw,species\n5.1,3.5,setosa\n7.0,3.2,versicolor\n")
    X, names = read_table(p, columns=["sw", "sl"])
    assert names == ["sw", "sl"]
    np.testing.assert_array_equal(X, [[3.5, 5.1], [3.2, 7.0]])
    X, names = read_table(p, columns="sl")
    assert names == ["sl"] and X.shape == (2, 1)


def test_csv_quoted_header_crlf_bom_blank_lines_and_spaces(tmp_path):
    text = '\ufeff"x","y z"\r\n1, 2.5\r\n\r\n-3e2 ,"4"\r\n'
    X, names = read_table(write(tmp_path, "q.csv", text))
    assert names == ["x", "y z"]
    np.testing.assert_array_equal(X, [[1.0, 2.5], [-300.0, 4.0]])


def test_tsv(tmp_path):
    X, names = read_table(write(tmp_path, "t.tsv", "a\tb\n1\t2\n3\t4\n"))
    assert names == ["a", "b"]
    np.testing.assert_array_equal(X, [[1, 2], [3, 4]])


def test_single_column_csv_is_2d(tmp_path):
    X, names = read_table(write(tmp_path, "one.csv", "v\n1\n2\n3\n"))
    assert X.shape == (3, 1) and names == ["v"]


def test_stdin_text(monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("u,v\n1,2\n3,4\n"))
    X, names = read_table("-")
    assert names == ["u", "v"]
    np.testing.assert_array_equal(X, [[1, 2], [3, 4]])


def test_stdin_binary_buffer_and_errors_name_stdin(monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"1,2\n3,oops\n")))
    with pytest.raises(DataError, match=r"^<stdin>: non-numeric value 'oops' in column '1', row 2$"):
        read_table("-")


def test_large_csv_fast_path(tmp_path):
    rng = np.random.default_rng(0)
    M = np.round(rng.normal(size=(200_000, 4)), 6)
    p = tmp_path / "big.csv"
    np.savetxt(p, M, delimiter=",", header="a,b,c,d", comments="", fmt="%.6f")
    X, _ = read_table(p)
    np.testing.assert_array_equal(X, M)


# ------------------------------------------------------------ CSV errors
def test_missing_file(tmp_path):
    with pytest.raises(DataError, match=r"nope\.csv: no such file"):
        read_table(tmp_path / "nope.csv")


def test_directory(tmp_path):
    d = tmp_path / "dir.csv"
    d.mkdir()
    with pytest.raises(DataError, match="is a directory"):
        read_table(d)


@pytest.mark.parametrize("text", ["", "\n\n  \n"])
def test_empty_file(tmp_path, text):
    with pytest.raises(DataError, match=r"e\.csv: file is empty"):
        read_table(write(tmp_path, "e.csv", text))


def test_header_only(tmp_path):
    with pytest.raises(DataError, match=r"h\.csv: has a header row \('a', 'b'\) but no data rows"):
        read_table(write(tmp_path, "h.csv", "a,b\n\n"))


def test_non_numeric_cell_names_column_row_and_value(tmp_path):
    text = "a,b,c\n1,2,3\n\n4,5,6\n7,eight,9\n"  # the bad cell is on line 5 of the file
    with pytest.raises(DataError, match=r"^.*bad\.csv: non-numeric value 'eight' in column 'b', row 5$"):
        read_table(write(tmp_path, "bad.csv", text))
    # not selected, not a problem
    X, _ = read_table(tmp_path / "bad.csv", columns=["a", "c"])
    np.testing.assert_array_equal(X, [[1, 3], [4, 6], [7, 9]])


def test_non_numeric_cell_after_missing_cells(tmp_path):
    text = "a,b\n1,\n2,3\n4,x\n"
    with pytest.raises(DataError, match=r"non-numeric value 'x' in column 'b', row 4"):
        read_table(write(tmp_path, "m.csv", text))


def test_ragged_row(tmp_path):
    with pytest.raises(DataError, match=r"r\.csv: row 3 has 3 cell\(s\) but the header has 2"):
        read_table(write(tmp_path, "r.csv", "a,b\n1,2\n3,4,5\n"))
    with pytest.raises(DataError, match=r"row 2 has 1 cell\(s\) but the first row has 2"):
        read_table(write(tmp_path, "r2.csv", "1,2\n3\n"))


def test_header_wider_than_rows(tmp_path):
    with pytest.raises(DataError, match=r"row 2 has 2 cell\(s\) but the header has 3"):
        read_table(write(tmp_path, "w.csv", "a,b,c\n1,2\n3,4\n"))


def test_unknown_column_lists_columns(tmp_path):
    p = write(tmp_path, "c.csv", "alpha,beta\n1,2\n")
    with pytest.raises(DataError, match=r"no column named 'gamma'; columns are 'alpha', 'beta'"):
        read_table(p, columns=["alpha", "gamma"])
    with pytest.raises(DataError, match=r"column index 5 is out of range for 2 column\(s\)"):
        read_table(p, columns=[5])


def test_unknown_extension_lists_supported(tmp_path):
    p = write(tmp_path, "data.xlsx", "whatever")
    with pytest.raises(DataError, match=r"unsupported file type '\.xlsx'; supported: \.csv, .*\.npy"):
        read_table(p)


def test_nan_and_inf_cells_counted_and_located(tmp_path):
    text = "a,b\n1,2\n3,nan\n,5\n6,inf\n7,8\n"
    p = write(tmp_path, "n.csv", text)
    with pytest.raises(
        DataError,
        match=r"n\.csv: 3 cell\(s\) in 3 row\(s\) are missing, NaN or infinite; the first is in "
        r"column 'b', row 3 \(missing or NaN\); drop such rows with drop_missing=True",
    ):
        read_table(p)
    with pytest.raises(DataError, match=r"1 cell\(s\) in 1 row\(s\).*column 'a', row 4 \(missing or NaN\)"):
        read_table(p, columns=["a"])
    p = write(tmp_path, "i.csv", "a,b\n1,2\n3,-Infinity\n")
    with pytest.raises(DataError, match=r"1 cell\(s\) in 1 row\(s\).*column 'b', row 3 \(-inf\)"):
        read_table(p)


def test_drop_missing_warns_and_drops(tmp_path):
    text = "a,b\n1,2\n3,NA\n\n,5\n6,-inf\n7,8\n"
    p = write(tmp_path, "n.csv", text)
    with pytest.warns(DroppedRowsWarning, match=r"n\.csv: dropped 3 of 5 rows"):
        X, names = read_table(p, drop_missing=True)
    np.testing.assert_array_equal(X, [[1, 2], [7, 8]])
    # only the kept columns count
    with pytest.warns(DroppedRowsWarning, match="dropped 1 of 5 rows"):
        X, _ = read_table(p, columns=["a"], drop_missing=True)
    np.testing.assert_array_equal(X[:, 0], [1, 3, 6, 7])


def test_drop_missing_nothing_left(tmp_path):
    with pytest.raises(DataError, match="no rows left"):
        read_table(write(tmp_path, "n.csv", "a\nnan\n\n"), drop_missing=True)


# ---------------------------------------------------------------- .npy
def test_npy_2d_and_1d(tmp_path, matrix):
    np.save(tmp_path / "m.npy", matrix.astype(np.float32))
    X, names = read_table(tmp_path / "m.npy", columns=[1])
    assert names == ["1"]
    np.testing.assert_array_equal(X[:, 0], matrix[:, 1].astype(np.float32).astype(np.float64))
    np.save(tmp_path / "v.npy", np.arange(5))
    X, names = read_table(tmp_path / "v.npy")
    assert X.shape == (5, 1) and names == ["0"] and X.dtype == np.float64


def test_npy_structured_uses_field_names(tmp_path):
    arr = np.array([(1, 2.5), (3, 4.5)], dtype=[("n", "i4"), ("x", "f8")])
    np.save(tmp_path / "s.npy", arr)
    X, names = read_table(tmp_path / "s.npy", columns=["x"])
    assert names == ["x"]
    np.testing.assert_array_equal(X, [[2.5], [4.5]])


def test_npy_object_array_refused(tmp_path):
    np.save(tmp_path / "o.npy", np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    with pytest.raises(DataError, match=r"o\.npy: holds an object array, which cannot be loaded without pickle"):
        read_table(tmp_path / "o.npy")


def test_npy_bad_dtype_and_shape(tmp_path):
    np.save(tmp_path / "s.npy", np.array(["a", "b"]))
    with pytest.raises(DataError, match="string dtype"):
        read_table(tmp_path / "s.npy")
    np.save(tmp_path / "c.npy", np.zeros((2, 2, 2)))
    with pytest.raises(DataError, match="3 dimensions; expected 1 or 2"):
        read_table(tmp_path / "c.npy")
    (tmp_path / "junk.npy").write_bytes(b"not numpy at all")
    with pytest.raises(DataError, match=r"junk\.npy: not a readable \.npy file"):
        read_table(tmp_path / "junk.npy")


def test_npy_nan_located_by_data_row(tmp_path):
    M = np.ones((4, 2))
    M[2, 1] = np.nan
    M[3, 0] = np.inf
    np.save(tmp_path / "n.npy", M)
    with pytest.raises(DataError, match=r"2 cell\(s\) in 2 row\(s\).*column '1', row 3"):
        read_table(tmp_path / "n.npy")
    with pytest.warns(DroppedRowsWarning, match="dropped 2 of 4"):
        X, _ = read_table(tmp_path / "n.npy", drop_missing=True)
    assert X.shape == (2, 2)


# ------------------------------------------------------------- Parquet
def test_parquet(tmp_path, matrix):
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({
        "x": matrix[:, 0], "n": np.arange(len(matrix), dtype=np.int32),
        "label": [f"r{i}" for i in range(len(matrix))], "flag": np.arange(len(matrix)) % 2 == 0,
    })
    p = tmp_path / "d.parquet"
    pq.write_table(table, p)
    X, names = read_table(p, columns=["n", "x", "flag"])
    assert names == ["n", "x", "flag"]
    np.testing.assert_array_equal(X[:, 0], np.arange(len(matrix)))
    np.testing.assert_array_equal(X[:, 1], matrix[:, 0])
    np.testing.assert_array_equal(X[:, 2], np.arange(len(matrix)) % 2 == 0)
    with pytest.raises(DataError, match=r"d\.parquet: column 'label' has type string, not a number"):
        read_table(p)
    with pytest.raises(DataError, match=r"no column named 'y'; columns are 'x', 'n', 'label', 'flag'"):
        read_table(p, columns=["y"])


def test_parquet_nulls_are_missing(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    p = tmp_path / "n.pq"
    pq.write_table(pa.table({"a": [1.0, None, 3.0], "b": [1, 2, None]}), p)
    with pytest.raises(DataError, match=r"2 cell\(s\) in 2 row\(s\).*column 'a', row 2"):
        read_table(p)
    with pytest.warns(DroppedRowsWarning, match="dropped 2 of 3"):
        X, _ = read_table(p, drop_missing=True)
    np.testing.assert_array_equal(X, [[1.0, 1.0]])


def test_parquet_corrupt(tmp_path):
    import pyarrow  # noqa: F401  (a real dependency of these tests)
    p = write(tmp_path, "bad.parquet", "this is not parquet")
    with pytest.raises(DataError, match=r"bad\.parquet: not a readable Parquet file"):
        read_table(p)


def test_whitespace_only_lines_are_blank(tmp_path):
    X, names = read_table(write(tmp_path, "ws.csv", "a,b\n1,2\n   \n3,4\n"))
    assert names == ["a", "b"]
    np.testing.assert_array_equal(X, [[1, 2], [3, 4]])
