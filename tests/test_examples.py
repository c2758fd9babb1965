"""Every script in examples/ runs (with --small where it has a size) and prints the
reference numbers: docs reference cases 1-5 and 7, and independent computations here.
pytest's warnings-as-errors applies to the examples too: a warning fails its script."""

import contextlib
import io
import os
import re
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import norm, poisson

pytest.importorskip("matplotlib")

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SCRIPTS = {  # script -> extra arguments
    "quickstart": [],
    "tutorial_1d": ["--small"],
    "mstep_by_hand": ["--small"],
    "density_histogram": [],          # full size: the reference optimum is on the 17,000 rows
    "coins": [],
    "poisson_counts": ["--small"],
    "bernoulli_images": ["--small"],
    "out_of_core": ["--small"],
    "model_selection": ["--small"],
}


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    """Run every example as ``__main__`` in this process (one import of emkit and
    matplotlib for all) with its arguments, and collect what it prints."""
    out = tmp_path_factory.mktemp("examples")
    results = {}
    saved_argv, saved_cwd = sys.argv, os.getcwd()
    sys.path.insert(0, str(EXAMPLES))
    try:
        os.chdir(out)
        for name, extra in SCRIPTS.items():
            sys.argv = [f"{name}.py", *extra] + ([] if name == "quickstart" else ["--out", str(out)])
            buffer = io.StringIO()
            try:
                with contextlib.redirect_stdout(buffer):
                    runpy.run_path(str(EXAMPLES / f"{name}.py"), run_name="__main__")
                results[name] = (None, buffer.getvalue())
            except Exception as exc:  # noqa: BLE001 - reported by the test of that script
                results[name] = (exc, buffer.getvalue())
    finally:
        sys.argv = saved_argv
        os.chdir(saved_cwd)
        sys.path.remove(str(EXAMPLES))
        sys.modules.pop("_common", None)
    return out, results


def run(outputs, name):
    error, stdout = outputs[1][name]
    assert error is None, f"{name}.py failed: {type(error).__name__}: {error}"
    return stdout


def numbers(line):
    return [float(v) for v in re.findall(r"-?\d+\.\d+(?:e[-+]\d+)?", line)]


def test_every_example_is_tested():
    assert {p.stem for p in EXAMPLES.glob("*.py") if not p.stem.startswith("_")} == set(SCRIPTS)


def test_quickstart(outputs):
    text = run(outputs, "quickstart")
    assert "converged: True" in text


def test_tutorial_prints_every_plain_em_iteration(outputs):
    text = run(outputs, "tutorial_1d")
    rows = [numbers(line) for line in text.splitlines() if re.match(r"^\s+\d+\s+-\d", line)]
    assert len(rows) == 300                                   # --small: 300 iterations
    # plain EM written out here from means (0, 1), sds (2, 2), equal weights
    np.random.seed(0)
    x = np.concatenate([np.random.normal(0, 1, 50), np.random.normal(2, 1, 50)])
    w, mu, sd = np.array([0.5, 0.5]), np.array([0.0, 1.0]), np.array([2.0, 2.0])
    for row in rows[:50]:
        r = w * norm.pdf(x[:, None], mu, sd)
        r /= r.sum(1, keepdims=True)
        nk = r.sum(0)
        w, mu = nk / 100, (r * x[:, None]).sum(0) / nk
        sd = np.sqrt((r * (x[:, None] - mu) ** 2).sum(0) / nk)
        ll = np.log((w * norm.pdf(x[:, None], mu, sd)).sum(1)).sum()
        assert row[0] == pytest.approx(ll, abs=2e-5)   # 6 decimals printed; reg_covar=1e-6 moves it ~3e-6
        assert np.allclose(row[1:], np.r_[w, mu, sd], atol=1e-4)
    assert all(b[0] >= a[0] - 1e-6 for a, b in zip(rows, rows[1:]))   # a monotone climb
    final = next(line for line in text.splitlines() if line.startswith("means"))
    values = numbers(final.replace("[", " ").replace("]", " "))
    assert np.allclose(values[:2], [0.2218, 1.9945], atol=1e-3)        # reference case 1
    assert np.allclose(values[2:4], [1.1717, 0.8570], atol=1e-3)
    assert np.allclose(values[4:], [0.5273, 0.4727], atol=1e-3)
    squarem = next(line for line in text.splitlines() if line.startswith("SQUAREM"))
    assert numbers(squarem)[-1] == pytest.approx(-170.98120, abs=1e-5)
    assert (outputs[0] / "tutorial_1d_climb.png").stat().st_size > 10_000


def test_mstep_by_hand_equals_emkit(outputs):
    text = run(outputs, "mstep_by_hand")
    assert "rows sum to 1: True" in text
    diff = float(re.search(r"largest difference: (\S+)", text).group(1))
    assert diff < 1e-10
    assert float(re.search(r"labels: (\S+)", text).group(1)) > 0.95   # reference case 3


def test_density_over_histogram(outputs):
    text = run(outputs, "density_histogram")
    assert float(re.search(r"total log-likelihood (\S+)", text).group(1)) >= 634.50   # case 7
    assert float(re.search(r"exp\(score_samples\)\|: (\S+)", text).group(1)) < 1e-12  # case 2
    integral, mistake = numbers(re.search(r"integral of the density.*", text).group(0))
    assert integral == pytest.approx(1.0, abs=1e-4) and mistake == pytest.approx(1.0, abs=1e-4)
    gap, peak = numbers(re.search(r"largest gap.*", text).group(0))
    assert gap > 0.1 * peak                                   # the mistake is visibly wrong
    assert (outputs[0] / "density_histogram.png").stat().st_size > 10_000


def test_two_and_three_coins(outputs):
    text = run(outputs, "coins")
    assert numbers(re.search(r"iteration 10:.*", text).group(0)) == [0.7967, 0.5197]   # case 4
    assert numbers(re.search(r"converged:.*", text).group(0)) == [0.79679, 0.51958]
    assert numbers(re.search(r"P\(heads \| A\) = 0\.51.*", text).group(0)) == \
        [0.51392, 0.79337, 0.47725]                                                   # case 5
    assert numbers(re.search(r"total log-likelihood.*", text).group(0)) == [-9.79542]


def test_poisson_counts_equal_plain_em(outputs):
    text = run(outputs, "poisson_counts")
    rng = np.random.default_rng(0)
    busy = rng.random(300) < 0.3
    x = rng.poisson(np.where(busy, 9.0, 2.0)).astype(float)
    w, lam = np.array([0.5, 0.5]), np.array([1.0, 10.0])
    for _ in range(3000):
        r = w * poisson.pmf(x[:, None], lam)
        r /= r.sum(1, keepdims=True)
        w, lam = r.mean(0), (r * x[:, None]).sum(0) / r.sum(0)
    line = numbers(re.search(r"rates.*", text).group(0).replace("[", " ").replace("]", " "))
    assert np.allclose(line[:2], lam, atol=1.5e-3) and np.allclose(line[2:4], w, atol=1.5e-3)
    ll = np.log((w * poisson.pmf(x[:, None], lam)).sum(1)).sum()
    assert numbers(re.search(r"total log-likelihood.*", text).group(0))[0] == \
        pytest.approx(ll, abs=1e-3)


def test_bernoulli_images_find_the_digits(outputs):
    text = run(outputs, "bernoulli_images")
    assert float(re.search(r"against the digits: (\S+)", text).group(1)) > 0.9
    assert sorted(re.findall(r"mostly the digit (\d)", text)) == ["0", "1", "7"]
    assert (outputs[0] / "bernoulli_heatmap.png").stat().st_size > 10_000


def test_out_of_core_equals_in_memory(outputs):
    text = run(outputs, "out_of_core")
    mapped = float(re.search(r"memory-mapped:.*log-likelihood (\S+)", text).group(1))
    memory = float(re.search(r"in memory:.*log-likelihood (\S+)", text).group(1))
    assert mapped == memory
    assert float(re.search(r"of the means: (\S+)", text).group(1)) < 1e-9


def test_model_selection_chooses_tied_three(outputs):
    text = run(outputs, "model_selection")
    assert "chosen: tied covariance, 3 components, BIC 2314.3, log-likelihood -1126.32" in text
    assert (outputs[0] / "model_selection_bic.png").stat().st_size > 10_000
