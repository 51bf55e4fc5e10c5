"""Checking a call's arguments against the remote function's (or actor
method's) signature at ``.remote()``, so that a wrong call raises TypeError
at the call site, as in Ray, instead of failing later inside the task.

A signature travels with actor handles, so it is kept as a plain
:data:`ParamSpec` (names, kinds, whether each has a default), which pickles
whatever the defaults are. :class:`ArgChecker` answers the common case (only
positional arguments, in range) with two comparisons and binds the
signature for anything else.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

# ((name, inspect.Parameter kind as int, has a default), ...)
ParamSpec = tuple[tuple[str, int, bool], ...]

_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
_DEFAULT = object()  # stands in for every default: only its presence matters


def param_spec(fn: Callable[..., Any], drop_first: bool = False) -> ParamSpec | None:
    """The parameters of ``fn`` (without the first one, ``self``, when
    ``drop_first``); None when Python cannot tell (some builtins)."""
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return None
    if drop_first and params and params[0].kind in _POSITIONAL:
        params = params[1:]
    return tuple((p.name, int(p.kind), p.default is not inspect.Parameter.empty)
                 for p in params)


class ArgChecker:
    """Raises TypeError, naming the function, when a call does not fit."""

    __slots__ = ("_name", "_signature", "_min", "_max")

    def __init__(self, name: str, spec: ParamSpec | None) -> None:
        self._name = name
        self._signature = None
        self._min, self._max = 0, -1  # no fast path
        if spec is None:
            return
        params = [inspect.Parameter(n, inspect._ParameterKind(k),
                                    default=_DEFAULT if d else inspect.Parameter.empty)
                  for n, k, d in spec]
        self._signature = inspect.Signature(params)
        positional = [p for p in params if p.kind in _POSITIONAL]
        required_kw = [p for p in params if p.kind == inspect.Parameter.KEYWORD_ONLY
                       and p.default is inspect.Parameter.empty]
        if not required_kw:
            self._min = sum(1 for p in positional if p.default is inspect.Parameter.empty)
            varargs = any(p.kind == inspect.Parameter.VAR_POSITIONAL for p in params)
            self._max = 1 << 30 if varargs else len(positional)

    def check(self, args: tuple, kwargs: dict[str, Any]) -> None:
        if self._signature is None or (not kwargs and self._min <= len(args) <= self._max):
            return
        try:
            self._signature.bind(*args, **kwargs)
        except TypeError as e:
            raise TypeError(f"{self._name}(): {e}") from None
