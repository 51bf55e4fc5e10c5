"""A node's log files: <session_dir>/logs/ (nodes on one machine share the
filesystem), listed and read with an optional tail; and which files belong to
a worker."""

from __future__ import annotations

import collections
import os
from typing import Any

Row = dict[str, Any]


def list_log_files(session_dir: str, contains: str = "") -> list[Row]:
    directory = os.path.join(session_dir, "logs")
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return []
    files = []
    for name in names:
        if contains and contains not in name:
            continue
        try:
            st = os.stat(os.path.join(directory, name))
        except OSError:
            continue
        if os.path.isfile(os.path.join(directory, name)):
            files.append({"name": name, "size": st.st_size, "mtime_ms": int(st.st_mtime * 1000)})
    return files


def read_log_file(path: str, lines: int | None) -> tuple[str, bool]:
    """(text, truncated): the whole file, or its last `lines` lines."""
    with open(path, "rb") as f:
        if lines is None:
            data = f.read()
            return data.decode("utf-8", errors="replace"), False
        tail = collections.deque(f, maxlen=lines + 1)
    truncated = len(tail) > lines
    if truncated:
        tail.popleft()
    return b"".join(tail).decode("utf-8", errors="replace"), truncated


def worker_log_names(worker_id: str, pid: int | None) -> list[str]:
    """The log files a worker writes: its stdout, stderr and core-worker log."""
    names = [f"worker-{worker_id}.out", f"worker-{worker_id}.err"]
    return names + ([f"worker.{pid}.log"] if pid else [])


def log_path(session_dir: str, filename: str) -> str:
    """The path of a log file; ValueError for a name that is not a plain file name."""
    if not filename or "/" in filename or filename in (".", ".."):
        raise ValueError(f"{filename!r} is not a log file name")
    return os.path.join(session_dir, "logs", filename)
