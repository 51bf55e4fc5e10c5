"""Scheduling strategies, under Ray's ``ray.util.scheduling_strategies`` names,
and what they do to a task's resource demand.

    from comet.util.scheduling_strategies import PlacementGroupSchedulingStrategy

    f.options(scheduling_strategy=PlacementGroupSchedulingStrategy(pg, 0)).remote()

Raylets know nothing of strategies: a strategy becomes resources. A task in a
placement group asks for the group's bundle resources instead of its own
(``{"CPU": 1}`` becomes ``{"CPU_group_<G>": 1}``, plus ``"CPU_group_0_<G>"``
for bundle 0), and a task pinned to a node asks for a sliver of the node's
``node_id:<hex>`` resource. :func:`apply_scheduling_strategy` does the
renaming; :func:`strategy_from_options` finds the strategy a task's options
(and the placement group of the task that submits it) ask for.
"""

from __future__ import annotations

from typing import Any, Mapping

from comet._private import placement, worker_context
from comet.util.placement_group import PlacementGroup, alive_node_ids, was_removed

__all__ = [
    "NodeAffinitySchedulingStrategy",
    "PlacementGroupSchedulingStrategy",
    "apply_scheduling_strategy",
    "strategy_from_options",
]

NODE_ID_RESOURCE_PREFIX = placement.NODE_ID_RESOURCE_PREFIX
_NODE_ID_HEX_LENGTH = 56


class PlacementGroupSchedulingStrategy:
    """Runs a task or actor in a placement group's reserved resources.

    ``placement_group_bundle_index`` -1 means any bundle of the group.
    ``placement_group_capture_child_tasks``: the tasks and actors that this
    one submits without a strategy of their own run in the group too.
    """

    def __init__(self, placement_group: PlacementGroup | None,
                 placement_group_bundle_index: int = -1,
                 placement_group_capture_child_tasks: bool | None = None) -> None:
        if placement_group is not None and not isinstance(placement_group, PlacementGroup):
            raise TypeError("placement_group must be a PlacementGroup (from "
                            f"comet.util.placement_group), got {type(placement_group).__name__}")
        if (isinstance(placement_group_bundle_index, bool)
                or not isinstance(placement_group_bundle_index, int)
                or placement_group_bundle_index < -1):
            raise ValueError("placement_group_bundle_index must be -1 (any bundle) or a "
                             f"bundle's index, got {placement_group_bundle_index!r}")
        if placement_group_capture_child_tasks not in (None, True, False):
            raise ValueError("placement_group_capture_child_tasks must be a bool or None, "
                             f"got {placement_group_capture_child_tasks!r}")
        self.placement_group = placement_group
        self.placement_group_bundle_index = placement_group_bundle_index
        self.placement_group_capture_child_tasks = placement_group_capture_child_tasks

    def __repr__(self) -> str:
        return (f"PlacementGroupSchedulingStrategy({self.placement_group!r}, "
                f"placement_group_bundle_index={self.placement_group_bundle_index}, "
                f"placement_group_capture_child_tasks="
                f"{self.placement_group_capture_child_tasks})")


class NodeAffinitySchedulingStrategy:
    """Runs a task or actor on the node ``node_id`` (hex, as
    ``comet.get_runtime_context().get_node_id()`` gives it).

    With ``soft=False`` the task waits for that node as long as it takes;
    with ``soft=True`` it runs anywhere when that node is not alive.
    """

    def __init__(self, node_id: str, soft: bool, _spill_on_unavailable: bool = False,
                 _fail_on_unavailable: bool = False) -> None:
        if isinstance(node_id, bytes):
            node_id = node_id.hex()
        if not isinstance(node_id, str) or len(node_id) != _NODE_ID_HEX_LENGTH:
            raise ValueError(f"node_id must be a node id in hex ({_NODE_ID_HEX_LENGTH} "
                             f"characters), got {node_id!r}")
        try:
            bytes.fromhex(node_id)
        except ValueError:
            raise ValueError(f"node_id must be a node id in hex, got {node_id!r}") from None
        self.node_id = node_id.lower()
        self.soft = bool(soft)
        self._spill_on_unavailable = _spill_on_unavailable
        self._fail_on_unavailable = _fail_on_unavailable

    def __repr__(self) -> str:
        return f"NodeAffinitySchedulingStrategy(node_id={self.node_id!r}, soft={self.soft})"


def strategy_from_options(options: Mapping[str, Any]) -> Any:
    """The scheduling strategy that a task's (or actor's) validated, merged
    options ask for.

    ``scheduling_strategy`` if given; else the older ``placement_group``,
    ``placement_group_bundle_index`` and ``placement_group_capture_child_tasks``
    options; else, inside a task or actor whose placement group captures
    child tasks, that group (any bundle). ``None`` means the default
    placement. An explicit ``scheduling_strategy="DEFAULT"`` never inherits.
    """
    strategy = options.get("scheduling_strategy")
    if strategy is not None:
        return strategy
    group = options.get("placement_group", "default")
    if isinstance(group, PlacementGroup):
        return PlacementGroupSchedulingStrategy(
            group, options.get("placement_group_bundle_index", -1),
            options.get("placement_group_capture_child_tasks"))
    if group not in (None, "default"):
        raise TypeError("placement_group must be a PlacementGroup, None or 'default', "
                        f"got {type(group).__name__}")
    if group is None:
        return None
    local = worker_context.get().local
    current = getattr(local, "placement_group_id", None)
    if current and getattr(local, "placement_group_capture_child_tasks", False):
        return PlacementGroupSchedulingStrategy(PlacementGroup(current), -1, True)
    return None


def apply_scheduling_strategy(resources: dict[str, float],
                              strategy: Any) -> tuple[dict[str, float], dict[str, Any]]:
    """Renames a task's resource demand for its scheduling strategy.

    Returns ``(resources, extra)``: the demand to ask the raylet for, and the
    fields to set on the task spec (``placement_group_id``,
    ``placement_group_bundle_index``, ``placement_group_capture_child_tasks``
    for a placement group; empty otherwise). ``resources`` is not modified.

    - ``None``, ``"DEFAULT"``, ``"SPREAD"``: the demand unchanged.
    - :class:`PlacementGroupSchedulingStrategy`: each ``R: q`` becomes
      ``R_group_<G>: q`` (any bundle of G) and, for bundle index i, also
      ``R_group_i_<G>: q``; an empty demand becomes ``bundle_group_<G>:
      0.001`` (and ``bundle_group_i_<G>``). ``ValueError`` for a bundle index
      the group does not have, or a group removed by this process.
    - :class:`NodeAffinitySchedulingStrategy`: adds ``node_id:<hex>: 0.001``;
      a soft affinity to a node that is not alive adds nothing.
    """
    if strategy is None or isinstance(strategy, str):
        if strategy not in (None, "DEFAULT", "SPREAD"):
            raise ValueError(f"Unknown scheduling strategy {strategy!r}; expected None, "
                             "'DEFAULT', 'SPREAD' or a strategy object.")
        return dict(resources), {}
    if isinstance(strategy, PlacementGroupSchedulingStrategy):
        return _in_placement_group(resources, strategy)
    if isinstance(strategy, NodeAffinitySchedulingStrategy):
        return _on_node(resources, strategy), {}
    raise ValueError(f"Unknown scheduling strategy {strategy!r}; expected None, 'DEFAULT', "
                     "'SPREAD', a PlacementGroupSchedulingStrategy or a "
                     "NodeAffinitySchedulingStrategy.")


def _in_placement_group(resources: dict[str, float], strategy: PlacementGroupSchedulingStrategy
                        ) -> tuple[dict[str, float], dict[str, Any]]:
    group = strategy.placement_group
    if group is None:  # Ray's way of saying "no group".
        return dict(resources), {}
    index = strategy.placement_group_bundle_index
    if was_removed(group.id):
        raise ValueError(f"Placement group {group.id.hex()} has been removed: no task or "
                         "actor can be scheduled in it any more.")
    if index >= group.bundle_count:
        raise ValueError(f"Invalid placement_group_bundle_index {index}: placement group "
                         f"{group.id.hex()} has {group.bundle_count} bundle(s), so the "
                         f"index must be -1 (any bundle) or 0 to {group.bundle_count - 1}.")
    renamed = placement.in_group(resources, group.id.hex(), index)
    extra = {
        "placement_group_id": group.id.binary(),
        "placement_group_bundle_index": index,
        "placement_group_capture_child_tasks": bool(strategy.placement_group_capture_child_tasks),
    }
    return renamed, extra


def _on_node(resources: dict[str, float],
             strategy: NodeAffinitySchedulingStrategy) -> dict[str, float]:
    if strategy.soft and bytes.fromhex(strategy.node_id) not in alive_node_ids():
        return dict(resources)
    return placement.on_node(resources, strategy.node_id)
