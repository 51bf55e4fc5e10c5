"""The worker side of :class:`comet.util.multiprocessing.Pool`: each of a
pool's processes is a Comet actor (:class:`PoolProcess`) that runs the
pool's ``initializer`` once, in its constructor, and then one chunk of work
per call.

Thread safety: an actor runs one call at a time (max_concurrency 1).
"""

from __future__ import annotations

from typing import Any, Callable

import comet

# How a chunk's items are passed to the function.
CALL = 0  # func(item)
STAR = 1  # func(*item)
APPLY = 2  # item is (args, kwds): func(*args, **kwds)
EACH = 3  # func(item), each item on its own: (True, result) or (False, exception)


class PoolProcess:
    """One process of a pool (made an actor by the pool)."""

    def __init__(self, init_box: list[Any] | None) -> None:
        # ``init_box`` is None (no initializer) or ``[ref]`` where ``ref``
        # holds ``(initializer, initargs)``; the list keeps the ref from being
        # resolved as an argument.
        if init_box is not None:
            initializer, initargs = comet.get(init_box[0])
            initializer(*initargs)

    def run(self, func: Callable[..., Any], items: list[Any], mode: int) -> list[Any]:
        """Runs ``func`` over one chunk of items; returns their results in order.

        The first exception ends the chunk and fails the call, so the caller
        sees it with its original type; in EACH mode (imap) each item succeeds
        or fails on its own.
        """
        if mode == EACH:
            return [_one(func, item) for item in items]
        if mode == CALL:
            return [func(item) for item in items]
        if mode == STAR:
            return [func(*item) for item in items]
        return [func(*args, **kwds) for args, kwds in items]


def _one(func: Callable[..., Any], item: Any) -> tuple[bool, Any]:
    try:
        return True, func(item)
    except Exception as error:  # noqa: BLE001 - the item's result is its error
        return False, error
