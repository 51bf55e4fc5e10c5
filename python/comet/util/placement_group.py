"""Placement groups, under Ray's ``ray.util.placement_group`` names.

    from comet.util.placement_group import placement_group, remove_placement_group
    from comet.util.scheduling_strategies import PlacementGroupSchedulingStrategy

    pg = placement_group([{"CPU": 1}, {"CPU": 1}], strategy="PACK")
    comet.get(pg.ready())
    f.options(scheduling_strategy=PlacementGroupSchedulingStrategy(pg, 1)).remote()
    remove_placement_group(pg)

A placement group reserves bundles of resources, all or none, on nodes the
GCS picks by strategy (PACK, SPREAD, STRICT_PACK, STRICT_SPREAD). Until it
fits it is PENDING; once CREATED, each bundle shows as resources of its own
(``CPU_group_<i>_<id>``...) that tasks of the group ask for. Removing it
gives the resources back. The calls here talk to the GCS directly
(``comet._raylet.GcsClient``).
"""

from __future__ import annotations

import os
import threading
import time
import warnings
from typing import Any

from comet import _raylet
from comet._private import placement, worker_context
from comet._private.ids import BaseID

__all__ = [
    "PlacementGroup",
    "PlacementGroupID",
    "get_current_placement_group",
    "get_placement_group",
    "placement_group",
    "placement_group_table",
    "remove_placement_group",
]

STRATEGIES = ("PACK", "SPREAD", "STRICT_PACK", "STRICT_SPREAD")
# Longest single call to the GCS while waiting, so that Ctrl-C gets through.
_WAIT_SLICE_S = 1.0
_ID_UNIQUE_BYTES = 14
_JOB_ID_BYTES = 4


class PlacementGroupID(BaseID):
    """A placement group's id: 14 random bytes and the creator's job id."""

    __slots__ = ()
    SIZE = _ID_UNIQUE_BYTES + _JOB_ID_BYTES

    def __init__(self, binary: bytes) -> None:
        if not isinstance(binary, bytes) or len(binary) != self.SIZE:
            raise ValueError(f"a PlacementGroupID is {self.SIZE} bytes, got {binary!r}")
        super().__init__(binary)

    @classmethod
    def of_job(cls, job_id: bytes) -> PlacementGroupID:
        return cls(os.urandom(_ID_UNIQUE_BYTES) + bytes(job_id))


class PlacementGroup:
    """A handle to a placement group (it can be passed to tasks and actors)."""

    def __init__(self, id: PlacementGroupID | bytes,
                 bundle_cache: list[dict[str, float]] | None = None) -> None:
        self.id = id if isinstance(id, PlacementGroupID) else PlacementGroupID(id)
        self._bundle_cache = bundle_cache

    @property
    def bundle_specs(self) -> list[dict[str, float]]:
        """Each bundle's resources, by index."""
        if self._bundle_cache is None:
            row = _client().get_placement_group(self.id.binary())
            if row is None:
                raise ValueError(f"placement group {self.id.hex()} does not exist")
            self._bundle_cache = [dict(b) for b in row["bundles"]]
        return [dict(b) for b in self._bundle_cache]

    @property
    def bundle_count(self) -> int:
        return len(self.bundle_specs)

    def ready(self) -> Any:
        """An ObjectRef that resolves to this group once it is CREATED.

        It is the result of a tiny task that needs no CPU and runs inside
        the group, so ``comet.get(pg.ready(), timeout=...)`` and
        ``comet.wait([pg.ready()], ...)`` both work.
        """
        if was_removed(self.id):
            raise ValueError(f"Placement group {self.id.hex()} has been removed: no task or "
                             "actor can be scheduled in it any more.")
        resources = placement.in_group({}, self.id.hex(), -1)
        check = _reservation_check().options(
            num_cpus=0, resources=resources, scheduling_strategy="DEFAULT")
        with warnings.catch_warnings():
            # Bundle resources appear only once the group is created.
            warnings.filterwarnings("ignore", message=r".*cannot be satisfied by any node")
            return check.remote(self)

    def wait(self, timeout_seconds: float = 30) -> bool:
        """Whether the group is CREATED within ``timeout_seconds``.

        False too when the group is removed meanwhile.
        """
        if isinstance(timeout_seconds, bool) or not isinstance(timeout_seconds, (int, float)) \
                or timeout_seconds < 0:
            raise ValueError(f"timeout_seconds must be a number >= 0, got {timeout_seconds!r}")
        deadline = time.monotonic() + timeout_seconds
        client = _client()
        while True:
            left = max(0.0, deadline - time.monotonic())
            ready, removed = client.wait_placement_group_until_ready(
                self.id.binary(), min(left, _WAIT_SLICE_S))
            if ready or removed or left <= _WAIT_SLICE_S:
                return ready

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PlacementGroup) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    def __repr__(self) -> str:
        return f"PlacementGroup({self.id.hex()})"

    def __reduce__(self) -> tuple:
        return (PlacementGroup, (self.id.binary(), self._bundle_cache))


def placement_group(bundles: list[dict[str, float]], strategy: str = "PACK", name: str = "",
                    lifetime: str | None = None,
                    _soft_target_node_id: str | None = None) -> PlacementGroup:
    """Asks the cluster to reserve ``bundles`` (each ``{resource: quantity}``)
    and returns the group at once; ``ready()`` / ``wait()`` tell when it is
    placed.

    ``lifetime="detached"`` keeps the group after its job ends (otherwise it
    is removed then). A ``name`` must be unique in the namespace; look the
    group up with :func:`get_placement_group`.
    """
    checked = _check_bundles(bundles)
    if strategy not in STRATEGIES:
        raise ValueError(f"Invalid placement group strategy {strategy!r}. Supported strategies "
                         f"are: {', '.join(STRATEGIES)}.")
    if not isinstance(name, str):
        raise TypeError(f"The placement group name must be a str, got {type(name).__name__}")
    if lifetime not in (None, "detached"):
        raise ValueError("Placement group `lifetime` argument must be either `None` or "
                         f"'detached', got {lifetime!r}")
    soft_target = b""
    if _soft_target_node_id is not None:
        if strategy != "STRICT_PACK":
            raise ValueError("_soft_target_node_id only works with the STRICT_PACK strategy")
        try:
            soft_target = bytes.fromhex(_soft_target_node_id)
        except (TypeError, ValueError):
            raise ValueError("_soft_target_node_id must be a node id in hex, got "
                             f"{_soft_target_node_id!r}") from None
    job_id = worker_context.core_worker().job_id
    group_id = PlacementGroupID.of_job(job_id)
    _client().create_placement_group(
        group_id.binary(), checked, strategy, name, worker_context.current_namespace(), job_id,
        lifetime == "detached", soft_target)
    return PlacementGroup(group_id, checked)


def remove_placement_group(placement_group: PlacementGroup) -> None:
    """Releases the group's resources; it is REMOVED for good."""
    if not isinstance(placement_group, PlacementGroup):
        raise TypeError("remove_placement_group() expects a PlacementGroup, got "
                        f"{type(placement_group).__name__}")
    _client().remove_placement_group(placement_group.id.binary())
    with _lock:
        _removed.add(placement_group.id.binary())


def get_placement_group(placement_group_name: str) -> PlacementGroup:
    """The live placement group of that name in the current namespace."""
    if not isinstance(placement_group_name, str) or not placement_group_name:
        raise ValueError("get_placement_group() expects a non-empty name, got "
                         f"{placement_group_name!r}")
    row = _client().get_named_placement_group(placement_group_name,
                                              worker_context.current_namespace())
    if row is None:
        raise ValueError(f"Failed to look up placement group with name: {placement_group_name}")
    return PlacementGroup(row["placement_group_id"], [dict(b) for b in row["bundles"]])


def placement_group_table(placement_group: PlacementGroup | None = None) -> dict[str, Any]:
    """One group's state as a dict ({} if unknown), or, with no argument,
    every group's by id (hex). Keys follow Ray: placement_group_id, name,
    bundles ({index: {resource: quantity}}), bundles_to_node_id, strategy,
    state (PENDING, CREATED, REMOVED, RESCHEDULING), is_detached, stats.
    """
    client = _client()
    if placement_group is not None:
        if not isinstance(placement_group, PlacementGroup):
            raise TypeError("placement_group_table() expects a PlacementGroup or None, got "
                            f"{type(placement_group).__name__}")
        row = client.get_placement_group(placement_group.id.binary())
        return {} if row is None else _table_entry(row)
    return {row["placement_group_id"].hex(): _table_entry(row)
            for row in client.get_all_placement_groups()}


def get_current_placement_group() -> PlacementGroup | None:
    """The placement group the current task or actor runs in; None on a
    driver or outside groups."""
    group_id = getattr(worker_context.get().local, "placement_group_id", None)
    return PlacementGroup(group_id) if group_id else None


# -- internals ---------------------------------------------------------------------------

_lock = threading.Lock()
_clients: dict[str, Any] = {}
# Groups this process removed: tasks can no longer be scheduled in them.
_removed: set[bytes] = set()
_check_function: Any = None


def _client() -> Any:
    """This process's GcsClient for the GCS it is connected to."""
    worker_context.core_worker()  # Raises if comet.init() was not called.
    address = worker_context.get().gcs_address
    with _lock:
        client = _clients.get(address)
        if client is None:
            _clients.clear()  # A previous cluster's.
            client = _clients[address] = _raylet.GcsClient(address)
        return client


def was_removed(group_id: PlacementGroupID) -> bool:
    """Whether this process removed the group."""
    return group_id.binary() in _removed


def alive_node_ids() -> set[bytes]:
    """Ids of the cluster's live nodes."""
    return set(_client().alive_node_ids())


def _check_bundles(bundles: Any) -> list[dict[str, float]]:
    if not isinstance(bundles, (list, tuple)) or not bundles:
        raise ValueError("The placement group `bundles` argument must be a non-empty list of "
                         f"dicts, got {bundles!r}")
    checked = []
    for bundle in bundles:
        if not isinstance(bundle, dict):
            raise ValueError(f"Each bundle must be a dict of resource quantities, got {bundle!r}")
        for resource, quantity in bundle.items():
            if not isinstance(resource, str) or not resource:
                raise ValueError(f"Bundle resource names must be non-empty strs, got {resource!r}")
            if isinstance(quantity, bool) or not isinstance(quantity, (int, float)) \
                    or quantity < 0 or quantity != quantity:
                raise ValueError(f"Bundle quantities must be numbers >= 0, got "
                                 f"{resource}={quantity!r}")
        if not any(quantity > 0 for quantity in bundle.values()):
            raise ValueError("Bundles cannot be an empty dictionary or resources with only 0 "
                             f"values. Bundles: {list(bundles)}")
        checked.append({resource: float(q) for resource, q in bundle.items() if q > 0})
    return checked


def _table_entry(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "placement_group_id": row["placement_group_id"].hex(),
        "name": row["name"],
        "bundles": {i: dict(b) for i, b in enumerate(row["bundles"])},
        "bundles_to_node_id": {i: n.hex() for i, n in enumerate(row["bundle_node_ids"])},
        "strategy": row["strategy"],
        "state": row["state"],
        "is_detached": row["is_detached"],
        "stats": {"scheduling_state": row["state"]},
    }


def _bundle_reservation_check(placement_group: PlacementGroup) -> PlacementGroup:
    # It runs inside the group, so the group's bundles are committed here;
    # returning once the GCS also says CREATED keeps ready() and the table
    # consistent.
    while not placement_group.wait(_WAIT_SLICE_S * 10):
        if placement_group_table(placement_group).get("state") == "REMOVED":
            raise ValueError(f"placement group {placement_group.id.hex()} was removed")
    return placement_group


def _reservation_check() -> Any:
    global _check_function
    if _check_function is None:
        from comet._private.remote import remote  # the API imports this module

        _check_function = remote(num_cpus=0, max_retries=0)(_bundle_reservation_check)
    return _check_function
