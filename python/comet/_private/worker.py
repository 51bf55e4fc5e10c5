"""The task and object API behind ``comet.init``, ``get``, ``put``, ``wait``...

Thin Python over the C++ core worker (``comet._raylet.CoreWorker``): values
are serialized here and everything else happens in C++.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import re
import threading
import uuid
import warnings
from typing import Any, Sequence

from comet import _raylet, exceptions
from comet._private import eager_install, ref_futures, serialization, session, worker_context
from comet._private.generator import ObjectRefGenerator
from comet._private.init_context import CometContext
from comet._private.node import LocalNode, NodeOptions
from comet._private.session import DEFAULT_TEMP_DIR, find_gcs_address

ObjectRef = _raylet.ObjectRef

# Metadata of errors created by the C++ core (see src/comet/core_worker/ray_object.h).
_SYSTEM_ERROR_PREFIX = b"COMET_ERROR:"
_SYSTEM_ERRORS: dict[bytes, type[exceptions.RayError]] = {
    b"WORKER_CRASHED": exceptions.WorkerCrashedError,
    b"OUT_OF_MEMORY": exceptions.OutOfMemoryError,
    b"TASK_CANCELLED": exceptions.TaskCancelledError,
    b"OBJECT_LOST": exceptions.ObjectLostError,
    b"OWNER_DIED": exceptions.OwnerDiedError,
    b"OBJECT_FREED": exceptions.ReferenceCountingAssertionError,
    b"TASK_UNSCHEDULABLE": exceptions.TaskUnschedulableError,
    b"TASK_PLACEMENT_GROUP_REMOVED": exceptions.TaskPlacementGroupRemoved,
    b"RUNTIME_ENV_SETUP_FAILED": exceptions.RuntimeEnvSetupError,
}
KWARGS_METADATA = b"COMET_KWARGS"
_ACTOR_ID_LINE = re.compile(r"^\tactor_id: ([0-9a-f]+)$", re.MULTILINE)
# A generator task's end (its ObjectRefGenerator.completed() ref reads None).
_END_OF_STREAM_METADATA = b"COMET_STREAM_END"

_init_lock = threading.Lock()
logger = logging.getLogger(__name__)
# Ray's line shape for its own messages.
_LOG_FORMAT = "%(asctime)s\t%(levelname)s %(filename)s:%(lineno)s -- %(message)s"


# -- object references inside values ---------------------------------------------------


def _ref_to_state(ref: ObjectRef) -> tuple:
    cw = worker_context.get().core_worker
    if cw is not None:
        cw.mark_escaped(ref)
    return (ref.binary(), ref.owner_address())


def _ref_from_state(state: tuple) -> ObjectRef:
    object_id, owner = state
    return worker_context.core_worker().make_ref(object_id, owner or None)


serialization.register_ref_type(ObjectRef, _ref_to_state, _ref_from_state)


def _reduce_ref(ref: ObjectRef) -> tuple:
    return (_ref_from_state, (_ref_to_state(ref),))


ObjectRef.__reduce__ = _reduce_ref  # plain pickle.dumps(ref) works too
ObjectRef.future = ref_futures.future
ObjectRef.as_future = ref_futures.as_future
ObjectRef.__await__ = ref_futures.await_ref


# -- values -------------------------------------------------------------------------


def store_value(value: Any, object_id: bytes | None = None, owned: bool = True) -> Any:
    """Serializes a value into this process's store (inline, or plasma when big).

    With ``object_id`` (a task return), returns the ``(metadata, data|None,
    size, nested refs)`` the core worker reports; otherwise an owned ObjectRef.
    """
    ctx = worker_context.get()
    cw = worker_context.core_worker()
    ser = (value if isinstance(value, serialization.SerializedObject)
           else serialization.serialize(value))
    if ser.total_bytes <= ctx.max_direct_call_object_size:
        data = ser.to_bytes()
        if object_id is not None:
            return (ser.metadata, data, len(data), ser.nested_refs)
        return cw.put_inline(data, ser.metadata, ser.nested_refs)
    oid = object_id if object_id is not None else cw.next_put_id()
    view = cw.create_plasma(oid, ser.total_bytes, ser.metadata)
    try:
        ser.write_to(view)
    finally:
        view.release()
    ref = cw.seal_plasma(oid, object_id is None and owned, ser.total_bytes)
    if object_id is not None:
        return (ser.metadata, None, ser.total_bytes, ser.nested_refs)
    return ref


def value_of(data: Any, metadata: bytes) -> Any:
    """Deserializes a stored value; errors come back as exception objects."""
    metadata = bytes(metadata)
    if metadata.startswith(_SYSTEM_ERROR_PREFIX):
        kind = metadata[len(_SYSTEM_ERROR_PREFIX):]
        if kind == b"ACTOR_CREATION_FAILED":
            cause = serialization.deserialize(data, serialization.METADATA_ERROR)
            err = exceptions.ActorDiedError(cause=cause)
            err.__cause__ = cause
            return err
        message = bytes(data).decode(errors="replace")
        if kind in (b"ACTOR_DIED", b"WORKER_CRASHED"):
            streamer = worker_context.get().log_streamer
            if streamer is not None:
                streamer.note_worker_death()
        if kind == b"ACTOR_DIED":
            # The core's layout (src/comet/core_worker/actor_death.h).
            found = _ACTOR_ID_LINE.search(message)
            return exceptions.ActorDiedError(message, actor_id=found[1] if found else None)
        cls = _SYSTEM_ERRORS.get(kind, exceptions.RaySystemError)
        return _system_error(cls, message)
    if metadata == _END_OF_STREAM_METADATA:
        return None
    return serialization.deserialize(data, metadata)


def _system_error(cls: type[exceptions.RayError], message: str) -> exceptions.RayError:
    try:
        return cls(message)
    except TypeError:
        err = cls.__new__(cls)
        Exception.__init__(err, message)
        return err


def raise_if_error(value: Any) -> Any:
    if isinstance(value, exceptions.RayTaskError):
        raise value.as_instanceof_cause()
    if isinstance(value, exceptions.RayError):
        raise value
    return value


def is_error_value(value: Any) -> bool:
    return isinstance(value, exceptions.RayError)


# -- the public API -----------------------------------------------------------------


def init(
    address: str | None = None,
    *,
    num_cpus: int | None = None,
    num_gpus: int | None = None,
    resources: dict[str, float] | None = None,
    memory: int | None = None,
    object_store_memory: int | None = None,
    namespace: str | None = None,
    ignore_reinit_error: bool = False,
    include_dashboard: bool | None = None,
    log_to_driver: bool = True,
    logging_level: Any = None,
    runtime_env: dict | None = None,
    job_config: Any = None,
    _temp_dir: str | None = None,
    _system_config: dict[str, Any] | None = None,
    **kwargs: Any,
) -> CometContext:
    """Starts Comet on this machine, or connects to a running cluster.

    With no ``address`` (and no ``COMET_ADDRESS`` in the environment), starts
    a GCS and a raylet as child processes in a new session directory (under
    ``/tmp/comet``) and stops them at :func:`shutdown` or interpreter exit.
    A new local cluster gets a dashboard, as in Ray (when aiohttp is
    installed), on port 8265 when free: it starts beside ``init()``, which
    does not wait for it; ``include_dashboard=True`` (or a ``dashboard_host``
    / ``dashboard_port``) waits and raises if it does not come up, ``False``
    starts none.
    ``address="auto"`` joins the cluster that ``comet start`` started on this
    machine (or ``COMET_ADDRESS``); ``address="HOST:PORT"`` joins the cluster
    whose GCS listens there, through this host's node.

    Returns a :class:`CometContext` (Ray's ``RayContext``): ``ctx["address"]``,
    ``ctx.address_info``, ``ctx.dashboard_url``; ``with comet.init(): ...``
    shuts down at the end. Most calls (``.remote()``, ``get``, ``put``,
    ``wait``, ``get_actor``, ``get_runtime_context()``...) call ``init()``
    themselves when this process is not connected yet, unless
    ``COMET_ENABLE_AUTO_CONNECT=0``.
    """
    unknown = set(kwargs) - {"configure_logging", "dashboard_host",
                             "dashboard_port", "local_mode", "_node_ip_address"}
    if unknown:
        raise TypeError(f"init() got unexpected keyword arguments: {sorted(unknown)}")
    if not isinstance(log_to_driver, bool):
        raise TypeError(f"log_to_driver must be a bool, got {type(log_to_driver).__name__}")
    job_env = _job_runtime_env(runtime_env, job_config)
    for name, value in (("num_cpus", num_cpus), ("num_gpus", num_gpus)):
        if value is not None and (not isinstance(value, int) or value < 0):
            raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    if resources is not None:
        for key, qty in resources.items():
            if key in ("CPU", "GPU", "memory"):
                raise ValueError(f"use num_cpus/num_gpus/memory instead of resources[{key!r}]")
            if not isinstance(qty, (int, float)) or qty < 0:
                raise ValueError(f"resources[{key!r}] must be a non-negative number")
    with _init_lock:
        ctx = worker_context.get()
        if ctx.connected:
            if ignore_reinit_error:
                return _node_info(ctx)
            raise RuntimeError("Maybe you called comet.init twice by accident? "
                               "Call comet.shutdown() first, or pass ignore_reinit_error=True.")
        lifetime = "non_detached"
        if job_config is not None:
            from comet.job_config import JobConfig

            if not isinstance(job_config, JobConfig):
                raise TypeError(f"job_config must be a comet.job_config.JobConfig, "
                                f"got {type(job_config).__name__}")
            if job_config.ray_namespace is not None:
                if namespace is not None and namespace != job_config.ray_namespace:
                    raise ValueError(f"namespace={namespace!r} and job_config.ray_namespace="
                                     f"{job_config.ray_namespace!r} disagree")
                namespace = job_config.ray_namespace
            lifetime = job_config.default_actor_lifetime
        if namespace is not None and not isinstance(namespace, str):
            raise ValueError(f"namespace must be a string, got {type(namespace).__name__}")
        if namespace is None:
            # Like Ray: a job's named actors and placement groups are its own
            # unless it names a namespace to share.
            namespace = f"anonymous-{uuid.uuid4()}"
        system_config = dict(_system_config or {})
        temp_dir = _temp_dir or os.environ.get("COMET_TEMP_DIR", DEFAULT_TEMP_DIR)
        if address is None and os.environ.get("COMET_ADDRESS") and \
                num_cpus is None and num_gpus is None and not resources:
            # Like RAY_ADDRESS: a job's driver joins the cluster it was submitted to.
            address = os.environ["COMET_ADDRESS"]
        _apply_logging(logging_level, kwargs.get("configure_logging", True))
        if address is not None:
            if num_cpus is not None or num_gpus is not None or resources:
                raise ValueError("num_cpus, num_gpus and resources describe a new cluster; "
                                 "they cannot be given when connecting to one (address=...)")
            if system_config:
                raise ValueError("When connecting to an existing cluster, _system_config must "
                                 "not be provided: the cluster's settings are the head's")
            ctx.default_actor_lifetime = lifetime
            ctx.job_runtime_env = job_env
            info = _connect(ctx, address, temp_dir, namespace, system_config)
            _start_log_streamer(ctx, log_to_driver)
            logger.info("Connected to Comet cluster at %s.%s", ctx.gcs_address,
                        _dashboard_words(info.dashboard_url))
            eager_install.start(job_env)
            return info
        dashboard = _check_new_cluster_options(include_dashboard, kwargs)
        config = _raylet.config(system_config)  # ValueError names a bad entry, before starting
        node = LocalNode(NodeOptions(
            num_cpus=num_cpus, num_gpus=num_gpus, resources=resources, memory=memory,
            object_store_memory=object_store_memory,
            temp_dir=temp_dir, system_config=system_config,
            node_ip=kwargs.get("_node_ip_address") or "127.0.0.1"))
        try:
            if dashboard is not None:
                host, port, wait = dashboard
                if wait:
                    node.start_dashboard(host, port)
                else:
                    node.start_dashboard_in_background(host, port)
            max_inline = config["max_direct_call_object_size"]
            cw = _raylet.CoreWorker(
                is_driver=True, gcs_address=node.gcs_address,
                raylet_address=node.raylet_address, plasma_socket=node.plasma_socket,
                node_id=node.node_id, worker_id=os.urandom(28), node_ip=node.node_ip,
                config=config, entrypoint=" ".join(_argv()), namespace=namespace)
        except BaseException:
            node.stop()
            raise
        ctx.core_worker = cw
        ctx.mode = "driver"
        ctx.node = node
        ctx.gcs_address = node.gcs_address
        ctx.raylet_address = node.raylet_address
        ctx.node_id = node.node_id
        ctx.node_ip = node.node_ip
        ctx.session_dir = node.session_dir
        ctx.namespace = namespace
        ctx.default_actor_lifetime = lifetime
        ctx.max_direct_call_object_size = max_inline
        ctx.config = config
        ctx.job_runtime_env = job_env
        _start_log_streamer(ctx, log_to_driver)
        info = _node_info(ctx)
        logger.info("Started a local Comet instance.%s", _dashboard_words(info.dashboard_url))
        eager_install.start(job_env)
        return info


def _dashboard_words(url: str | None) -> str:
    return f" View the dashboard at http://{url}" if url else ""


def _job_runtime_env(runtime_env: Any, job_config: Any) -> dict[str, Any]:
    """The job's runtime_env: a submitted job's (COMET_JOB_RUNTIME_ENV),
    then JobConfig(runtime_env=...), then init(runtime_env=...), each over
    the one before."""
    import json

    from comet._private import runtime_env as envs

    env = envs.validate(json.loads(os.environ.get(envs.JOB_ENV_VARIABLE) or "{}"),
                        envs.JOB_ENV_VARIABLE) or {}
    if job_config is not None and getattr(job_config, "runtime_env", None):
        env = envs.merge(env, envs.validate(job_config.runtime_env, "JobConfig.runtime_env"))
    return envs.merge(env, envs.validate(runtime_env, "runtime_env"))


def _start_log_streamer(ctx: worker_context.WorkerContext, log_to_driver: bool) -> None:
    """init(log_to_driver=True): the job's workers' output prints here."""
    if not log_to_driver:
        return
    from comet._private.log_streamer import LogStreamer

    try:
        ctx.log_streamer = LogStreamer(ctx.gcs_address, ctx.core_worker.job_id, ctx.node_ip)
    except Exception as error:  # noqa: BLE001 - the job runs; only its output stays in files
        logger.warning("Workers' output will not be printed here (it stays in the "
                       "session's logs/worker-*.out files): %s", error)


def _apply_logging(level: Any, configure: bool) -> None:
    """As Ray's init(configure_logging=True, logging_level=INFO): the
    "comet" logger writes INFO and above to stderr (a handler of its own,
    added once, unless the application gave it one), at `level`."""
    if not configure:
        return
    if level is None:
        level = logging.INFO
    if isinstance(level, str):
        named = logging.getLevelName(level.upper())
        if not isinstance(named, int):
            raise ValueError(f"logging_level must be a logging level, got {level!r}")
        level = named
    comet_logger = logging.getLogger("comet")
    comet_logger.setLevel(level)
    if not comet_logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter(_LOG_FORMAT))
        comet_logger.addHandler(handler)
        comet_logger.propagate = False


def _dashboard_installed() -> bool:
    """Whether the dashboard's dependencies are importable (Ray: on by
    default when ray[default] is installed)."""
    import importlib.util

    return importlib.util.find_spec("aiohttp") is not None


def _check_new_cluster_options(include_dashboard: bool | None,
                               kwargs: dict[str, Any]) -> tuple[str, int, bool] | None:
    """Options of a new local cluster: where its dashboard should listen and
    whether init() waits for it (None: no dashboard); what Comet cannot
    honour fails here. Asked for (include_dashboard=True, a host or a port),
    init() waits and fails if it does not start; by default, as in Ray, it
    starts when installed, without delaying init()."""
    if include_dashboard is not None and not isinstance(include_dashboard, bool):
        raise TypeError(f"include_dashboard must be a bool or None, "
                        f"got {type(include_dashboard).__name__}")
    host, port = kwargs.get("dashboard_host"), kwargs.get("dashboard_port")
    if include_dashboard is False and (host is not None or port is not None):
        raise ValueError("dashboard_host/dashboard_port were given with include_dashboard=False")
    if port is not None and (isinstance(port, bool) or not isinstance(port, int)
                             or not 0 <= port <= 65535):
        raise ValueError(f"dashboard_port must be a port number, got {port!r}")
    if host is not None and not isinstance(host, str):
        raise ValueError(f"dashboard_host must be a string, got {host!r}")
    if kwargs.get("local_mode"):
        raise ValueError("local_mode=True is not supported (Ray deprecated it): tasks always "
                         "run in worker processes")
    asked = include_dashboard or host is not None or port is not None
    if include_dashboard is False or (not asked and not _dashboard_installed()):
        return None
    from comet.scripts.netcheck import port_in_use

    host = host or "127.0.0.1"
    if port is None and not port_in_use(host, 8265):
        port = 8265  # Ray's port, when it is free
    elif not port:  # 0, or 8265 taken: any free port
        import socket

        with socket.socket() as probe:
            probe.bind((host, 0))
            port = probe.getsockname()[1]
    elif port_in_use(host, port):
        raise ValueError(f"dashboard_port {port} on {host} is already in use")
    return host, port, bool(asked)


def _connect(ctx: worker_context.WorkerContext, address: str, temp_dir: str,
             namespace: str, system_config: dict[str, Any]) -> CometContext:
    """Joins a running cluster as a driver, through its local node."""
    gcs_address = find_gcs_address(address, temp_dir)
    nodes = [n for n in _raylet.gcs_nodes(gcs_address) if n["Alive"]]
    if not nodes:
        raise ConnectionError(f"the cluster at {gcs_address} has no alive node")
    node = _local_node(nodes)
    config = _raylet.config(system_config)
    max_inline = config["max_direct_call_object_size"]
    cw = _raylet.CoreWorker(
        is_driver=True, gcs_address=gcs_address,
        raylet_address=f"{node['NodeManagerAddress']}:{node['NodeManagerPort']}",
        plasma_socket=node["ObjectStoreSocketName"], node_id=node["NodeIDBinary"],
        worker_id=os.urandom(28), node_ip=node["NodeManagerAddress"], config=config,
        entrypoint=" ".join(_argv()), namespace=namespace)
    ctx.core_worker = cw
    ctx.mode = "driver"
    ctx.gcs_address = gcs_address
    ctx.raylet_address = f"{node['NodeManagerAddress']}:{node['NodeManagerPort']}"
    ctx.node_id = node["NodeIDBinary"]
    ctx.node_ip = node["NodeManagerAddress"]
    ctx.session_dir = node.get("SessionDir", "")
    ctx.namespace = namespace
    ctx.max_direct_call_object_size = max_inline
    ctx.config = config
    return _node_info(ctx)


def _local_node(nodes: list[dict[str, Any]]) -> dict[str, Any]:
    """The alive node that runs on this host: its address is one of this
    host's and its object store socket exists here (the first such node)."""
    import socket

    import psutil

    local_ips = {"127.0.0.1", "localhost"}
    for addresses in psutil.net_if_addrs().values():
        local_ips.update(a.address for a in addresses if a.family == socket.AF_INET)
    for node in nodes:
        if node["NodeManagerAddress"] in local_ips and \
                os.path.exists(node["ObjectStoreSocketName"]):
            return node
    raise ConnectionError(
        "no node of the cluster runs on this host (start one with "
        "`comet start --address=<head address>`); nodes: "
        + ", ".join(f"{n['NodeManagerAddress']}:{n['NodeManagerPort']}" for n in nodes))


def _argv() -> list[str]:
    import sys

    return list(getattr(sys, "argv", []) or [])


def _node_info(ctx: worker_context.WorkerContext) -> CometContext:
    url = dashboard_url()
    return CometContext({
        "address": ctx.gcs_address,
        "gcs_address": ctx.gcs_address,
        "node_ip_address": ctx.node_ip,
        "raylet_ip_address": ctx.node_ip,
        "raylet_address": ctx.raylet_address,
        "session_dir": ctx.session_dir,
        "node_id": ctx.node_id.hex(),
        "webui_url": url,
    }, url)


def dashboard_url() -> str | None:
    """The cluster's dashboard as HOST:PORT (what `comet start` recorded in the
    GCS), or None when it runs none or this process is not connected."""
    cw = worker_context.get().core_worker
    if cw is None:
        return None
    url = cw.kv_get(session.KV_NAMESPACE, session.KV_DASHBOARD_URL)
    if not url:
        return None
    return bytes(url).decode().split("://", 1)[-1].rstrip("/")


def shutdown() -> None:
    """Disconnects; stops the daemons that :func:`init` started."""
    with _init_lock:
        ctx = worker_context.get()
        if not ctx.connected:
            return
        cw, node = ctx.core_worker, ctx.node
        if ctx.log_streamer is not None:
            # Before the cluster goes: the last lines of the job's tasks.
            ctx.log_streamer.stop()
            ctx.log_streamer = None
        ctx.core_worker = None
        if ctx.ref_readers is not None:
            ctx.ref_readers.shutdown(wait=False, cancel_futures=True)
        cw.shutdown()
        if node is not None:
            node.stop()
        worker_context.reset()


atexit.register(shutdown)


def is_initialized() -> bool:
    """Whether this process is connected to Comet."""
    return worker_context.get().connected


def put(value: Any, *, _owner: Any = None) -> ObjectRef:
    """Stores ``value`` in the object store and returns a reference to it."""
    if isinstance(value, ObjectRef):
        raise TypeError("Calling 'put' on an ObjectRef is not allowed. If you really want "
                        "to do this, you can wrap the ObjectRef in a list and call 'put' on it.")
    worker_context.core_worker(auto_init=True)
    return store_value(value)


def get(object_refs: Any, *, timeout: float | None = None) -> Any:
    """Returns the value of an ObjectRef, or the values of a list of them.

    Blocks until they are ready. Raises :class:`GetTimeoutError` when
    ``timeout`` seconds pass first, and the task's exception (also an
    instance of the original exception class) when the task raised.
    """
    single = isinstance(object_refs, ObjectRef)
    if single:
        refs = [object_refs]
    elif isinstance(object_refs, (list, tuple)):
        refs = list(object_refs)
        for ref in refs:
            if not isinstance(ref, ObjectRef):
                raise TypeError(f"get() expects a list of ObjectRefs, found {type(ref).__name__}")
    else:
        if hasattr(object_refs, "__comet_get__"):
            return object_refs.__comet_get__(timeout)
        raise TypeError(f"get() expects an ObjectRef or a list of ObjectRefs, "
                        f"got {type(object_refs).__name__}")
    if timeout is not None and (not isinstance(timeout, (int, float)) or timeout < 0):
        raise ValueError(f"timeout must be a non-negative number or None, got {timeout!r}")
    cw = worker_context.core_worker(auto_init=True)
    _warn_if_blocking_the_actor_loop()
    results = cw.get_objects(refs, -1.0 if timeout is None else float(timeout))
    values = []
    for ref, result in zip(refs, results):
        if result is None:
            raise exceptions.GetTimeoutError(f"Get timed out: some object(s) not ready "
                                             f"after {timeout}s (first: {ref!r})")
        values.append(raise_if_error(value_of(*result)))
    return values[0] if single else values


def _warn_if_blocking_the_actor_loop() -> None:
    """Ray warns (once) when an async actor blocks its event loop in get()."""
    ctx = worker_context.get()
    if ctx.actor_loop is None or ctx.warned_blocking_get:
        return
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        return
    if running is ctx.actor_loop:
        ctx.warned_blocking_get = True
        logging.getLogger("comet").warning(
            "Using blocking comet.get inside an async actor method blocks its event loop; "
            "use `await ref` or `await asyncio.gather(*refs)` instead.")


def wait(
    object_refs: Sequence[ObjectRef],
    *,
    num_returns: int = 1,
    timeout: float | None = None,
    fetch_local: bool = True,
) -> tuple[list[ObjectRef], list[ObjectRef]]:
    """Waits until ``num_returns`` of the refs are ready or ``timeout`` passes.

    Returns ``(ready, not_ready)``, each in the order of ``object_refs``.
    With ``fetch_local`` (the default), a ready object that lives in another
    node's store is pulled to this node first, and counts as ready only once
    it is here; with ``fetch_local=False`` nothing is pulled.
    """
    if isinstance(object_refs, ObjectRef) or not isinstance(object_refs, (list, tuple)):
        raise TypeError(f"wait() expects a list of ObjectRefs, got {type(object_refs).__name__}")
    refs = list(object_refs)
    for ref in refs:
        if not isinstance(ref, ObjectRef):
            raise TypeError(f"wait() expects a list of ObjectRefs, found {type(ref).__name__}")
    if len(set(refs)) != len(refs):
        raise ValueError("wait() requires a list of unique ObjectRefs")
    if not isinstance(num_returns, int) or num_returns < 0 or num_returns > len(refs):
        raise ValueError(f"num_returns must be between 0 and {len(refs)}, got {num_returns!r}")
    if timeout is not None and (not isinstance(timeout, (int, float)) or timeout < 0):
        raise ValueError(f"timeout must be a non-negative number or None, got {timeout!r}")
    if not isinstance(fetch_local, bool):
        raise TypeError(f"fetch_local must be a bool, got {type(fetch_local).__name__}")
    if not refs or num_returns == 0:
        return [], refs
    cw = worker_context.core_worker(auto_init=True)
    ready_flags = cw.wait(refs, num_returns, -1.0 if timeout is None else float(timeout),
                          fetch_local)
    ready = [r for r, ok in zip(refs, ready_flags) if ok][:num_returns] if num_returns else []
    ready_set = set(ready)
    return ready, [r for r in refs if r not in ready_set]


def cancel(object_ref: ObjectRef | ObjectRefGenerator, *, force: bool = False,
           recursive: bool = True) -> None:
    """Cancels the task (or the generator task) that produces ``object_ref``.

    A queued task never runs; a running one gets KeyboardInterrupt raised
    inside it, as in Ray (or, with ``force=True``, its worker is killed). With
    ``recursive`` (the default) the tasks and actor calls it submitted are
    cancelled too. ``get`` of the ref then raises :class:`TaskCancelledError`.

    An actor call that has not started never runs. A running one is not
    interrupted: a sync actor's call sees
    ``get_runtime_context().is_canceled()``, an async actor's asyncio task is
    cancelled. ``force=True`` on an actor call raises ValueError (use
    :func:`kill` for the actor).
    """
    if isinstance(object_ref, ObjectRefGenerator):
        object_ref = object_ref.completed()  # a ref of the generator's task
    if not isinstance(object_ref, ObjectRef):
        raise TypeError(f"cancel() expects an ObjectRef, got {type(object_ref).__name__}")
    worker_context.core_worker(auto_init=True).cancel(object_ref, bool(force), bool(recursive))


def _resource_views() -> list[tuple[dict[str, float], dict[str, float]]]:
    return worker_context.core_worker().resource_usage()


def cluster_resources() -> dict[str, float]:
    """Total resources of the alive nodes."""
    totals: dict[str, float] = {}
    for total, _ in _resource_views():
        for name, qty in total.items():
            totals[name] = totals.get(name, 0.0) + qty
    return totals


def available_resources() -> dict[str, float]:
    """Resources not in use right now, summed over the alive nodes."""
    avail: dict[str, float] = {}
    for _, free in _resource_views():
        for name, qty in free.items():
            if qty > 0:
                avail[name] = avail.get(name, 0.0) + qty
    return avail


def nodes() -> list[dict[str, Any]]:
    """The nodes of the cluster, as dicts with Ray's keys (NodeID, Alive, Resources...)."""
    return worker_context.core_worker().nodes()


def get_gpu_ids() -> list[int]:
    """GPU ids assigned to the current task (empty on the driver)."""
    worker_context.core_worker(auto_init=True)
    return list(getattr(worker_context.get().local, "gpu_ids", []))


def get_resource_ids() -> dict[str, list[tuple[int, float]]]:
    """Ray's ``ray._private.worker.get_resource_ids()``: the resource instances
    the running task holds, as ``{"GPU": [(id, fraction of it), ...]}``
    (empty on a driver). Only resources whose instances are numbered (GPUs)
    appear: unlike Ray, Comet does not number CPUs."""
    from comet._private.executor import held_resources

    held, ids = held_resources()
    out = {}
    for name, instances in ids.items():
        base = name.split("_group_", 1)[0]
        if instances:
            fraction = min(1.0, held.get(base, len(instances)) / len(instances))
            out[base] = [(int(i), fraction) for i in instances]
    return out


def warn_if_infeasible(resources: dict[str, float]) -> None:
    """Warns once per shape when no node could ever run a demand."""
    ctx = worker_context.get()
    if not resources:
        return
    if ctx.cluster_totals is None:
        try:
            ctx.cluster_totals = cluster_resources()
        except Exception:  # noqa: BLE001 - the check is advisory only
            return
    missing = {k: v for k, v in resources.items() if ctx.cluster_totals.get(k, 0.0) < v}
    if missing:
        warnings.warn(
            f"The demand {resources} cannot be satisfied by any node of the cluster "
            f"(total {ctx.cluster_totals}); the task stays pending until such a node joins.",
            stacklevel=4)
