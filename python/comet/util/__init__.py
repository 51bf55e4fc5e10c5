"""Libraries built on Comet's core API, under Ray's ``ray.util`` names.

    from comet.util import ActorPool
    from comet.util.multiprocessing import Pool
    from comet.util.queue import Queue

Submodules load on first use (module ``__getattr__``), so ``import
comet.util`` never fails because one of them is missing or broken; the error
shows when the missing name is used.

As in Ray, ``comet.util.placement_group`` is the *function* that creates a
placement group; the module stays importable as
``from comet.util.placement_group import PlacementGroup``.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

# Attribute name -> (module, name in it, or None for the module itself).
_LAZY: dict[str, tuple[str, str | None]] = {
    "ActorPool": ("comet.util.actor_pool", "ActorPool"),
    "actor_pool": ("comet.util.actor_pool", None),
    "multiprocessing": ("comet.util.multiprocessing", None),
    "joblib": ("comet.util.joblib", None),
    "queue": ("comet.util.queue", None),
    "metrics": ("comet.util.metrics", None),
    "scheduling_strategies": ("comet.util.scheduling_strategies", None),
    "placement_group": ("comet.util.placement_group", "placement_group"),
    "placement_group_table": ("comet.util.placement_group", "placement_group_table"),
    "remove_placement_group": ("comet.util.placement_group", "remove_placement_group"),
    "get_placement_group": ("comet.util.placement_group", "get_placement_group"),
    "get_current_placement_group": ("comet.util.placement_group",
                                    "get_current_placement_group"),
    "PlacementGroup": ("comet.util.placement_group", "PlacementGroup"),
    "list_named_actors": ("comet.actor", "list_named_actors"),
}

# Names that are both a submodule and a function of it: the function wins.
_FUNCTION_OVER_MODULE = {"placement_group"}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    entry = _LAZY.get(name)
    if entry is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module_name, attribute = entry
    module = importlib.import_module(module_name)
    if attribute is None:
        return module
    value = getattr(module, attribute, None)
    if value is None:
        if name in _FUNCTION_OVER_MODULE:
            return module
        raise AttributeError(
            f"module {__name__!r} has no attribute {name!r} "
            f"({module.__name__} does not define it)")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(_LAZY) | {name for name in globals() if name.startswith("__")})


class _UtilModule(types.ModuleType):
    """Keeps ``placement_group`` bound to the function.

    Importing the submodule ``comet.util.placement_group`` makes the import
    system set the package attribute ``placement_group`` to the module; this
    stores the module's function of the same name instead, as Ray does.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _FUNCTION_OVER_MODULE and isinstance(value, types.ModuleType):
            function = getattr(value, name, None)
            if callable(function):
                value = function
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _UtilModule
