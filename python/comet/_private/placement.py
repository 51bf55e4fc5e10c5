"""How a placement becomes resources, as pure functions (no I/O, no imports
of the API): raylets know nothing of placement groups or node affinity, so a
task placed in a bundle asks for the bundle's renamed resources and a task
pinned to a node asks for a sliver of that node's resource. The strategy
classes (comet.util.scheduling_strategies) and placement groups
(comet.util.placement_group) both build on this module, so neither needs the
other to rename a demand.
"""

from __future__ import annotations

# The resource every committed bundle carries, so that a task with no demand
# of its own can target a bundle (src/comet/common/bundle_resource_name.h).
BUNDLE_RESOURCE = "bundle"
# Each raylet has this resource, 1 of it, named after its node id (hex).
NODE_ID_RESOURCE_PREFIX = "node_id:"
# How much of a bundle's "bundle" resource, or of a node's "node_id:<hex>"
# resource, a task asks for to be placed there.
MARKER_DEMAND = 0.001


def bundle_resource_name(resource: str, group_hex: str, index: int) -> str:
    """``CPU_group_2_<hex>`` for bundle 2; ``CPU_group_<hex>`` for index -1."""
    if index < 0:
        return f"{resource}_group_{group_hex}"
    return f"{resource}_group_{index}_{group_hex}"


def in_group(resources: dict[str, float], group_hex: str, index: int) -> dict[str, float]:
    """The demand of a task placed in group ``group_hex`` (bundle ``index``,
    or any bundle for -1): each ``R: q`` becomes ``R_group_<G>: q`` and, for a
    bundle index, also ``R_group_<i>_<G>: q``; an empty demand asks for a
    sliver of the bundle marker resource."""
    demand = {name: q for name, q in resources.items() if q > 0}
    if not demand:
        demand = {BUNDLE_RESOURCE: MARKER_DEMAND}
    renamed: dict[str, float] = {}
    for name, quantity in demand.items():
        renamed[bundle_resource_name(name, group_hex, -1)] = quantity
        if index >= 0:
            renamed[bundle_resource_name(name, group_hex, index)] = quantity
    return renamed


def on_node(resources: dict[str, float], node_hex: str) -> dict[str, float]:
    """The demand of a task pinned to node ``node_hex``."""
    out = dict(resources)
    out[NODE_ID_RESOURCE_PREFIX + node_hex] = MARKER_DEMAND
    return out


def unrenamed(required: dict[str, float]) -> dict[str, float]:
    """A demand with placement-group renaming undone (``CPU_group_<G>`` and
    ``CPU_group_<i>_<G>`` are the task's ``CPU``)."""
    out: dict[str, float] = {}
    for name, quantity in required.items():
        if quantity > 0:
            out[name.split("_group_", 1)[0]] = quantity
    return out
