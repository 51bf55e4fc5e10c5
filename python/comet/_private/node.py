"""Starting a node's daemons (gcs_server, raylet): for comet.init() (LocalNode)
and for ``comet start`` (start_gcs, start_raylet).

Each daemon gets ``--session-dir``, which is also how ``comet stop`` finds it.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from dataclasses import dataclass

from comet._private import auth, session
from comet._private.binaries import binary_path
from comet._private.daemon import DaemonProcess
from comet._private.session import DEFAULT_TEMP_DIR

logger = logging.getLogger("comet")

GCS_READY = "gcs_server ready on "
RAYLET_READY = "raylet ready on "


@dataclass
class NodeOptions:
    """Resources and settings of a node (its raylet)."""

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


def start_gcs(session_dir: str, host: str, port: int = 0,
              system_config: dict[str, object] | None = None, storage: str = "memory",
              supervise: bool = False) -> tuple[DaemonProcess, str]:
    """Starts gcs_server; returns it and its "HOST:PORT". `storage` is its
    --storage (memory, sqlite:PATH or redis://HOST:PORT[/NS]); with
    `supervise`, the returned process is a supervisor that starts the GCS
    again on the same port whenever it dies."""
    log_dir = os.path.join(session_dir, "logs")
    gcs = DaemonProcess(
        "gcs_server",
        [binary_path("gcs_server"), f"--port={port}", f"--host={host}",
         f"--log-dir={log_dir}", f"--session-dir={session_dir}", f"--storage={storage}",
         *(["--supervise"] if supervise else []), *_config_flag(system_config)],
        log_dir, GCS_READY)
    return gcs, gcs.ready_line.split()[-1]


@dataclass
class RayletInfo:
    """What a started raylet reported in its ready line."""

    process: DaemonProcess
    address: str
    node_id: bytes
    plasma_socket: str
    metrics_port: int  # Prometheus /metrics on the node's address


def start_raylet(session_dir: str, gcs_address: str, options: NodeOptions) -> RayletInfo:
    """Starts a raylet that registers with the GCS at gcs_address."""
    log_dir = os.path.join(session_dir, "logs")
    plasma_socket = os.path.join(session.sockets_dir(session_dir), "plasma_store")
    raylet = DaemonProcess("raylet", _raylet_args(session_dir, gcs_address, plasma_socket,
                                                  options),
                           log_dir, RAYLET_READY)
    # "raylet ready on HOST:PORT node_id=HEX metrics_port=N"
    fields = raylet.ready_line.split()
    named = dict(f.split("=", 1) for f in fields[4:] if "=" in f)
    return RayletInfo(raylet, fields[3], bytes.fromhex(named["node_id"]), plasma_socket,
                      int(named.get("metrics_port", 0)))


def _raylet_args(session_dir: str, gcs_address: str, plasma_socket: str,
                 options: NodeOptions) -> list[str]:
    args = [
        binary_path("raylet"),
        f"--gcs-address={gcs_address}",
        f"--host={options.node_ip}",
        "--port=0",
        f"--plasma-socket={plasma_socket}",
        f"--session-dir={session_dir}",
        f"--log-dir={os.path.join(session_dir, 'logs')}",
        f"--python={sys.executable}",
        *_config_flag(options.system_config),
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


DASHBOARD_START_TIMEOUT_S = 20.0


DASHBOARD_READY_PREFIX = "dashboard ready on"


def spawn_dashboard(session_dir: str, gcs_address: str, host: str, port: int) -> DaemonProcess:
    """Starts `python -m comet.dashboard` without waiting for it."""
    return DaemonProcess(
        "dashboard",
        [sys.executable, "-m", "comet.dashboard", "--gcs-address", gcs_address,
         "--host", host, "--port", str(port), "--session-dir", session_dir,
         "--metrics-auth", os.environ.get("COMET_METRICS_AUTH", "token")],
        os.path.join(session_dir, "logs"), ready_prefix=None)


def start_dashboard(session_dir: str, gcs_address: str, host: str,
                    port: int) -> tuple[DaemonProcess | None, str]:
    """Starts the dashboard and waits for it; returns it and its URL (None and
    an explanation when it did not come up)."""
    from comet._private.daemon import DaemonStartError

    dash = spawn_dashboard(session_dir, gcs_address, host, port)
    try:
        ready = dash.wait_ready(DASHBOARD_READY_PREFIX, DASHBOARD_START_TIMEOUT_S)
    except DaemonStartError as e:
        return None, str(e)
    return dash, ready.split()[-1]


def publish_dashboard_url(gcs_address: str, url: str) -> None:
    """Where drivers and workers on any node find the dashboard (runtime
    context, init())."""
    from comet import _raylet

    _raylet.StateClient(gcs_address).kv_put(session.KV_NAMESPACE, session.KV_DASHBOARD_URL,
                                            url.encode())


class LocalNode:
    """A GCS and a raylet started by this driver, stopped by :meth:`stop`."""

    def __init__(self, options: NodeOptions) -> None:
        # A new cluster: its token is made now if this user has none yet.
        if auth.ensure_token()["mode"] == "disabled":
            print(auth.DISABLED_WARNING, file=sys.stderr)
        auth.check_listen_host(options.node_ip, "the node address")
        self.session_dir = session.new_session_dir(options.temp_dir)
        self.log_dir = os.path.join(self.session_dir, "logs")
        self.gcs, self.gcs_address = start_gcs(self.session_dir, options.node_ip, 0,
                                               options.system_config)
        try:
            raylet = start_raylet(self.session_dir, self.gcs_address, options)
        except BaseException:
            self.gcs.stop()
            raise
        session.set_latest(self.session_dir, self.gcs_address)
        self.raylet = raylet.process
        self.raylet_address = raylet.address
        self.node_id = raylet.node_id
        self.plasma_socket = raylet.plasma_socket
        self.sockets_dir = os.path.dirname(raylet.plasma_socket)
        self.node_ip = options.node_ip
        self.dashboard: DaemonProcess | None = None
        self._stopping = False

    def start_dashboard(self, host: str, port: int) -> str:
        """init(include_dashboard=True): the dashboard beside this cluster;
        returns its URL. RuntimeError when it does not come up."""
        dash, url_or_why = start_dashboard(self.session_dir, self.gcs_address, host, port)
        if dash is None:
            raise RuntimeError(f"init(include_dashboard=True): the dashboard did not start: "
                               f"{url_or_why}")
        self.dashboard = dash
        publish_dashboard_url(self.gcs_address, url_or_why)
        return url_or_why

    def start_dashboard_in_background(self, host: str, port: int) -> str:
        """init()'s default: the dashboard is started and its URL (on the port
        chosen, which must be free) published at once; init() does not wait.
        If it does not come up, a warning says why and the URL is withdrawn."""
        url = f"{'https' if auth.tls_files() else 'http'}://{host}:{port}"  # as it will say
        self.dashboard = spawn_dashboard(self.session_dir, self.gcs_address, host, port)
        publish_dashboard_url(self.gcs_address, url)
        threading.Thread(target=self._watch_dashboard_start, args=(self.dashboard,),
                         name="comet-dashboard-start", daemon=True).start()
        return url

    def _watch_dashboard_start(self, dash: DaemonProcess) -> None:
        from comet import _raylet
        from comet._private.daemon import DaemonStartError

        try:
            dash.wait_ready(DASHBOARD_READY_PREFIX, DASHBOARD_START_TIMEOUT_S)
        except DaemonStartError as e:
            if self._stopping:
                return  # shutdown() came first
            logger.warning("The dashboard did not start: %s", e)
            try:
                _raylet.StateClient(self.gcs_address).kv_del(session.KV_NAMESPACE,
                                                              session.KV_DASHBOARD_URL)
            except Exception:  # noqa: BLE001 - the cluster may be going away
                pass

    def stop(self) -> None:
        """Stops the dashboard, the raylet (which stops its workers), then the GCS."""
        self._stopping = True
        if self.dashboard is not None:
            self.dashboard.stop()
        self.raylet.stop()
        self.gcs.stop()
        session.remove_runtime_files(self.session_dir)
