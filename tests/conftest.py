import os

os.environ.setdefault("MPLBACKEND", "Agg")
# lets scikit-learn's check_array_api_input run (with the numpy namespace) instead of
# skipping itself; must be set before scipy is first imported
os.environ.setdefault("SCIPY_ARRAY_API", "1")
