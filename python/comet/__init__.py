"""Comet: a distributed runtime for Python tasks and actors, with Ray Core's API.

    import comet

    comet.init()

    @comet.remote
    def square(x):
        return x * x

    print(comet.get([square.remote(i) for i in range(4)]))
"""

from __future__ import annotations

__version__ = "0.1.0"

from comet import exceptions
from comet.actor import ActorClass, ActorHandle, exit_actor, get_actor, kill, method
from comet._raylet import ObjectRef
from comet._private.generator import DynamicObjectRefGenerator, ObjectRefGenerator
from comet._private.ids import ActorID, JobID, NodeID, TaskID, WorkerID
from comet._private.state import timeline
from comet._private.worker import (
    available_resources,
    cancel,
    cluster_resources,
    get,
    get_gpu_ids,
    init,
    is_initialized,
    nodes,
    put,
    shutdown,
    wait,
)
from comet._private.remote import remote
from comet.runtime_context import get_runtime_context
from comet import job_config

from comet.util.placement_group import PlacementGroupID

ObjectID = ObjectRef  # Ray's old name, kept as Ray keeps it

__all__ = [
    "ActorClass",
    "ActorHandle",
    "ActorID",
    "DynamicObjectRefGenerator",
    "JobID",
    "NodeID",
    "ObjectID",
    "ObjectRef",
    "ObjectRefGenerator",
    "PlacementGroupID",
    "TaskID",
    "WorkerID",
    "__version__",
    "available_resources",
    "cancel",
    "cluster_resources",
    "exceptions",
    "exit_actor",
    "get_actor",
    "kill",
    "method",
    "get",
    "get_gpu_ids",
    "get_runtime_context",
    "init",
    "is_initialized",
    "job_config",
    "nodes",
    "put",
    "remote",
    "shutdown",
    "timeline",
    "wait",
]
