"""Genre Signatures: a reproducible companion to arXiv:2411.14474.

Importing the package does nothing but define names; a notebook starts with
`config = start_notebook(profile, overrides)`.
"""

from paperlib.core.config import Config, load_profile
from paperlib.core.session import setup, start_notebook

__all__ = ["Config", "load_profile", "setup", "start_notebook"]
__version__ = "0.1.0"
