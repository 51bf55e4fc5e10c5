"""``@comet.remote``: makes a function a RemoteFunction and a class an
ActorClass."""

from __future__ import annotations

import inspect
from typing import Any

from comet.actor import ActorClass
from comet.remote_function import RemoteFunction


def remote(*args: Any, **options: Any) -> Any:
    """Makes a function a remote function (and a class an actor class).

    Use as ``@comet.remote`` or ``@comet.remote(num_cpus=2, num_returns=2, ...)``.
    """
    if len(args) == 1 and not options and callable(args[0]):
        return _make_remote(args[0], {})
    if args:
        raise TypeError("@remote takes either a function/class or keyword options only, "
                        "e.g. @comet.remote(num_cpus=1)")
    return lambda target: _make_remote(target, options)


def _make_remote(target: Any, options: dict[str, Any]) -> Any:
    if inspect.isclass(target):
        return ActorClass(target, options)
    return RemoteFunction(target, options)
