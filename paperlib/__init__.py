"""Genre Signatures: a reproducible companion to arXiv:2411.14474.

Importing the package does nothing but define names; a notebook starts with `setup(seed)`.
"""

from paperlib.core.config import Config, load_profile
from paperlib.core.session import setup

__all__ = ["Config", "load_profile", "setup"]
__version__ = "0.1.0"
