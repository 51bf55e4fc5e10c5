"""`comet start`: a head node (gcs_server + raylet [+ dashboard]) or one more
node joining a cluster, as daemons that outlive the command."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import signal
import sys
import time

import click

from comet import _raylet
from comet._private import auth, session
from comet._private.daemon import DaemonProcess, DaemonStartError
from comet._private.node import (NodeOptions, publish_dashboard_url, start_dashboard,
                                 start_gcs, start_raylet)
from comet._private.session import DEFAULT_TEMP_DIR
from comet.exceptions import AuthenticationError
from comet.scripts.netcheck import is_listening, port_in_use, split_address

DEFAULT_PORT = 6379


def _fail(message: str) -> click.ClickException:
    return click.ClickException(message.replace("\n", " "))


def parse_resources(text: str | None) -> dict[str, float]:
    """--resources '{"name": qty}' -> dict; a one-line click error when it is not one."""
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError as e:
        raise _fail(f"--resources: not valid JSON ({e}): {text!r}") from None
    if not isinstance(value, dict):
        raise _fail(f"--resources: expected a JSON object like '{{\"name\": 1}}', got {text!r}")
    for name, qty in value.items():
        if name in ("CPU", "GPU", "memory"):
            raise _fail(f"--resources: use --num-cpus/--num-gpus/--memory instead of {name!r}")
        if not name or any(c in name for c in ",:;= "):
            raise _fail(f"--resources: bad resource name {name!r}")
        if (isinstance(qty, bool) or not isinstance(qty, (int, float)) or qty < 0
                or not math.isfinite(qty)):
            raise _fail(f"--resources: {name!r} must be a number >= 0, got {qty!r}")
    return {name: float(qty) for name, qty in value.items()}


def _dashboard_wanted(include: bool | None) -> bool:
    found = importlib.util.find_spec("comet.dashboard") is not None
    if include and not found:
        raise _fail("--include-dashboard: the comet.dashboard module is not installed")
    return found if include is None else include


def _dashboard_login_hint() -> str:
    """How to get into the dashboard, from where this head found its token."""
    creds = auth.load()
    if creds["mode"] == "disabled":
        return "no login: cluster auth is disabled"
    source = creds["source"]
    if source == "COMET_AUTH_TOKEN":
        return "log in with the cluster token in $COMET_AUTH_TOKEN"
    path = source.split("=", 1)[1] if source.startswith("COMET_AUTH_TOKEN_PATH=") else source
    return f"log in with the cluster token: `cat {path}`"


class _StopSignals:
    """Catches SIGINT/SIGTERM from the start on, for --block: a signal during the
    start stops the node as soon as it runs."""

    def __init__(self) -> None:
        self.received: list[int] = []
        self._old = {s: signal.signal(s, self._on_signal)
                     for s in (signal.SIGINT, signal.SIGTERM)}

    def _on_signal(self, signum: int, frame: object) -> None:
        self.received.append(signum)

    def restore(self) -> None:
        for s, handler in self._old.items():
            signal.signal(s, handler)


def _wait_blocking(daemons: list[DaemonProcess], signals: _StopSignals) -> None:
    """Returns once a daemon exits or SIGINT/SIGTERM arrives; then stops them all."""
    while not signals.received and all(d.alive() for d in daemons):
        time.sleep(0.2)
    dead = [d.name for d in daemons if not d.alive()]
    click.echo(f"{', '.join(dead)} exited; stopping the node." if dead and not signals.received
               else "Stopping the node.")
    for d in daemons:  # the dashboard and raylet first, the GCS last
        d.stop()


@click.command()
@click.option("--head", is_flag=True, help="Start the head node (GCS and a raylet).")
@click.option("--address", help="HOST:PORT of a running cluster's GCS to join as a new node.")
@click.option("--port", type=click.IntRange(0, 65535), default=None,
              help=f"The GCS port of a head node [default: {DEFAULT_PORT}].")
@click.option("--num-cpus", type=click.IntRange(min=0), help="CPUs of this node.")
@click.option("--num-gpus", type=click.IntRange(min=0), help="GPUs of this node.")
@click.option("--resources", help='Custom resources as JSON, e.g. \'{"special": 1}\'.')
@click.option("--object-store-memory", type=click.IntRange(min=1),
              help="Bytes of the node's object store.")
@click.option("--memory", type=click.IntRange(min=0), help="Bytes of memory for tasks.")
@click.option("--node-ip-address", default="127.0.0.1", show_default=True,
              help="The address this node's daemons listen on.")
@click.option("--temp-dir", default=None,
              help=f"Root of the session directories [default: $COMET_TEMP_DIR or "
                   f"{DEFAULT_TEMP_DIR}].")
@click.option("--dashboard-host", default="127.0.0.1", show_default=True)
@click.option("--dashboard-port", type=click.IntRange(1, 65535), default=8265,
              show_default=True)
@click.option("--include-dashboard", type=click.BOOL, is_flag=False, flag_value=True,
              default=None,
              help="Start the dashboard with the head: alone, or =true|false as Ray "
                   "spells it [default: when installed].")
@click.option("--no-include-dashboard", "no_include_dashboard", is_flag=True,
              help="Do not start the dashboard (--include-dashboard=false).")
@click.option("--disable-usage-stats", is_flag=True,
              help="Accepted for scripts written for `ray start`: Comet collects no "
                   "usage statistics, so this changes nothing.")
@click.option("--block", is_flag=True,
              help="Stay in the foreground; stop the node on Ctrl-C or when a daemon dies.")
@click.option("--auth-mode", type=click.Choice(auth.AUTH_MODES), default=None,
              help="'token' (the default: every call needs the cluster token) or "
                   "'disabled' (loopback only, with a warning) [default: $COMET_AUTH_MODE "
                   "or token].")
@click.option("--metrics-auth", type=click.Choice(["token", "none"]), default=None,
              help="Whether Prometheus /metrics endpoints need the token (a bearer "
                   "token) or are open, read-only [default: token].")
@click.option("--gcs-storage", default="sqlite", show_default=True,
              help="Where a head's GCS keeps its tables, so that it comes back with them "
                   "when it restarts: 'sqlite' (a file in the session folder), "
                   "'sqlite:PATH', 'redis://HOST:PORT[/NAMESPACE]' (password in "
                   "$COMET_REDIS_PASSWORD) or 'memory' (lost on a restart).")
@click.option("--tls-ca", type=click.Path(exists=True, dir_okay=False), default=None,
              help="CA certificate (PEM): with --tls-cert and --tls-key, mutual TLS on "
                   "every gRPC channel and HTTPS for the dashboard [default: $COMET_TLS_CA].")
@click.option("--tls-cert", type=click.Path(exists=True, dir_okay=False), default=None,
              help="This node's certificate (PEM), signed by --tls-ca (`comet tls init`).")
@click.option("--tls-key", type=click.Path(exists=True, dir_okay=False), default=None,
              help="The private key (PEM) of --tls-cert.")
def start(head: bool, address: str | None, port: int | None, num_cpus: int | None,
          num_gpus: int | None, resources: str | None, object_store_memory: int | None,
          memory: int | None, node_ip_address: str, temp_dir: str | None,
          dashboard_host: str, dashboard_port: int, include_dashboard: bool | None,
          no_include_dashboard: bool, disable_usage_stats: bool, block: bool, auth_mode: str | None, metrics_auth: str | None,
          gcs_storage: str, tls_ca: str | None, tls_cert: str | None,
          tls_key: str | None) -> None:
    """Start Comet's daemons on this machine: a head node, or a node joining --address."""
    if head == bool(address):
        raise _fail("give exactly one of --head and --address=HOST:PORT")
    if not head and gcs_storage != "sqlite":
        raise _fail("--gcs-storage is for --head: a joining node has no GCS")
    _check_gcs_storage(gcs_storage)
    if no_include_dashboard:
        if include_dashboard:
            raise _fail("--include-dashboard and --no-include-dashboard contradict each other")
        include_dashboard = False
    _setup_tls(tls_ca, tls_cert, tls_key)
    _setup_auth(head, auth_mode, metrics_auth, node_ip_address, dashboard_host)
    options = NodeOptions(num_cpus=num_cpus, num_gpus=num_gpus,
                          resources=parse_resources(resources) or None, memory=memory,
                          object_store_memory=object_store_memory, node_ip=node_ip_address)
    temp_dir = os.path.abspath(temp_dir or os.environ.get("COMET_TEMP_DIR", DEFAULT_TEMP_DIR))
    signals = _StopSignals() if block else None
    if head:
        daemons = _start_head(options, port if port is not None else DEFAULT_PORT, temp_dir,
                              include_dashboard, dashboard_host, dashboard_port, gcs_storage)
    else:
        if port is not None:
            raise _fail("--port is for --head; a joining node picks free ports")
        daemons = _start_worker(options, address or "", temp_dir)
    if signals is not None:
        _wait_blocking(daemons, signals)
        signals.restore()


def _check_gcs_storage(spec: str) -> None:
    """A clear error at the call site for a --gcs-storage gcs_server would refuse."""
    if spec in ("sqlite", "memory") or (spec.startswith("sqlite:") and len(spec) > 7):
        return
    if spec.startswith("redis://"):
        try:
            host, port = split_address(spec[len("redis://"):].split("/", 1)[0])
        except ValueError as e:
            raise _fail(f"--gcs-storage={spec}: {e}") from None
        if "@" in host:
            raise _fail(f"--gcs-storage={spec}: put the password in $COMET_REDIS_PASSWORD, "
                        "not in the address")
        return
    raise _fail(f"--gcs-storage={spec}: expected sqlite, sqlite:PATH, "
                "redis://HOST:PORT[/NAMESPACE] or memory")


def _gcs_storage_flag(spec: str, session_dir: str) -> str:
    """--gcs-storage as gcs_server's --storage."""
    if spec == "sqlite":
        return "sqlite:" + os.path.join(session_dir, "gcs_storage.sqlite")
    if spec.startswith("sqlite:"):
        return "sqlite:" + os.path.abspath(spec[len("sqlite:"):])
    return spec


def _setup_tls(ca: str | None, cert: str | None, key: str | None) -> None:
    """--tls-* go to the daemons as COMET_TLS_* (absolute paths)."""
    given = {"--tls-ca": ca, "--tls-cert": cert, "--tls-key": key}
    if not any(given.values()):
        return
    missing = [flag for flag, value in given.items() if not value]
    if missing:
        raise _fail(f"TLS needs --tls-ca, --tls-cert and --tls-key together; missing "
                    f"{', '.join(missing)}")
    for variable, value in (("COMET_TLS_CA", ca), ("COMET_TLS_CERT", cert),
                            ("COMET_TLS_KEY", key)):
        os.environ[variable] = os.path.abspath(value or "")


def _setup_auth(head: bool, auth_mode: str | None, metrics_auth: str | None,
                node_ip: str, dashboard_host: str) -> None:
    """Applies --auth-mode/--metrics-auth to the daemons (through their
    environment) and makes sure this node has the cluster token: a head
    creates it when none exists, a joining node must already have it."""
    try:
        auth.set_auth_mode(auth_mode)
        auth.check_listen_host(node_ip, "--node-ip-address")
        if head:
            auth.check_listen_host(dashboard_host, "--dashboard-host")
    except ValueError as e:
        raise _fail(str(e)) from None
    if metrics_auth is not None:
        os.environ["COMET_METRICS_AUTH"] = metrics_auth
    try:
        auth.ensure_token() if head else auth.load()
    except AuthenticationError as e:
        raise _fail(str(e)) from None


def _start_node_daemons(options: NodeOptions, temp_dir: str, gcs_port: int | None,
                        gcs_address: str | None, gcs_storage: str = "sqlite"
                        ) -> tuple[str, list[DaemonProcess], str, str]:
    """A new session with a raylet (and, for a head, a GCS first). Returns
    (session dir, daemons raylet first, GCS address, node id hex)."""
    session_dir = session.new_session_dir(temp_dir)
    started: list[DaemonProcess] = []
    head = gcs_address is None
    try:
        if head:
            gcs, gcs_address = start_gcs(session_dir, options.node_ip, gcs_port or 0,
                                         storage=_gcs_storage_flag(gcs_storage, session_dir),
                                         supervise=True)
            started.append(gcs)
        raylet = start_raylet(session_dir, gcs_address, options)
        started.insert(0, raylet.process)
    except (DaemonStartError, OSError) as e:
        for d in started:
            d.stop()
        session.remove_runtime_files(session_dir)
        raise _fail(f"{e} (logs: {os.path.join(session_dir, 'logs')})") from None
    session.set_latest(session_dir, gcs_address)
    scheme = "https" if os.environ.get("COMET_TLS_CA") else "http"  # the raylet's /metrics
    session.write_info(session_dir, gcs_address=gcs_address, node_id=raylet.node_id.hex(),
                       raylet_address=raylet.address, node_ip=options.node_ip,
                       metrics_url=f"{scheme}://{options.node_ip}:{raylet.metrics_port}/metrics",
                       head=head, pids={d.name: d.pid for d in started})
    return session_dir, started, gcs_address, raylet.node_id.hex()


def _start_head(options: NodeOptions, port: int, temp_dir: str, include_dashboard: bool | None,
                dashboard_host: str, dashboard_port: int,
                gcs_storage: str) -> list[DaemonProcess]:
    host = options.node_ip
    if port and port_in_use(host, port):
        raise _fail(f"port {port} on {host} is already in use (another Comet head? "
                    "`comet stop` stops it; --port picks another)")
    dashboard = _dashboard_wanted(include_dashboard)
    if dashboard and port_in_use(dashboard_host, dashboard_port):
        raise _fail(f"dashboard port {dashboard_port} on {dashboard_host} is already in use "
                    "(--dashboard-port picks another, --no-include-dashboard skips it)")
    session_dir, daemons, gcs_address, node_id = _start_node_daemons(
        options, temp_dir, port, None, gcs_storage)
    url = None
    if dashboard:
        dash, url_or_why = start_dashboard(session_dir, gcs_address, dashboard_host,
                                           dashboard_port)
        if dash is None:
            click.echo(f"Warning: {url_or_why}; the cluster runs without it.", err=True)
        else:
            url = url_or_why
            daemons.insert(0, dash)
            session.write_info(session_dir, dashboard_url=url, pids={
                d.name: d.pid for d in daemons})
            publish_dashboard_url(gcs_address, url)
    click.echo(f"Comet head node started (node {node_id}).\n"
               f"  GCS address:  {gcs_address}\n"
               f"  Session dir:  {session_dir}\n"
               f"  Metrics:      {session.read_info(session_dir).get('metrics_url', '')}\n"
               + (f"  Dashboard:    {url}\n"
                  f"                ({_dashboard_login_hint()})\n" if url else "")
               + "\nTo add another node to this cluster, run\n"
               f"    comet start --address='{gcs_address}'\n"
               "To connect to it from Python on this machine:\n"
               "    import comet\n"
               f"    comet.init(address=\"auto\")  # or address=\"{gcs_address}\"\n"
               "To stop it: comet stop"
               + ("" if temp_dir == DEFAULT_TEMP_DIR else f" --temp-dir='{temp_dir}'"))
    return daemons


def _start_worker(options: NodeOptions, address: str, temp_dir: str) -> list[DaemonProcess]:
    from comet import _raylet

    try:
        address = session.find_gcs_address(address, temp_dir)
        host, port = split_address(address)
    except (ConnectionError, ValueError) as e:
        raise _fail(f"--address: {e}") from None
    if not is_listening(host, port):
        raise _fail(f"nothing listens at {address}: is a head node running there "
                    "(`comet start --head`)?")
    try:
        _raylet.gcs_nodes(address, timeout_s=5.0)
    except AuthenticationError as e:  # its message names the token and where it came from
        raise _fail(str(e)) from None
    except ConnectionError as e:
        raise _fail(f"{address} does not answer as a Comet GCS: {e}") from None
    session_dir, daemons, _, node_id = _start_node_daemons(options, temp_dir, None, address)
    click.echo(f"Comet node {node_id} joined the cluster at {address}.\n"
               f"  Session dir:  {session_dir}\n"
               f"  Metrics:      {session.read_info(session_dir).get('metrics_url', '')}\n"
               "To stop it: comet stop"
               + ("" if temp_dir == DEFAULT_TEMP_DIR else f" --temp-dir='{temp_dir}'"))
    return daemons
