"""The worker side of :class:`comet.util.multiprocessing.Pool`: one task runs
one chunk of a pool's work.

Worker processes are shared by every pool (and every other task), so a pool's
``initializer`` is tracked per process, keyed by the pool's id: the first
chunk of a pool that a process runs calls the initializer, the later ones do
not.

Thread safety: :func:`run_chunk` may run on several threads of one process;
the set of initialized pools is guarded by ``_init_lock``.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

import comet

# How a chunk's items are passed to the function.
CALL = 0  # func(item)
STAR = 1  # func(*item)
APPLY = 2  # item is (args, kwds): func(*args, **kwds)
EACH = 3  # func(item), each item on its own: (True, result) or (False, exception)

_init_lock = threading.Lock()
_initialized_pools: set[str] = set()  # GUARDED_BY(_init_lock)


def _ensure_initialized(pool_id: str, init_box: list[Any] | None) -> None:
    """Runs the pool's initializer once in this process.

    ``init_box`` is None (no initializer) or ``[ref]`` where ``ref`` holds
    ``(initializer, initargs)``; the list keeps the ref from being resolved
    for chunks that do not need it.
    """
    if init_box is None:
        return
    with _init_lock:
        if pool_id in _initialized_pools:
            return
        initializer, initargs = comet.get(init_box[0])
        initializer(*initargs)
        _initialized_pools.add(pool_id)


def run_chunk(pool_id: str, init_box: list[Any] | None, func: Callable[..., Any],
              items: list[Any], mode: int) -> list[Any]:
    """Runs ``func`` over one chunk of items; returns their results in order.

    The first exception ends the chunk and fails the task, so the caller sees
    it with its original type; in EACH mode (imap) each item succeeds or fails
    on its own.
    """
    _ensure_initialized(pool_id, init_box)
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
