"""The command line under hostile input and signals (issue 10, item 9).

Each case runs the real ``emkit`` in a subprocess: exit status 2 and one
readable line for input that needs too much memory, is nested too deeply or
holds numbers too large; no traceback for Ctrl-C while the modules load;
nothing saved from overflowing data; stale temporary files of a killed write
cleaned by the next one.  A DataFrame column that is not numeric is named.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import numpy as np
import pytest

import emkit
from emkit._atomic import atomic_write

TIMEOUT = 180  # generous: CI machines are shared


def emkit_cmd(*args):
    return [sys.executable, "-m", "emkit", *[str(a) for a in args]]


def run(*args):
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(emkit_cmd(*args), capture_output=True, text=True, env=env, timeout=TIMEOUT)


def one_line_error(res, code=2):
    assert res.returncode == code, res.stderr
    assert "Traceback" not in res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("emkit"), res.stderr
    return lines[0]


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "m.emkit"
    X = np.random.default_rng(0).normal(size=(100, 2))
    emkit.save(emkit.GaussianMixture(2, random_state=0).fit(X), path)
    return path


def test_sample_too_many_rows_is_a_memory_error_with_exit_2(model_file):
    # 10**17 rows need 800 PB: numpy cannot allocate them anywhere
    line = one_line_error(run("sample", model_file, "-n", 10**17))
    assert "not enough memory" in line and "fewer samples" in line


def test_sample_count_beyond_a_c_long_is_an_overflow_error_with_exit_2(model_file):
    line = one_line_error(run("sample", model_file, "-n", 10**22))
    assert "too large" in line


def test_deeply_nested_init_file_is_a_recursion_error_with_exit_2(tmp_path):
    data = tmp_path / "x.csv"
    data.write_text("x\n" + "\n".join(str(0.37 * i) for i in range(50)) + "\n")
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    line = one_line_error(run("fit", data, "--init", deep))
    assert "nested too deeply" in line


def test_overflowing_data_exits_2_and_saves_nothing(tmp_path):
    data = tmp_path / "big.csv"
    data.write_text("a,b\n" + "\n".join(f"{i},{2 * i}" for i in range(30)) + "\n1e300,1\n")
    out = tmp_path / "m.emkit"
    line = one_line_error(run("fit", data, "--out", out))
    assert "1e+300" in line and "divide" in line
    assert not out.exists()
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def _interrupt_while_loading(n_modules: int):
    """Start ``python -X importtime -m emkit --version`` and send SIGINT once ``n_modules``
    emkit modules have loaded (so the signal lands while the command line is starting)."""
    proc = subprocess.Popen([sys.executable, "-X", "importtime", *emkit_cmd("--version")[1:]],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = 0
    for line in proc.stderr:
        if line.startswith("import time:") and line.rsplit("|", 1)[-1].strip().startswith("emkit"):
            seen += 1
            if seen >= n_modules:
                proc.send_signal(signal.SIGINT)
                break
    rest, err = proc.communicate(timeout=TIMEOUT)
    return proc.returncode, rest, err


@pytest.mark.skipif(os.name == "nt", reason="POSIX signals")
@pytest.mark.parametrize("n_modules", [1, 5, 20])
def test_ctrl_c_while_the_cli_starts_exits_130_without_a_traceback(n_modules):
    code, out, err = _interrupt_while_loading(n_modules)
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    if code == 0:  # everything had loaded and the command finished before the signal
        assert out.startswith("emkit ")
    else:
        assert code == 130 and "emkit: interrupted" in err


def test_importing_emkit_leaves_sigint_alone():
    script = ("import signal, emkit; "
              "print(signal.getsignal(signal.SIGINT) is signal.default_int_handler)")
    # the child starts with SIGINT at its default even when this run inherited it ignored
    # (a shell's background job does): the check is about what importing emkit changes
    res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=TIMEOUT,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert res.stdout.strip() == "True", res.stderr


@pytest.mark.skipif(os.name == "nt", reason="SIGKILL")
def test_a_write_killed_with_sigkill_leaves_a_temporary_that_the_next_write_removes(tmp_path):
    target = tmp_path / "model.emkit"
    script = ("import sys, time; from emkit._atomic import atomic_write; "
              "atomic_write(sys.argv[1], lambda fh: (fh.write(b'partial'), fh.flush(), "
              "print('writing', flush=True), time.sleep(600)))")
    proc = subprocess.Popen([sys.executable, "-c", script, str(target)], stdout=subprocess.PIPE,
                            text=True)
    with proc.stdout:
        assert proc.stdout.readline().strip() == "writing"
        proc.kill()
        proc.wait(timeout=TIMEOUT)
    stale = [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]
    assert len(stale) == 1 and str(proc.pid) in stale[0] and not target.exists()
    # a writer that is still running keeps its temporary file
    live = tmp_path / f".model.emkit.{os.getppid()}.abcd1234.tmp"
    live.write_bytes(b"in progress")
    atomic_write(target, lambda fh: fh.write(b"complete"))
    assert target.read_bytes() == b"complete"
    left = sorted(p for p in os.listdir(tmp_path) if p.endswith(".tmp"))
    assert left == [live.name]
    # another file's temporaries are not touched
    other = tmp_path / f".other.emkit.{proc.pid}.zz.tmp"
    other.write_bytes(b"x")
    atomic_write(target, lambda fh: fh.write(b"again"))
    assert other.exists()


def test_dataframe_column_that_is_not_numeric_is_named():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"height": [1.0, 2.0, 3.0, 4.0],
                       "label": pd.Series(["1", "2", "x", "4"], dtype=object)})
    with pytest.raises(ValueError, match=r"column 'label' \(dtype object\) has a value that is "
                                         r"not a number: 'x' in the row labelled 2 \(row 3"):
        emkit.GaussianMixture(1).fit(df)
    fitted = emkit.GaussianMixture(1).fit(df.assign(label=[1.0, 2.0, 3.5, 4.0]))
    with pytest.raises(ValueError, match=r"column 'label'.*'x'"):
        fitted.predict(df)
    # a numeric object column converts as before
    ok = df.assign(label=pd.Series([1.0, 2.0, 2.5, 4.0], dtype=object))
    assert emkit.GaussianMixture(1).fit(ok).means_.shape == (1, 2)


def test_array_of_strings_names_the_cell():
    X = np.array([["1", "2"], ["3", "y"], ["5", "6"]], dtype=object)
    with pytest.raises(ValueError, match=r"X\[1, 1\] = 'y' \(row 1, column 1\) is not a number"):
        emkit.GaussianMixture(1).fit(X)
