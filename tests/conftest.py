import os

os.environ.setdefault("MPLBACKEND", "Agg")
# lets scikit-learn's check_array_api_input run (with the numpy namespace) instead of
# skipping itself; must be set before scipy is first imported
os.environ.setdefault("SCIPY_ARRAY_API", "1")

from hypothesis import settings  # noqa: E402

# Property tests draw the same examples on every run, so a green suite stays green in CI;
# run with EMKIT_HYPOTHESIS_RANDOM=1 to search fresh examples.
settings.register_profile("emkit", derandomize=not os.environ.get("EMKIT_HYPOTHESIS_RANDOM"))
settings.load_profile("emkit")
