"""emkit._atomic: the one writer behind model files, plots and command outputs."""

import os

import numpy as np
import pytest

import emkit
from emkit._atomic import atomic_write


def test_write_replaces_and_keeps_mode(tmp_path):
    path = tmp_path / "out.txt"
    path.write_bytes(b"old")
    os.chmod(path, 0o640)
    atomic_write(path, lambda fh: fh.write(b"new"))
    assert path.read_bytes() == b"new"
    assert os.stat(path).st_mode & 0o777 == 0o640
    assert os.listdir(tmp_path) == ["out.txt"]


def test_failure_in_writer_leaves_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "out.txt"
    path.write_bytes(b"old")

    def bad(fh):
        fh.write(b"half")
        raise RuntimeError("writer failed")

    with pytest.raises(RuntimeError, match="writer failed"):
        atomic_write(path, bad)
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["out.txt"]


def test_plot_png_is_fsynced_and_failure_leaves_nothing(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    from emkit.plotting import plot_auto

    X = np.random.default_rng(0).normal(size=(60, 1))
    model = emkit.GaussianMixture(2, random_state=0).fit(X)
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd)))
    plot_auto(model, X, tmp_path / "a.png")
    assert synced and (tmp_path / "a.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    def boom(*args):
        raise OSError("disk on fire")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk on fire"):
        plot_auto(model, X, tmp_path / "b.png")
    assert sorted(os.listdir(tmp_path)) == ["a.png"]
