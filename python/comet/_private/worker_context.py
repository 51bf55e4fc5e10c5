"""This process's Comet state: the one place that holds it.

A driver gets its state from ``comet.init()``; a worker from its entry point.
Everything else reads it through :func:`get` instead of importing globals.
"""

from __future__ import annotations

import contextvars
import os
import threading
import types
from dataclasses import dataclass, field
from typing import Any, Callable


class TaskLocal:
    """State of the running task (GPU ids, task id, name, resources...), one
    namespace per thread and per asyncio task: it lives in a ContextVar,
    which threads do not share and each asyncio task copies. ``begin()``
    starts a fresh namespace for a task that starts here."""

    __slots__ = ("_var",)

    def __init__(self) -> None:
        object.__setattr__(self, "_var", contextvars.ContextVar("comet_task_local", default=None))

    def begin(self) -> types.SimpleNamespace:
        """A fresh namespace for a task starting here; setting attributes on
        it directly is cheaper than through this object."""
        namespace = types.SimpleNamespace()
        self._var.set(namespace)
        return namespace

    def __getattr__(self, name: str) -> Any:
        namespace = self._var.get()
        if namespace is None:
            raise AttributeError(name)
        return getattr(namespace, name)

    def __setattr__(self, name: str, value: Any) -> None:
        namespace = self._var.get()
        if namespace is None:
            namespace = types.SimpleNamespace()
            self._var.set(namespace)
        setattr(namespace, name, value)


@dataclass
class WorkerContext:
    """What this process knows about the cluster it belongs to."""

    core_worker: Any = None  # comet._raylet.CoreWorker
    mode: str | None = None  # "driver" or "worker"
    node: Any = None  # comet._private.node.LocalNode when this driver started one
    gcs_address: str = ""
    raylet_address: str = ""
    node_id: bytes = b""
    node_ip: str = "127.0.0.1"
    session_dir: str = ""
    namespace: str = ""
    default_actor_lifetime: str = "non_detached"  # init(job_config=...) may change it
    job_namespaces: dict[str, str] = field(default_factory=dict)  # on workers, by job id
    max_direct_call_object_size: int = 100 * 1024
    config: dict[str, Any] = field(default_factory=dict)  # the config table this process runs with
    cluster_totals: dict[str, float] | None = None
    # function id -> callable, on workers; on drivers the ids already exported.
    functions: dict[bytes, Callable[..., Any]] = field(default_factory=dict)
    exported: set[bytes] = field(default_factory=set)
    # On an actor's worker: the actor's id and instance.
    actor_id: bytes | None = None
    actor_instance: Any = None
    actor_options: dict[str, Any] | None = None
    actor_gpu_ids: list[int] = field(default_factory=list)  # its lease's GPUs
    actor_resources: dict[str, float] = field(default_factory=dict)  # its creation's demand
    actor_resource_ids: dict[str, list[int]] = field(default_factory=dict)  # and instances
    actor_loop: Any = None  # asyncio loop of an async actor
    warned_blocking_get: bool = False  # get() on that loop warned once
    ref_readers: Any = None  # ThreadPoolExecutor of ref futures (ref_futures.py)
    log_streamer: Any = None  # a driver's log_streamer.LogStreamer (log_to_driver)
    progress_bars: Any = None  # a driver's progress_bars.BarManager (tqdm_ray)
    metrics: Any = None  # comet.util.metrics' registry: kept across shutdown() and init()
    job_runtime_env: dict[str, Any] = field(default_factory=dict)  # a driver's job env
    runtime_envs: dict[str, Any] = field(default_factory=dict)  # prepared, by merged JSON
    actor_semaphore: Any = None  # bounds its concurrent calls (max_concurrency)
    actor_semaphores: dict[str, Any] = field(default_factory=dict)  # per concurrency group
    actor_pools: dict[str, Any] = field(default_factory=dict)  # threaded actors with groups
    # A task running here asked its placement group to capture child tasks.
    capturing_placement_group: bool = False
    # The task this worker's execution thread runs now (read from other threads).
    running_task_id: bytes | None = None
    announced_task: Any = None  # (function, name) last named to the log monitor
    cancelled_task_id: bytes | None = None  # cancel() interrupted this task
    # Actor calls cancel() reached while they ran (is_canceled(); an async
    # actor's are also cancelled on its loop), and an async actor's running
    # calls, by task id.
    cancelled_calls: set[bytes] = field(default_factory=set)
    async_calls: dict[bytes, Any] = field(default_factory=dict)
    # GPU ids and task of the task running on this thread or asyncio task.
    local: TaskLocal = field(default_factory=TaskLocal)
    lock: threading.RLock = field(default_factory=threading.RLock)

    @property
    def connected(self) -> bool:
        return self.core_worker is not None


_CONTEXT = WorkerContext()


def get() -> WorkerContext:
    """This process's context (always the same object)."""
    return _CONTEXT


def current_namespace() -> str:
    """The namespace named actors and placement groups live in: the driver's
    (its `init(namespace=...)`, else an anonymous one of its own), and on a
    worker the namespace of the job it works for (read from the GCS once)."""
    ctx = _CONTEXT
    if ctx.mode != "worker" or ctx.core_worker is None:
        return ctx.namespace
    job_hex = ctx.core_worker.job_id.hex()
    cached = ctx.job_namespaces.get(job_hex)
    if cached is None:
        from comet import _raylet

        jobs = _raylet.StateClient(ctx.gcs_address).jobs()
        cached = next((j.get("namespace", "") for j in jobs if j.get("job_id") == job_hex), "")
        ctx.job_namespaces[job_hex] = cached
    return cached


def reset() -> None:
    """Forgets everything (after shutdown)."""
    global _CONTEXT
    _CONTEXT = WorkerContext(metrics=_CONTEXT.metrics)


AUTO_CONNECT_ENV = "COMET_ENABLE_AUTO_CONNECT"


def core_worker(auto_init: bool = False) -> Any:
    """The connected core worker.

    When this process is not connected, ``auto_init`` calls ``comet.init()``
    first, as Ray does on first use of ``.remote()``, ``get``, ``put``... (not
    when ``COMET_ENABLE_AUTO_CONNECT=0``); otherwise this raises.
    """
    cw = _CONTEXT.core_worker
    if cw is not None:
        return cw
    if auto_init and _CONTEXT.mode is None and os.environ.get(AUTO_CONNECT_ENV, "") != "0":
        from comet._private import worker

        worker.init(ignore_reinit_error=True)
        return _CONTEXT.core_worker
    raise RuntimeError(
        "Comet is not initialized: call comet.init() first (or run inside a Comet task)."
    )
