"""Session directories: where a node's logs, sockets and addresses live.

``<temp_dir>/session_<time>_<pid>`` holds ``logs/``, ``spill/``, ``sockets``
(a link to a short directory under /tmp, for the 107-byte limit of Unix
socket paths), ``gcs_address`` (the cluster the node belongs to) and
``session.json`` (what ``comet start`` recorded: node id, dashboard URL...).
``<temp_dir>/session_latest`` points at the newest session; it is how
``init(address="auto")`` finds a running cluster.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import tempfile
from typing import Any

DEFAULT_TEMP_DIR = "/tmp/comet"
SESSION_PREFIX = "session_"
LATEST = "session_latest"
# The GCS's internal KV holds the session's facts for processes on any node:
# "session_dir" (the GCS writes it) and "dashboard_url" (`comet start`).
KV_NAMESPACE = "session"
KV_DASHBOARD_URL = b"dashboard_url"
_SOCKETS_PREFIX = "comet-sock-"


def new_session_dir(temp_dir: str) -> str:
    """Creates a session directory under temp_dir (see :func:`set_latest`)."""
    os.makedirs(temp_dir, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y-%m-%d_%H-%M-%S_%f")
    session = os.path.join(temp_dir, f"{SESSION_PREFIX}{stamp}_{os.getpid()}")
    os.makedirs(os.path.join(session, "logs"), exist_ok=True)
    sockets = tempfile.mkdtemp(prefix=_SOCKETS_PREFIX, dir="/tmp")
    os.symlink(sockets, os.path.join(session, "sockets"))
    os.makedirs(os.path.join(session, "spill"), exist_ok=True)
    os.chmod(session, 0o700)
    return session


def set_latest(session_dir: str, gcs_address: str) -> None:
    """Records the cluster's GCS address in the session and points
    <temp_dir>/session_latest at it, once its daemons run."""
    _write_atomic(os.path.join(session_dir, "gcs_address"), gcs_address)
    latest = os.path.join(os.path.dirname(session_dir), LATEST)
    tmp_link = latest + f".{os.getpid()}"
    os.symlink(session_dir, tmp_link)
    os.replace(tmp_link, latest)


def sockets_dir(session_dir: str) -> str:
    return os.path.realpath(os.path.join(session_dir, "sockets"))


def remove_runtime_files(session_dir: str) -> None:
    """Removes what a stopped session no longer needs (sockets, spilled objects);
    the logs stay."""
    sockets = sockets_dir(session_dir)
    if os.path.basename(sockets).startswith(_SOCKETS_PREFIX):
        shutil.rmtree(sockets, ignore_errors=True)
    shutil.rmtree(os.path.join(session_dir, "spill"), ignore_errors=True)


def write_info(session_dir: str, **fields: Any) -> None:
    """Merges `fields` into <session>/session.json."""
    info = read_info(session_dir)
    info.update(fields)
    _write_atomic(os.path.join(session_dir, "session.json"), json.dumps(info, indent=1))


def read_info(session_dir: str) -> dict[str, Any]:
    try:
        with open(os.path.join(session_dir, "session.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def _write_atomic(path: str, text: str) -> None:
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def find_gcs_address(address: str, temp_dir: str) -> str:
    """Resolves init(address=...): "auto" means the COMET_ADDRESS environment
    variable, else the newest session under temp_dir."""
    if address != "auto":
        return address.removeprefix("comet://").removeprefix("ray://")
    env = os.environ.get("COMET_ADDRESS") or os.environ.get("RAY_ADDRESS")
    if env:
        return env
    path = os.path.join(temp_dir, LATEST, "gcs_address")
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        raise ConnectionError(
            f"Could not find a running Comet cluster (no {path}); start one with "
            "comet.init() in another process or `comet start --head`.") from None
