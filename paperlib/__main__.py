"""`python -m paperlib ...`: the same as the `paperlib` command."""

import sys

from paperlib.cli import main

if __name__ == "__main__":  # not when a worker process (Dask, joblib) imports the main module again
    sys.exit(main())
