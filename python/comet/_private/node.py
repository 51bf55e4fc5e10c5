"""Starting and stopping a node's daemons (gcs_server, raylet) for comet.init().

A session directory ``<temp_dir>/session_<time>_<pid>`` holds the logs and
sockets; ``<temp_dir>/session_latest`` points at the newest session.
"""

from __future__ import annotations

import datetime
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

from comet._private.binaries import binary_path

DEFAULT_TEMP_DIR = "/tmp/comet"
START_TIMEOUT_S = 60.0


@dataclass
class NodeOptions:
    """Resources and settings of the node that ``init()`` starts."""

    num_cpus: int | None = None
    num_gpus: int | None = None
    resources: dict[str, float] | None = None
    memory: int | None = None
    object_store_memory: int | None = None
    temp_dir: str = DEFAULT_TEMP_DIR
    system_config: dict[str, object] | None = None
    node_ip: str = "127.0.0.1"
    prestart_workers: int | None = None


def _config_flag(system_config: dict[str, object] | None) -> list[str]:
    if not system_config:
        return []
    items = []
    for name, value in system_config.items():
        if isinstance(value, bool):
            value = "true" if value else "false"
        items.append(f"{name}={value}")
    return ["--config=" + ";".join(items)]


class DaemonProcess:
    """A daemon started by this process, ready once it printed its ready line."""

    def __init__(self, name: str, args: list[str], log_dir: str, ready_prefix: str) -> None:
        self.name = name
        self._stderr_path = os.path.join(log_dir, f"{name}.err")
        self._stderr = open(self._stderr_path, "ab")
        self.proc = subprocess.Popen(
            args,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.ready_line = self._wait_ready(ready_prefix)

    def _wait_ready(self, prefix: str) -> str:
        assert self.proc.stdout is not None
        deadline = time.monotonic() + START_TIMEOUT_S
        fd = self.proc.stdout.fileno()
        buf = b""
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.1)
            if ready:
                chunk = os.read(fd, 4096)
                if not chunk:
                    break
                buf += chunk
                for line in buf.decode(errors="replace").splitlines():
                    if line.startswith(prefix):
                        return line
            elif self.proc.poll() is not None:
                break
        self.stop()
        with open(self._stderr_path, "rb") as f:
            err = f.read().decode(errors="replace").strip()
        raise RuntimeError(f"{self.name} failed to start: {err[-2000:] or 'no output'}")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout_s: float = 10.0) -> None:
        """SIGTERM, then SIGKILL after `timeout_s`."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._stderr.close()


def _new_session_dir(temp_dir: str) -> str:
    stamp = datetime.datetime.now().strftime("%Y-%m-%d_%H-%M-%S_%f")
    session = os.path.join(temp_dir, f"session_{stamp}_{os.getpid()}")
    os.makedirs(os.path.join(session, "logs"), exist_ok=True)
    # Unix socket paths are limited to 107 bytes: the sockets live in a short
    # directory of their own, linked from the session.
    sockets = tempfile.mkdtemp(prefix="comet-sock-", dir="/tmp")
    os.symlink(sockets, os.path.join(session, "sockets"))
    os.makedirs(os.path.join(session, "spill"), exist_ok=True)
    os.chmod(session, 0o700)
    latest = os.path.join(temp_dir, "session_latest")
    tmp_link = latest + f".{os.getpid()}"
    os.symlink(session, tmp_link)
    os.replace(tmp_link, latest)
    return session


class LocalNode:
    """A GCS and a raylet started by this driver, stopped by :meth:`stop`."""

    def __init__(self, options: NodeOptions) -> None:
        os.makedirs(options.temp_dir, exist_ok=True)
        self.session_dir = _new_session_dir(options.temp_dir)
        self.log_dir = os.path.join(self.session_dir, "logs")
        self.sockets_dir = os.path.realpath(os.path.join(self.session_dir, "sockets"))
        self.plasma_socket = os.path.join(self.sockets_dir, "plasma_store")
        config = _config_flag(options.system_config)
        self.gcs = DaemonProcess(
            "gcs_server",
            [
                binary_path("gcs_server"),
                "--port=0",
                f"--host={options.node_ip}",
                f"--log-dir={self.log_dir}",
                f"--session-dir={self.session_dir}",
                *config,
            ],
            self.log_dir,
            "gcs_server ready on ",
        )
        self.gcs_address = self.gcs.ready_line.split()[-1]
        try:
            self.raylet = DaemonProcess("raylet", self._raylet_args(options, config), self.log_dir,
                                        "raylet ready on ")
        except BaseException:
            self.gcs.stop()
            raise
        with open(os.path.join(self.session_dir, "gcs_address"), "w") as f:
            f.write(self.gcs_address)
        fields = self.raylet.ready_line.split()
        self.raylet_address = fields[3]
        self.node_id = bytes.fromhex(fields[4].split("=", 1)[1])
        self.node_ip = options.node_ip

    def _raylet_args(self, options: NodeOptions, config: list[str]) -> list[str]:
        args = [
            binary_path("raylet"),
            f"--gcs-address={self.gcs_address}",
            f"--host={options.node_ip}",
            "--port=0",
            f"--plasma-socket={self.plasma_socket}",
            f"--session-dir={self.session_dir}",
            f"--log-dir={self.log_dir}",
            f"--python={sys.executable}",
            *config,
        ]
        if options.num_cpus is not None:
            args.append(f"--num-cpus={options.num_cpus}")
        if options.num_gpus is not None:
            args.append(f"--num-gpus={options.num_gpus}")
        if options.memory is not None:
            args.append(f"--memory={int(options.memory)}")
        if options.object_store_memory is not None:
            args.append(f"--object-store-memory={int(options.object_store_memory)}")
        if options.resources:
            args.append("--resources=" + ",".join(f"{k}:{v}" for k, v in options.resources.items()))
        if options.prestart_workers is not None:
            args.append(f"--prestart-workers={options.prestart_workers}")
        return args

    def stop(self) -> None:
        """Stops the raylet (which stops its workers), then the GCS."""
        self.raylet.stop()
        self.gcs.stop()
        shutil.rmtree(self.sockets_dir, ignore_errors=True)
        shutil.rmtree(os.path.join(self.session_dir, "spill"), ignore_errors=True)


def find_gcs_address(address: str, temp_dir: str) -> str:
    """Resolves init(address=...): "auto" means the newest session under temp_dir
    (or the COMET_ADDRESS environment variable)."""
    if address != "auto":
        return address.removeprefix("comet://").removeprefix("ray://")
    env = os.environ.get("COMET_ADDRESS") or os.environ.get("RAY_ADDRESS")
    if env:
        return env
    path = os.path.join(temp_dir, "session_latest", "gcs_address")
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        raise ConnectionError(
            f"Could not find a running Comet cluster (no {path}); start one with "
            "comet.init() in another process or `comet start --head`.") from None
