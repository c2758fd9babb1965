"""The examples in the public docstrings run and print what they show.

Every public name of :mod:`emkit` (the estimators the registry builds included)
is searched for doctest examples; each example's printed output must match.
Every estimator class must carry at least one example."""

import doctest

import numpy as np
import pytest

import emkit

PUBLIC = sorted(name for name in dir(emkit) if not name.startswith("_"))
ESTIMATORS = [name for name in PUBLIC if name.endswith("Mixture")]
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _doctests(name):
    obj = getattr(emkit, name)
    found = doctest.DocTestFinder(recurse=False).find(obj, f"emkit.{name}", globs={})
    return [test for test in found if test.examples]


@pytest.mark.parametrize("name", [n for n in PUBLIC if _doctests(n)])
def test_docstring_examples_print_what_they_show(name):
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    report = []
    with np.printoptions(legacy=False):
        for test in _doctests(name):
            runner.run(test, out=report.append)
    result = runner.summarize(verbose=False)
    assert result.attempted > 0
    assert result.failed == 0, "".join(report)


@pytest.mark.parametrize("name", ESTIMATORS)
def test_every_estimator_has_an_example(name):
    assert _doctests(name), f"emkit.{name} has no example in its docstring"
