"""``comet.cluster_utils.Cluster``: a cluster of several nodes on this
machine, for tests, as Ray's ``ray.cluster_utils.Cluster``.

Each node is a real raylet (with its own object store, workers and session
folder) registered with one real GCS; they all run on 127.0.0.1::

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    worker = cluster.add_node(num_cpus=2, resources={"special": 1})
    cluster.wait_for_nodes()
    comet.init(address=cluster.address)
    ...
    cluster.remove_node(worker)   # its tasks and actors fail over
    cluster.shutdown()

The cluster stops only the processes it started.
"""

from __future__ import annotations

import atexit
import tempfile
import time
from typing import Any

from comet._private import auth, session
from comet._private.node import NodeOptions, RayletInfo, start_gcs, start_raylet

_NODE_ARGS = ("num_cpus", "num_gpus", "resources", "memory", "object_store_memory",
              "_system_config")


class ClusterNode:
    """One node of a :class:`Cluster`: its raylet process and ids."""

    def __init__(self, info: RayletInfo, session_dir: str, gcs_address: str,
                 is_head: bool) -> None:
        self._info = info
        self.session_dir = session_dir
        self.address = gcs_address  # as Ray's Node.address: the cluster's GCS
        self.node_ip_address = info.address.rsplit(":", 1)[0]
        self.raylet_address = info.address
        self.plasma_store_socket_name = info.plasma_socket
        self.is_head = is_head

    @property
    def node_id(self) -> str:
        """The node's id, as hex."""
        return self._info.node_id.hex()

    @property
    def unique_id(self) -> str:
        return self.node_id

    def alive(self) -> bool:
        return self._info.process.alive()

    def kill(self, graceful: bool = True) -> None:
        """Stops the raylet (SIGTERM, or SIGKILL when not graceful); its workers follow."""
        process = self._info.process
        if not graceful and process.alive():
            process.proc.kill()
            process.proc.wait()
        process.stop()
        session.remove_runtime_files(self.session_dir)

    def __repr__(self) -> str:
        return f"ClusterNode(node_id={self.node_id}, head={self.is_head})"


class Cluster:
    """A GCS and raylets on this machine, started and stopped by this object.

    ``initialize_head``: start the head node now (with ``head_node_args``:
    num_cpus, num_gpus, resources, memory, object_store_memory,
    _system_config). ``connect``: then ``comet.init(address=...)`` this
    process. ``shutdown_at_exit``: stop everything at interpreter exit.
    """

    def __init__(self, initialize_head: bool = False, connect: bool = False,
                 head_node_args: dict[str, Any] | None = None,
                 shutdown_at_exit: bool = True, temp_dir: str | None = None) -> None:
        if connect and not initialize_head:
            raise ValueError("Cluster(connect=True) needs initialize_head=True")
        self._temp_dir = temp_dir or tempfile.mkdtemp(prefix="comet-cluster-")
        self._gcs = None
        self._system_config: dict[str, Any] = {}
        self.gcs_address = ""
        self.head_node: ClusterNode | None = None
        self.worker_nodes: list[ClusterNode] = []
        self._connected = False
        if shutdown_at_exit:
            atexit.register(self.shutdown)
        if initialize_head:
            self.add_node(**(head_node_args or {}))
            if connect:
                self.connect()

    @property
    def address(self) -> str:
        """The GCS's HOST:PORT: what ``comet.init(address=...)`` takes."""
        return self.gcs_address

    def add_node(self, wait: bool = True, **node_args: Any) -> ClusterNode:
        """Starts a node (the head first, with the GCS) and returns it. Takes
        num_cpus, num_gpus, resources, memory, object_store_memory and (the
        head only) _system_config; anything else raises TypeError."""
        unknown = set(node_args) - set(_NODE_ARGS)
        if unknown:
            raise TypeError(f"add_node() got unsupported arguments: {sorted(unknown)} "
                            f"(supported: {', '.join(_NODE_ARGS)})")
        system_config = dict(node_args.pop("_system_config", None) or {})
        if system_config and self._gcs is not None:
            raise ValueError("_system_config can only be given to the head node; the other "
                             "nodes take the head's")
        is_head = self._gcs is None
        session_dir = session.new_session_dir(self._temp_dir)
        if is_head:
            auth.ensure_token()
            self._system_config = system_config
            self._gcs, self.gcs_address = start_gcs(session_dir, "127.0.0.1", 0, system_config)
            session.set_latest(session_dir, self.gcs_address)
        options = NodeOptions(temp_dir=self._temp_dir, system_config=self._system_config,
                              **node_args)
        info = start_raylet(session_dir, self.gcs_address, options)
        node = ClusterNode(info, session_dir, self.gcs_address, is_head)
        if is_head:
            self.head_node = node
        else:
            self.worker_nodes.append(node)
        if wait:
            self._wait_for(lambda alive: node.node_id in alive, 30.0,
                           f"node {node.node_id} did not register")
        return node

    def remove_node(self, node: ClusterNode, allow_graceful: bool = True) -> None:
        """Stops a node's raylet; removing the head also stops the GCS."""
        node.kill(graceful=allow_graceful)
        if node is self.head_node:
            self.head_node = None
            if self._gcs is not None:
                self._gcs.stop()
                self._gcs = None
        elif node in self.worker_nodes:
            self.worker_nodes.remove(node)

    def list_all_nodes(self) -> list[ClusterNode]:
        """The head (if running) and the other nodes."""
        return ([self.head_node] if self.head_node else []) + list(self.worker_nodes)

    def wait_for_nodes(self, timeout: float = 30) -> None:
        """Waits until the GCS sees exactly this cluster's running nodes alive."""
        wanted = {n.node_id for n in self.list_all_nodes()}
        self._wait_for(lambda alive: alive == wanted, timeout,
                       f"the GCS did not see the nodes {sorted(wanted)} alive")

    def _alive_node_ids(self) -> set[str]:
        from comet import _raylet

        return {n["NodeID"] for n in _raylet.gcs_nodes(self.gcs_address) if n["Alive"]}

    def _wait_for(self, cond: Any, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while True:
            alive = self._alive_node_ids()
            if cond(alive):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what} within {timeout}s (alive: {sorted(alive)})")
            time.sleep(0.1)

    def connect(self, namespace: str | None = None) -> Any:
        """``comet.init(address=self.address)`` in this process."""
        from comet._private.worker import init

        self._connected = True
        return init(address=self.gcs_address, namespace=namespace, _temp_dir=self._temp_dir)

    def shutdown(self) -> None:
        """Disconnects this process if :meth:`connect` connected it, then stops
        every node and the GCS. Idempotent."""
        if self._connected:
            from comet._private.worker import shutdown

            shutdown()
            self._connected = False
        for node in reversed(self.list_all_nodes()):
            if node.alive():
                node.kill()
        self.worker_nodes = []
        self.head_node = None
        if self._gcs is not None:
            self._gcs.stop()
            self._gcs = None
        atexit.unregister(self.shutdown)

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.shutdown()


__all__ = ["Cluster", "ClusterNode"]
