"""`python -m paperlib ...`: the same as the `paperlib` command."""

import sys

from paperlib.cli import main

sys.exit(main())
