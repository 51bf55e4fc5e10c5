"""Comet: a Python-first distributed runtime for tasks and actors.

This module only re-exports the public API; the code lives in submodules.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
