"""``comet.util.ActorPool``: spread calls over a fixed set of actors.

    pool = ActorPool([Worker.remote() for _ in range(4)])
    results = list(pool.map(lambda actor, v: actor.double.remote(v), range(100)))

Each actor runs one of the pool's calls at a time: a call goes to an idle
actor, or waits in a backlog until one is returned to the pool, which happens
when the caller takes that actor's result (``get_next``...).

Thread safety: none; use a pool from one thread at a time.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Callable, Iterable, Iterator

import comet

# fn(actor, value) -> an ObjectRef (or a list of them) of the call it made.
CallFn = Callable[[Any, Any], Any]


def _refs(future: Any) -> list[Any]:
    return list(future) if isinstance(future, (list, tuple)) else [future]


def _key(future: Any) -> Any:
    return tuple(future) if isinstance(future, list) else future


class ActorPool:
    """A pool of actor handles with Ray's ``ActorPool`` interface.

    Results come back in submission order (:meth:`get_next`, :meth:`map`) or
    as they finish (:meth:`get_next_unordered`, :meth:`map_unordered`).
    """

    def __init__(self, actors: Iterable[Any]) -> None:
        self._idle: list[Any] = list(actors)
        # One entry per submitted call whose result was not taken yet.
        self._running: dict[Any, tuple[int, Any]] = {}  # future key -> (index, actor)
        self._futures: dict[int, Any] = {}  # index -> future
        self._next_index = 0
        self._backlog: deque[tuple[CallFn, Any]] = deque()

    # -- bulk --------------------------------------------------------------

    def map(self, fn: CallFn, values: Iterable[Any]) -> Iterator[Any]:
        """Calls ``fn(actor, value)`` for each value; yields the results in
        the order of ``values``. Results not yet taken from earlier calls
        are dropped first. A failed call raises from the iterator and ends
        it; the later results stay in the pool (see :meth:`get_next`)."""
        self._drop_pending()
        for value in values:
            self.submit(fn, value)
        return self._drain(self.get_next)

    def map_unordered(self, fn: CallFn, values: Iterable[Any]) -> Iterator[Any]:
        """Like :meth:`map`, but yields results as they finish."""
        self._drop_pending()
        for value in values:
            self.submit(fn, value)
        return self._drain(self.get_next_unordered)

    def _drain(self, take: Callable[[], Any]) -> Iterator[Any]:
        while self.has_next():
            yield take()

    def _drop_pending(self) -> None:
        """Forgets every untaken result; their actors become idle again."""
        while self._futures:
            index = min(self._futures)
            self._release(index)

    # -- one call at a time ------------------------------------------------

    def submit(self, fn: CallFn, value: Any) -> None:
        """Schedules ``fn(actor, value)`` on an idle actor, or once one is free.

        ``fn`` must call one method of the actor and return its ObjectRef,
        e.g. ``lambda a, v: a.process.remote(v)``.
        """
        if not self._idle:
            self._backlog.append((fn, value))
            return
        actor = self._idle.pop()
        future = fn(actor, value)
        index = self._next_index
        self._next_index += 1
        self._running[_key(future)] = (index, actor)
        self._futures[index] = future

    def has_next(self) -> bool:
        """Whether some submitted call's result has not been taken yet."""
        return bool(self._running)

    def get_next(self, timeout: float | None = None,
                 ignore_if_timedout: bool = False) -> Any:
        """The result of the oldest call not taken yet, in submission order.

        Raises StopIteration when there is none, and TimeoutError when it is
        not ready within ``timeout`` seconds; with ``ignore_if_timedout`` the
        call is then dropped (its actor is returned to the pool) before
        TimeoutError is raised. A call that raised raises here.
        """
        if not self.has_next():
            raise StopIteration("No more results to get")
        index = min(self._futures)
        future = self._futures[index]
        refs = _refs(future)
        ready, _ = comet.wait(refs, num_returns=len(refs), timeout=timeout)
        if len(ready) < len(refs):
            if not ignore_if_timedout:
                raise TimeoutError("Timed out waiting for result")
            self._release(index)
            raise TimeoutError(f"Timed out waiting for result; the call {future!r} "
                               f"was dropped")
        self._release(index)  # only now: the actor has finished the call
        return comet.get(future)

    def get_next_unordered(self, timeout: float | None = None,
                           ignore_if_timedout: bool = False) -> Any:
        """The result of any finished call not taken yet (the first to finish).

        Raises StopIteration when there is none and TimeoutError when none
        finishes within ``timeout`` seconds (``ignore_if_timedout`` is
        accepted for Ray compatibility; nothing is dropped).
        """
        if not self.has_next():
            raise StopIteration("No more results to get")
        by_first_ref = {_refs(future)[0]: index for index, future in self._futures.items()}
        ready, _ = comet.wait(list(by_first_ref), num_returns=1, timeout=timeout)
        if not ready:
            raise TimeoutError("Timed out waiting for result")
        index = by_first_ref[ready[0]]
        future = self._futures[index]
        self._release(index)
        return comet.get(future)

    # -- actors ------------------------------------------------------------

    def has_free(self) -> bool:
        """Whether an actor is idle and no call waits for one."""
        return bool(self._idle) and not self._backlog

    def pop_idle(self) -> Any | None:
        """Removes an idle actor from the pool and returns it; None if no
        actor is free (see :meth:`has_free`)."""
        return self._idle.pop() if self.has_free() else None

    def push(self, actor: Any) -> None:
        """Adds an actor to the pool (it can take a waiting call at once).

        Raises ValueError if the actor is already in the pool.
        """
        busy = [a for _, a in self._running.values()]
        if any(actor == a for a in busy) or any(actor == a for a in self._idle):
            raise ValueError("Actor already belongs to current ActorPool")
        self._return_actor(actor)

    def _release(self, index: int) -> None:
        """Forgets call ``index`` and returns its actor to the pool."""
        future = self._futures.pop(index)
        _, actor = self._running.pop(_key(future))
        self._return_actor(actor)

    def _return_actor(self, actor: Any) -> None:
        self._idle.append(actor)
        if self._backlog:
            self.submit(*self._backlog.popleft())
