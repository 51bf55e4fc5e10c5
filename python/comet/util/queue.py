"""``comet.util.queue.Queue``: a first-in, first-out queue shared by tasks,
actors and the driver.

    from comet.util.queue import Queue, Empty

    q = Queue(maxsize=100)
    q.put(1)
    consumer.remote(q)        # the queue can be passed to tasks and actors
    q.get(timeout=5)

The items live in an async actor holding an ``asyncio.Queue``; every
operation is one actor call, and blocking ``put``/``get`` wait inside the
actor, so they do not hold up other callers. Batched calls
(``put_nowait_batch``, ``get_nowait_batch``) move many items in one call.

As in Ray, an ObjectRef passed to ``put`` is resolved: the queue holds its
value. Put refs inside a list (or use ``put_nowait_batch``) to queue refs.

Thread safety: a ``Queue`` may be used from several threads and processes at
once; the actor serializes the operations.
"""

from __future__ import annotations

import asyncio
import queue
from collections.abc import Iterable
from typing import Any

import comet

__all__ = ["Empty", "Full", "Queue"]


class Empty(queue.Empty):
    """Raised by ``get`` (non-blocking or timed out) when no item came."""


class Full(queue.Full):
    """Raised by ``put`` (non-blocking or timed out) when there was no room."""


class Queue:
    """A FIFO queue held by an actor; see the module docstring.

    Args:
        maxsize: the most items the queue holds; 0 (or less) for no limit.
        actor_options: options of the queue's actor (``num_cpus``, ``name``,
            ``lifetime``...), as for ``ActorClass.options``.
    """

    def __init__(self, maxsize: int = 0, actor_options: dict[str, Any] | None = None) -> None:
        self.maxsize = maxsize
        self.actor: Any = _actor_class().options(**(actor_options or {})).remote(maxsize)

    def __len__(self) -> int:
        return self.size()

    def size(self) -> int:
        """The number of items in the queue."""
        return comet.get(self._actor().qsize.remote())

    def qsize(self) -> int:
        """The number of items in the queue (``queue.Queue``'s name)."""
        return self.size()

    def empty(self) -> bool:
        """Whether the queue holds no item."""
        return comet.get(self._actor().empty.remote())

    def full(self) -> bool:
        """Whether the queue holds ``maxsize`` items."""
        return comet.get(self._actor().full.remote())

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        """Adds an item at the end.

        With ``block`` (the default), waits for room, for at most ``timeout``
        seconds if given; raises :class:`Full` if there is none then.
        """
        if not block:
            return self.put_nowait(item)
        _check_timeout(timeout)
        if not comet.get(self._actor().put.remote(item, timeout)):
            raise Full
        return None

    async def put_async(self, item: Any, block: bool = True,
                        timeout: float | None = None) -> None:
        """:meth:`put` for asyncio code: awaits instead of blocking the loop."""
        if not block:
            ok = await _await(self._actor().put_nowait.remote(item))
        else:
            _check_timeout(timeout)
            ok = await _await(self._actor().put.remote(item, timeout))
        if not ok:
            raise Full

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        """Removes and returns the first item.

        With ``block`` (the default), waits for one, for at most ``timeout``
        seconds if given; raises :class:`Empty` if none came then.
        """
        if not block:
            return self.get_nowait()
        _check_timeout(timeout)
        ok, item = comet.get(self._actor().get.remote(timeout))
        if not ok:
            raise Empty
        return item

    async def get_async(self, block: bool = True, timeout: float | None = None) -> Any:
        """:meth:`get` for asyncio code: awaits instead of blocking the loop."""
        if not block:
            ok, item = await _await(self._actor().get_nowait.remote())
        else:
            _check_timeout(timeout)
            ok, item = await _await(self._actor().get.remote(timeout))
        if not ok:
            raise Empty
        return item

    def put_nowait(self, item: Any) -> None:
        """Adds an item if there is room; raises :class:`Full` otherwise."""
        if not comet.get(self._actor().put_nowait.remote(item)):
            raise Full

    def put_nowait_batch(self, items: Iterable[Any]) -> None:
        """Adds all the items, in order, if there is room for all of them;
        raises :class:`Full` (adding none) otherwise."""
        if not isinstance(items, Iterable):
            raise TypeError("Argument 'items' must be an Iterable")
        items = list(items)
        ok, size = comet.get(self._actor().put_nowait_batch.remote(items))
        if not ok:
            raise Full(f"Cannot add {len(items)} items to queue of size {size} "
                       f"and maxsize {self.maxsize}.")

    def get_nowait(self) -> Any:
        """Removes and returns the first item; raises :class:`Empty` if none."""
        ok, item = comet.get(self._actor().get_nowait.remote())
        if not ok:
            raise Empty
        return item

    def get_nowait_batch(self, num_items: int) -> list[Any]:
        """Removes and returns the first ``num_items`` items if there are that
        many; raises :class:`Empty` (removing none) otherwise."""
        if not isinstance(num_items, int) or isinstance(num_items, bool):
            raise TypeError("Argument 'num_items' must be an int")
        if num_items < 0:
            raise ValueError("'num_items' must be nonnegative")
        ok, value = comet.get(self._actor().get_nowait_batch.remote(num_items))
        if not ok:
            raise Empty(f"Cannot get {num_items} items from queue of size {value}.")
        return value

    def shutdown(self, force: bool = False, grace_period_s: int = 5) -> None:
        """Stops the queue's actor, releasing its resources; the items are lost.

        With ``force``, kills it at once. Otherwise asks it to exit after the
        calls already sent to it, and kills it if it has not exited within
        ``grace_period_s`` seconds. Using the queue afterwards raises
        RuntimeError.
        """
        actor, self.actor = self.actor, None
        if actor is None:
            return
        if not force:
            terminate = getattr(actor, "__ray_terminate__", None)
            if terminate is not None:
                done = terminate.remote()
                ready, _ = comet.wait([done], timeout=grace_period_s)
                if ready:
                    return
        comet.kill(actor, no_restart=True)

    def _actor(self) -> Any:
        if self.actor is None:
            raise RuntimeError("the queue was shut down")
        return self.actor


def _check_timeout(timeout: float | None) -> None:
    if timeout is not None and timeout < 0:
        raise ValueError("'timeout' must be a non-negative number")


async def _await(ref: Any) -> Any:
    """The value of ``ref``, without blocking the running event loop."""
    if hasattr(ref, "__await__"):
        return await ref
    return await asyncio.get_running_loop().run_in_executor(None, comet.get, ref)


class _QueueActor:
    """The actor behind a :class:`Queue`: an ``asyncio.Queue`` and calls that
    report success instead of raising, so callers raise Empty/Full locally.

    Thread model: async methods, all on the actor's one event loop.
    """

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._queue: asyncio.Queue | None = None  # made on the loop, at first use

    @property
    def queue(self) -> asyncio.Queue:
        if self._queue is None:
            self._queue = asyncio.Queue(self.maxsize)
        return self._queue

    async def qsize(self) -> int:
        return self.queue.qsize()

    async def empty(self) -> bool:
        return self.queue.empty()

    async def full(self) -> bool:
        return self.queue.full()

    async def put(self, item: Any, timeout: float | None = None) -> bool:
        try:
            await asyncio.wait_for(self.queue.put(item), timeout)
        except asyncio.TimeoutError:
            return False
        return True

    async def get(self, timeout: float | None = None) -> tuple[bool, Any]:
        try:
            return True, await asyncio.wait_for(self.queue.get(), timeout)
        except asyncio.TimeoutError:
            return False, None

    async def put_nowait(self, item: Any) -> bool:
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            return False
        return True

    async def put_nowait_batch(self, items: list[Any]) -> tuple[bool, int]:
        q = self.queue
        if self.maxsize > 0 and q.qsize() + len(items) > self.maxsize:
            return False, q.qsize()
        for item in items:
            q.put_nowait(item)
        return True, q.qsize()

    async def get_nowait(self) -> tuple[bool, Any]:
        try:
            return True, self.queue.get_nowait()
        except asyncio.QueueEmpty:
            return False, None

    async def get_nowait_batch(self, num_items: int) -> tuple[bool, Any]:
        q = self.queue
        if num_items > q.qsize():
            return False, q.qsize()
        return True, [q.get_nowait() for _ in range(num_items)]


_remote_queue_actor: Any = None


def _actor_class() -> Any:
    """``comet.remote(_QueueActor)``, made at first use (so that importing this
    module needs no actor support, and ``_QueueActor`` pickles by name)."""
    global _remote_queue_actor
    if _remote_queue_actor is None:
        _remote_queue_actor = comet.remote(_QueueActor)
    return _remote_queue_actor
