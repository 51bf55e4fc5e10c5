"""Locates the C++ binaries installed with the package (comet/core/bin)."""

from __future__ import annotations

import os
from pathlib import Path

BIN_DIR = Path(__file__).resolve().parent.parent / "core" / "bin"


def binary_path(name: str) -> str:
    """Returns the absolute path of the executable `name` in comet/core/bin.

    Raises ValueError for a name that is not a plain file name, FileNotFoundError
    when the binary is not installed, PermissionError when it is not executable.
    """
    if not name or name in (".", "..") or "/" in name or os.sep in name:
        raise ValueError(f"binary name must be a plain file name, got {name!r}")
    path = BIN_DIR / name
    if not path.is_file():
        raise FileNotFoundError(
            f"Comet binary {name!r} not found at {path}. The package was installed "
            "without its C++ build: run ./build.sh from the Comet repository."
        )
    if not os.access(path, os.X_OK):
        raise PermissionError(f"Comet binary {path} is not executable")
    return str(path)
