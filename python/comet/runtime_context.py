"""``comet.get_runtime_context()``: ids of the job, node, worker and task."""

from __future__ import annotations

from comet._private import worker_context


class RuntimeContext:
    """What the current process and task are, in Ray's names."""

    def get_job_id(self) -> str:
        """The current job's id, as hex."""
        return worker_context.core_worker().job_id.hex()

    def get_node_id(self) -> str:
        """This node's id, as hex."""
        return worker_context.core_worker().node_id.hex()

    def get_worker_id(self) -> str:
        """This worker's id, as hex."""
        return worker_context.core_worker().worker_id.hex()

    def get_task_id(self) -> str | None:
        """The running task's id as hex; None on a driver."""
        ctx = worker_context.get()
        if ctx.mode != "worker":
            return None
        task_id = getattr(ctx.local, "task_id", None)
        return task_id.hex() if task_id else None

    def get_actor_id(self) -> str | None:
        """The current actor's id; None outside actors (no actors yet)."""
        return None

    @property
    def job_id(self) -> str:
        return self.get_job_id()

    @property
    def node_id(self) -> str:
        return self.get_node_id()

    @property
    def task_id(self) -> str | None:
        return self.get_task_id()

    @property
    def namespace(self) -> str:
        return worker_context.current_namespace()

    @property
    def gcs_address(self) -> str:
        return worker_context.get().gcs_address

    def get_assigned_resources(self) -> dict[str, list[int]]:
        """Resource instance ids assigned to the running task (GPU ids)."""
        gpu_ids = getattr(worker_context.get().local, "gpu_ids", [])
        return {"GPU": list(gpu_ids)} if gpu_ids else {}

    @property
    def was_current_actor_reconstructed(self) -> bool:
        return False


def get_runtime_context() -> RuntimeContext:
    """The runtime context of this process (driver or worker)."""
    return RuntimeContext()
