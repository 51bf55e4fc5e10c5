"""``comet.get_runtime_context()``: what this process and its running task
are (job, node, worker, task, actor, resources), in Ray's names."""

from __future__ import annotations

from typing import Any

from comet._private import executor, worker_context
from comet._private.ids import ActorID, JobID, NodeID, TaskID, WorkerID


def _local(name: str) -> Any:
    return getattr(worker_context.get().local, name, None)


class RuntimeContext:
    """The runtime context of a driver, a task or an actor.

    ``get_*_id()`` return hex strings; the ``job_id``, ``node_id``,
    ``task_id`` and ``actor_id`` properties return id objects (with
    ``.hex()``), as in Ray.
    """

    def get(self) -> dict[str, Any]:
        """A dict of the context: job_id, node_id, namespace, and task_id and
        actor_id where there are a task and an actor (id objects)."""
        out: dict[str, Any] = {"job_id": self.job_id, "node_id": self.node_id,
                               "namespace": self.namespace}
        if worker_context.get().mode == "worker":
            out["task_id"] = self.task_id
            if worker_context.get().actor_id is not None:
                out["actor_id"] = self.actor_id
        return out

    # -- ids as hex --------------------------------------------------------------

    def get_job_id(self) -> str:
        """The current job's id, as hex."""
        return worker_context.core_worker().job_id.hex()

    def get_node_id(self) -> str:
        """The id of the node this process runs on, as hex."""
        return worker_context.core_worker().node_id.hex()

    def get_worker_id(self) -> str:
        """This worker's (or driver's) id, as hex."""
        return worker_context.core_worker().worker_id.hex()

    def get_task_id(self) -> str | None:
        """The running task's id as hex; None on a driver."""
        task_id = self._task_id_bytes()
        return task_id.hex() if task_id else None

    def get_actor_id(self) -> str | None:
        """The current actor's id as hex; None outside an actor."""
        actor_id = worker_context.get().actor_id
        return actor_id.hex() if actor_id else None

    # -- ids as objects ----------------------------------------------------------

    @property
    def job_id(self) -> JobID:
        """The current job's id."""
        return JobID(worker_context.core_worker().job_id)

    @property
    def node_id(self) -> NodeID:
        """The id of the node this process runs on."""
        return NodeID(worker_context.core_worker().node_id)

    @property
    def worker_id(self) -> WorkerID:
        """This process's worker id."""
        return WorkerID(worker_context.core_worker().worker_id)

    @property
    def task_id(self) -> TaskID | None:
        """The running task's id; None on a driver."""
        task_id = self._task_id_bytes()
        return TaskID(task_id) if task_id else None

    @property
    def actor_id(self) -> ActorID | None:
        """The current actor's id; None outside an actor."""
        actor_id = worker_context.get().actor_id
        return ActorID(actor_id) if actor_id else None

    def _task_id_bytes(self) -> bytes | None:
        if worker_context.get().mode != "worker":
            return None
        return _local("task_id") or worker_context.get().running_task_id

    # -- the task ----------------------------------------------------------------

    def get_task_name(self) -> str | None:
        """The running task's name: its ``options(name=...)``, else the
        function's name (``f``, ``Actor.method``, ``Actor.__init__``); None on
        a driver."""
        task = _local("task")
        return executor.task_names(task)[0] if task is not None else None

    def get_task_function_name(self) -> str | None:
        """The running task's function with its module (``mod.f``,
        ``mod.Actor.method``); None on a driver."""
        task = _local("task")
        return executor.task_names(task)[1] if task is not None else None

    def get_assigned_resources(self) -> dict[str, float]:
        """The resources the running task holds, e.g. ``{"CPU": 1.0}`` for a
        task by default; an actor's methods hold what its creation asked
        (``{}`` by default). Empty on a driver."""
        return dict(executor.held_resources()[0])

    def get_accelerator_ids(self) -> dict[str, list[str]]:
        """The ids of the accelerators the running task may use, by kind:
        ``{"GPU": ["0"]}``; empty lists on a driver."""
        return {"GPU": [str(i) for i in (_local("gpu_ids") or [])]}

    # -- the actor ---------------------------------------------------------------

    @property
    def current_actor(self) -> Any:
        """A handle to the actor this code runs in; RuntimeError outside one."""
        from comet.actor import handle_of_current_actor

        return handle_of_current_actor()

    def is_canceled(self) -> bool:
        """Whether comet.cancel() reached the running actor call (a sync
        actor's call is not interrupted; it can check this and stop).
        RuntimeError in an async actor (its call is cancelled on the event
        loop instead) and outside an actor call."""
        ctx = worker_context.get()
        task_id = self._task_id_bytes()
        if ctx.actor_instance is None or task_id is None:
            raise RuntimeError("is_canceled() is only available in an actor call")
        if ctx.actor_loop is not None:
            raise RuntimeError("is_canceled() is not supported in an async actor; "
                               "its call is cancelled as an asyncio task instead")
        with ctx.lock:
            return task_id in ctx.cancelled_calls

    @property
    def was_current_actor_reconstructed(self) -> bool:
        """Whether the current actor was restarted after a failure (asks the
        GCS); False outside an actor."""
        ctx = worker_context.get()
        if ctx.actor_id is None:
            return False
        from comet.util.state.api import state_client

        actor_hex = ctx.actor_id.hex()
        for row in state_client(ctx.gcs_address).actors():
            if row.get("actor_id") == actor_hex:
                return int(row.get("num_restarts", 0)) > 0
        return False

    # -- the cluster -------------------------------------------------------------

    @property
    def namespace(self) -> str:
        """The namespace of this job's named actors and placement groups."""
        return worker_context.current_namespace()

    @property
    def gcs_address(self) -> str:
        """The GCS's HOST:PORT."""
        return worker_context.get().gcs_address

    def get_dashboard_url(self) -> str | None:
        """The dashboard's HOST:PORT (no scheme, as Ray gives it) when the
        cluster runs one (``comet start --head``); else None."""
        from comet._private.worker import dashboard_url

        return dashboard_url()


def get_runtime_context() -> RuntimeContext:
    """The runtime context of this process (driver or worker). Connects first
    (``comet.init()``) when this process is not connected yet, as Ray does."""
    worker_context.core_worker(auto_init=True)
    return RuntimeContext()
