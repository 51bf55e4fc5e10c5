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

    __slots__ = ("_name", "_signature", "_min", "_max", "_positional", "_keywords",
                 "_required", "_any_keyword")

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
        kinds = {p.kind for p in params}
        self._positional = tuple(p.name for p in positional)
        self._keywords = frozenset(p.name for p in params if p.kind in (
            inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY))
        self._required = tuple(p.name for p in params if p.default is inspect.Parameter.empty
                               and p.kind not in (inspect.Parameter.VAR_POSITIONAL,
                                                  inspect.Parameter.VAR_KEYWORD))
        self._any_keyword = inspect.Parameter.VAR_KEYWORD in kinds
        self._min = sum(1 for p in positional if p.default is inspect.Parameter.empty)
        varargs = inspect.Parameter.VAR_POSITIONAL in kinds
        self._max = 1 << 30 if varargs else len(positional)
        if any(p.kind == inspect.Parameter.KEYWORD_ONLY and p.default is inspect.Parameter.empty
               for p in params):
            self._min = 1 << 30  # positional-only calls cannot fit: no fast path for them

    def check(self, args: tuple, kwargs: dict[str, Any]) -> None:
        if self._signature is None:
            return
        if not kwargs:
            if self._min <= len(args) <= self._max:
                return
        elif self._fits_with_keywords(args, kwargs):
            return
        try:
            self._signature.bind(*args, **kwargs)
        except TypeError as e:
            raise TypeError(f"{self._name}(): {e}") from None

    def _fits_with_keywords(self, args: tuple, kwargs: dict[str, Any]) -> bool:
        """The common keyword call, checked without binding: every keyword
        names a parameter not given by position, and every required
        parameter is given. False means "bind to find out"."""
        if len(args) > self._max:
            return False
        given = self._positional[:len(args)]
        for key in kwargs:
            if key in given or (key not in self._keywords and not self._any_keyword):
                return False
        return all(name in kwargs or name in given for name in self._required)
