"""Validation of the options of ``@comet.remote`` and ``.options()``.

Options are checked where the user writes them, so a typo or a bad value fails
with a ``ValueError`` at decoration or ``.options()`` time rather than when the
task runs. The validators return a new dict holding only the options given,
with a few values normalized (``retry_exceptions`` lists become tuples);
defaults are applied later, from :data:`DEFAULT_TASK_OPTIONS` and
:data:`DEFAULT_ACTOR_OPTIONS`.

Actors default to ``num_cpus=0``: an actor holds no CPU while it lives unless
it asks for one, so many mostly idle actors fit on a node (Ray's run-time
default). Ask for ``num_cpus=1`` to make an actor occupy a CPU.
"""

from __future__ import annotations

import difflib
import math
from numbers import Real
from typing import Any, Callable, Mapping

__all__ = [
    "ACTOR_METHOD_OPTION_NAMES",
    "ACTOR_OPTION_NAMES",
    "DEFAULT_ACTOR_METHOD_OPTIONS",
    "DEFAULT_ACTOR_OPTIONS",
    "DEFAULT_TASK_OPTIONS",
    "TASK_OPTION_NAMES",
    "merge_options",
    "resources_from_options",
    "validate_actor_method_options",
    "validate_actor_options",
    "validate_task_options",
]

DEFAULT_TASK_OPTIONS: Mapping[str, Any] = {
    "num_cpus": 1,
    "num_gpus": 0,
    "num_returns": 1,
    "max_retries": 3,
    "retry_exceptions": False,
}
"""Values used for task options that were not given."""

DEFAULT_ACTOR_OPTIONS: Mapping[str, Any] = {
    "num_cpus": 0,
    "num_gpus": 0,
    "max_restarts": 0,
    "max_task_retries": 0,
    "max_concurrency": None,  # 1 for a threaded actor, 1000 for an async one
    "max_pending_calls": -1,  # no limit
    "lifetime": None,
    "namespace": None,
    "get_if_exists": False,
}
"""Values used for actor options that were not given."""

DEFAULT_ACTOR_METHOD_OPTIONS: Mapping[str, Any] = {
    "num_returns": 1,
}
"""Values used for actor method options that were not given (an unset
``max_task_retries`` or ``retry_exceptions`` comes from the actor)."""

_RESERVED_RESOURCES = {
    "CPU": "num_cpus",
    "GPU": "num_gpus",
    "memory": "memory",
    "object_store_memory": "object_store_memory",
}
_SCHEDULING_STRATEGY_NAMES = ("DEFAULT", "SPREAD")
_LIFETIMES = (None, "detached", "non_detached")
_NUM_RETURNS_NAMES = ("streaming", "dynamic")

Validator = Callable[[str, Any], Any]


# --------------------------------------------------------------------------
# Value validators: each takes (option name, value) and returns the value to
# keep, or raises ValueError.


def _bad(name: str, value: Any, expected: str) -> ValueError:
    """A value of the right type that is out of range (Ray: ValueError)."""
    return ValueError(f"Invalid value for option '{name}': {value!r} "
                      f"(type {type(value).__name__}); expected {expected}.")


def _wrong_type(name: str, value: Any, expected: str) -> TypeError:
    """A value of the wrong type (Ray: TypeError)."""
    return TypeError(f"Invalid type for option '{name}': {value!r} "
                     f"(type {type(value).__name__}); expected {expected}.")


def _is_number(value: Any) -> bool:
    return (isinstance(value, Real) and not isinstance(value, bool)
            and math.isfinite(value))


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _non_negative_number(name: str, value: Any) -> Any:
    if not isinstance(value, Real) or isinstance(value, bool):
        raise _wrong_type(name, value, "a number >= 0")
    if not _is_number(value) or value < 0:
        raise _bad(name, value, "a number >= 0")
    return value


def _optional_non_negative_number(name: str, value: Any) -> Any:
    return None if value is None else _non_negative_number(name, value)


def _gpu_quantity(name: str, value: Any) -> Any:
    _non_negative_number(name, value)
    if value > 1 and not float(value).is_integer():
        raise _bad(name, value, "a fraction below 1 or a whole number "
                   "(GPUs above 1 cannot be shared)")
    return value


def _int_at_least(minimum: int, meaning: str = "") -> Validator:
    def check(name: str, value: Any) -> Any:
        if not _is_int(value):
            raise _wrong_type(name, value, f"an int >= {minimum}{meaning}")
        if value < minimum:
            raise _bad(name, value, f"an int >= {minimum}{meaning}")
        return value
    return check


def _backpressure(name: str, value: Any) -> Any:
    """A generator's backpressure: a positive number of unconsumed items, or
    -1 for none (0 would stop the generator before its first item)."""
    if not _is_int(value):
        raise _wrong_type(name, value, "a positive int, or -1 for no backpressure")
    if value == 0 or value < -1:
        raise _bad(name, value, "a positive int, or -1 for no backpressure")
    return value


def _optional(check: Validator) -> Validator:
    def optional_check(name: str, value: Any) -> Any:
        return None if value is None else check(name, value)
    return optional_check


def _bool(name: str, value: Any) -> Any:
    if not isinstance(value, bool):
        raise _wrong_type(name, value, "True or False")
    return value


def _optional_bool(name: str, value: Any) -> Any:
    return None if value is None else _bool(name, value)


def _optional_str(name: str, value: Any) -> Any:
    if value is not None and not isinstance(value, str):
        raise _wrong_type(name, value, "a str or None")
    return value


def _optional_dict(name: str, value: Any) -> Any:
    if value is not None and not isinstance(value, dict):
        raise _wrong_type(name, value, "a dict or None")
    return value


def _anything(name: str, value: Any) -> Any:
    return value


def _resources(name: str, value: Any) -> Any:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _wrong_type(name, value, "a dict from resource name to quantity")
    for key, quantity in value.items():
        if not isinstance(key, str) or not key:
            raise ValueError(f"Invalid resource name {key!r} in option '{name}': "
                             "resource names are non-empty strs.")
        if key in _RESERVED_RESOURCES:
            option = _RESERVED_RESOURCES[key]
            raise ValueError(f"Use the '{option}' option instead of "
                             f"{name}={{'{key}': ...}}: '{key}' cannot be set "
                             f"through '{name}'.")
        if not _is_number(quantity) or quantity < 0:
            raise ValueError(f"Invalid quantity for resource '{key}' in option "
                             f"'{name}': {quantity!r}; expected a number >= 0.")
    return dict(value)


def _num_returns(name: str, value: Any) -> Any:
    if isinstance(value, str) and value in _NUM_RETURNS_NAMES:
        return value
    if not _is_int(value) and not isinstance(value, str):
        raise _wrong_type(name, value, 'an int >= 0, "streaming" or "dynamic"')
    if not _is_int(value) or value < 0:
        raise _bad(name, value, 'an int >= 0, "streaming" or "dynamic"')
    return value


def _retry_exceptions(name: str, value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, (list, tuple)) and all(
            isinstance(item, type) and issubclass(item, BaseException)
            for item in value):
        return tuple(value)
    if not isinstance(value, (list, tuple)):
        raise _wrong_type(name, value, "True, False, or a list of exception classes")
    raise _bad(name, value, "True, False, or a list of exception classes")


def _scheduling_strategy(name: str, value: Any) -> Any:
    if isinstance(value, str) and value not in _SCHEDULING_STRATEGY_NAMES:
        raise _bad(name, value, 'None, "DEFAULT", "SPREAD" or a scheduling '
                   "strategy object")
    if isinstance(value, (bool, int, float, dict, list, tuple)):
        raise _wrong_type(name, value, 'None, "DEFAULT", "SPREAD" or a scheduling '
                          "strategy object")
    return value


def _task_name(name: str, value: Any) -> Any:
    return _optional_str(name, value)


def _actor_name(name: str, value: Any) -> Any:
    _optional_str(name, value)
    if value == "":
        raise ValueError("Invalid value for option 'name': an actor's name "
                         "cannot be an empty string.")
    return value


def _runtime_env(name: str, value: Any) -> Any:
    from comet._private import runtime_env

    return runtime_env.validate(value, name)


def _label_selector(name: str, value: Any) -> Any:
    if value is None:
        return None
    if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise _bad(name, value, "a dict from str to str")
    if value:
        # Comet nodes carry no labels yet: nothing could ever match.
        raise NotImplementedError(
            f"{name}={value!r}: Comet nodes have no labels yet, so a label selector cannot "
            f"be honoured; use custom resources (resources={{...}}) to pick nodes")
    return value


def _lifetime(name: str, value: Any) -> Any:
    if value is not None and not isinstance(value, str):
        raise _wrong_type(name, value, 'None, "detached" or "non_detached"')
    if not (value is None or value in _LIFETIMES):
        raise _bad(name, value, 'None, "detached" or "non_detached"')
    return value


def _concurrency_groups(name: str, value: Any) -> Any:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _wrong_type(name, value, "a dict from group name to max concurrency")
    for group, limit in value.items():
        if not isinstance(group, str) or not group:
            raise ValueError(f"Invalid concurrency group name {group!r} in "
                             f"option '{name}': expected a non-empty str.")
        if not _is_int(limit) or limit < 1:
            raise ValueError(f"Invalid max concurrency {limit!r} for group "
                             f"'{group}' in option '{name}': expected an int >= 1.")
    return dict(value)


def _max_pending_calls(name: str, value: Any) -> Any:
    if not _is_int(value):
        raise _wrong_type(name, value, "an int >= 1, or -1 for no limit")
    if value < 1 and value != -1:
        raise _bad(name, value, "an int >= 1, or -1 for no limit")
    return value


# --------------------------------------------------------------------------
# Option tables.

_COMMON_OPTIONS: dict[str, Validator] = {
    "num_cpus": _optional_non_negative_number,
    "num_gpus": _optional(_gpu_quantity),
    "resources": _resources,
    "memory": _optional_non_negative_number,
    "object_store_memory": _optional_non_negative_number,
    "accelerator_type": _optional_str,
    "label_selector": _label_selector,
    "scheduling_strategy": _scheduling_strategy,
    "runtime_env": _runtime_env,
    "placement_group": _anything,
    "placement_group_bundle_index": _int_at_least(-1, " (-1: any bundle)"),
    "placement_group_capture_child_tasks": _optional_bool,
    "enable_task_events": _bool,
    "_metadata": _optional_dict,
}

_TASK_OPTIONS: dict[str, Validator] = {
    **_COMMON_OPTIONS,
    "name": _task_name,
    "num_returns": _num_returns,
    "max_retries": _int_at_least(-1, " (-1: retry forever)"),
    "retry_exceptions": _retry_exceptions,
    "max_calls": _int_at_least(0, " (0: no limit)"),
    "_generator_backpressure_num_objects": _optional(_backpressure),
}

_ACTOR_OPTIONS: dict[str, Validator] = {
    **_COMMON_OPTIONS,
    "name": _actor_name,
    "max_restarts": _int_at_least(-1, " (-1: restart forever)"),
    "max_task_retries": _int_at_least(-1, " (-1: retry forever)"),
    "max_concurrency": _optional(_int_at_least(1)),
    "lifetime": _lifetime,
    "namespace": _optional_str,
    "get_if_exists": _bool,
    "concurrency_groups": _concurrency_groups,
    "max_pending_calls": _max_pending_calls,
    "allow_out_of_order_execution": _bool,
}

_ACTOR_METHOD_OPTIONS: dict[str, Validator] = {
    "name": _task_name,
    "num_returns": _num_returns,
    "max_task_retries": _optional(_int_at_least(-1, " (-1: retry forever)")),
    "retry_exceptions": _optional(_retry_exceptions),
    "concurrency_group": _optional_str,
    "enable_task_events": _bool,
    "_generator_backpressure_num_objects": _optional(_backpressure),
    "_metadata": _optional_dict,
}

TASK_OPTION_NAMES = frozenset(_TASK_OPTIONS)
"""Every option a remote function accepts."""
ACTOR_OPTION_NAMES = frozenset(_ACTOR_OPTIONS)
"""Every option an actor class accepts."""
ACTOR_METHOD_OPTION_NAMES = frozenset(_ACTOR_METHOD_OPTIONS)
"""Every option an actor method accepts (``@comet.method`` or
``actor.method.options()``)."""


# --------------------------------------------------------------------------
# Entry points.


def validate_task_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """Checks the options of a remote function.

    Returns a new dict with the given options (normalized where noted in the
    module docstring). Raises ``ValueError`` naming the option and the
    expected values for an unknown option or a bad value.
    """
    validated = _validate(options, _TASK_OPTIONS, "remote function")
    _check_placement(validated)
    return validated


def validate_actor_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """Checks the options of an actor class, like :func:`validate_task_options`."""
    validated = _validate(options, _ACTOR_OPTIONS, "actor")
    _check_placement(validated)
    if validated.get("get_if_exists") and not validated.get("name"):
        raise ValueError("The option 'get_if_exists' needs the actor's 'name'.")
    return validated


def validate_actor_method_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """Checks the options of an actor method, like :func:`validate_task_options`."""
    return _validate(options, _ACTOR_METHOD_OPTIONS, "actor method")


def merge_options(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Returns ``base`` updated with ``overrides`` (what ``.options()`` does).

    Each option in ``overrides`` replaces the one in ``base``, except
    ``_metadata``, whose namespaces are merged one level deep. Neither input is
    modified; validate both beforehand.
    """
    merged = {**base, **overrides}
    base_metadata = base.get("_metadata")
    new_metadata = overrides.get("_metadata")
    if base_metadata is not None and new_metadata is not None:
        metadata = dict(base_metadata)
        for namespace, entries in new_metadata.items():
            previous = metadata.get(namespace)
            if isinstance(previous, dict) and isinstance(entries, dict):
                metadata[namespace] = {**previous, **entries}
            else:
                metadata[namespace] = entries
        merged["_metadata"] = metadata
    return merged


ACCELERATOR_TYPE_PREFIX = "accelerator_type:"
"""A node with GPUs offers ``accelerator_type:<type>`` (1), as Ray's do."""


def resources_from_options(options: Mapping[str, Any], *,
                           actor: bool = False) -> dict[str, float]:
    """The resources a task (or, with ``actor=True``, an actor) holds while it
    runs: ``{"CPU": ..., "GPU": ..., "memory": ..., custom...}``.

    Options not given take their defaults (``num_cpus`` is 1 for a task and 0
    for an actor); zero quantities are left out.
    """
    defaults = DEFAULT_ACTOR_OPTIONS if actor else DEFAULT_TASK_OPTIONS
    demand: dict[str, float] = {}
    for resource, option in (("CPU", "num_cpus"), ("GPU", "num_gpus"),
                             ("memory", "memory"),
                             ("object_store_memory", "object_store_memory")):
        quantity = options.get(option)
        if quantity is None:
            quantity = defaults.get(option)
        if quantity:
            demand[resource] = float(quantity)
    for resource, quantity in (options.get("resources") or {}).items():
        if quantity:
            demand[resource] = float(quantity)
    accelerator = options.get("accelerator_type")
    if accelerator:
        # As in Ray: a sliver of the resource a node with such GPUs offers.
        demand[ACCELERATOR_TYPE_PREFIX + accelerator] = 0.001
    return demand


def _validate(options: Mapping[str, Any], table: dict[str, Validator],
              kind: str) -> dict[str, Any]:
    if not isinstance(options, Mapping):
        raise TypeError(f"options must be a mapping, got {type(options).__name__}")
    validated = {}
    for name, value in options.items():
        check = table.get(name)
        if check is None:
            raise ValueError(_unknown_option_message(name, table, kind))
        validated[name] = check(name, value)
    return validated


def _unknown_option_message(name: Any, table: dict[str, Validator], kind: str) -> str:
    message = f"Invalid option {name!r} for a {kind}."
    if isinstance(name, str):
        close = difflib.get_close_matches(name, table, n=1)
        if close:
            message += f" Did you mean '{close[0]}'?"
    valid = ", ".join(sorted(n for n in table if not n.startswith("_")))
    return f"{message} Valid options are: {valid}."


def _check_placement(options: dict[str, Any]) -> None:
    strategy = options.get("scheduling_strategy")
    group = options.get("placement_group")
    if strategy not in (None, "DEFAULT") and group not in (None, "default"):
        raise ValueError("Give either 'scheduling_strategy' or 'placement_group', "
                         "not both; prefer a placement group scheduling strategy.")


def check_dynamic_backpressure(num_returns: Any, backpressure: Any) -> None:
    """num_returns="dynamic" returns its items only when the task ends, so
    nothing reads them while it runs: backpressure would stall it for good."""
    if num_returns == "dynamic" and backpressure is not None:
        raise ValueError('_generator_backpressure_num_objects cannot be used with '
                         'num_returns="dynamic" (its items are read only once the task '
                         'has finished); use a streaming generator (no num_returns)')
