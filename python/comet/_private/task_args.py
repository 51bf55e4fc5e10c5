"""A task's arguments and its placement, as the core worker takes them:
used by remote functions and actors alike (so neither imports the other).

Arguments: refs pass as refs, small values inline, big ones through plasma;
keyword arguments follow the positional ones, with their names last.
Placement: the demand renamed for the options' scheduling strategy.
"""

from __future__ import annotations

from typing import Any

from comet import _raylet
from comet._private import serialization, worker_context
from comet._private.worker import KWARGS_METADATA, store_value
from comet.util.scheduling_strategies import apply_scheduling_strategy, strategy_from_options

ObjectRef = _raylet.ObjectRef


def placement_resources(resources: dict[str, float], merged: dict[str, Any]
                        ) -> tuple[dict[str, float], dict[str, Any]]:
    """The demand renamed for the options' scheduling strategy (placement group
    bundles, node affinity), and the placement fields of the task spec."""
    return apply_scheduling_strategy(resources, strategy_from_options(merged))


def _arg(value: Any, max_inline: int) -> Any:
    if isinstance(value, ObjectRef):
        return value
    try:
        ser = serialization.serialize(value)
    except TypeError as e:
        raise TypeError(f"Could not serialize the argument {value!r:.80} for a task: {e}") from e
    if ser.total_bytes > max_inline:
        return store_value(ser)  # Big: goes to plasma, passed by reference.
    return (ser.to_bytes(), ser.metadata, ser.nested_refs)


def build_args(args: tuple, kwargs: dict[str, Any]) -> list[Any]:
    """Task arguments: refs pass as refs, small values inline, big ones via plasma."""
    max_inline = worker_context.get().max_direct_call_object_size
    out = [_arg(a, max_inline) for a in args]
    if kwargs:
        out.extend(_arg(v, max_inline) for v in kwargs.values())
        keys = serialization.serialize(tuple(kwargs.keys()))
        out.append((keys.to_bytes(), KWARGS_METADATA + keys.metadata, []))
    return out
