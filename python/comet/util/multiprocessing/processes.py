"""The worker processes of one :class:`comet.util.multiprocessing.Pool`:
``processes`` Comet actors (one process each), lent one chunk at a time.

The dispatcher never has more chunks in flight than there are processes, so
an idle process is always there when it submits one. A process that has run
``maxtasksperchild`` chunks is replaced by a fresh one (whose initializer
runs again). The actors end with the pool: :meth:`ProcessSet.stop`, or when
the pool object is dropped (the actors' handles go with it).

Thread model: thread-safe; ``_lock`` guards the idle and busy sets.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any, Callable, Mapping

import comet
from comet.util.multiprocessing import _worker


class ProcessSet:
    """``processes`` pool actors: idle ones, and busy ones by chunk ref."""

    def __init__(self, processes: int, init_box: list[Any] | None,
                 maxtasksperchild: int | None, remote_args: Mapping[str, Any]) -> None:
        options = {"num_cpus": 1, **remote_args, "max_concurrency": 1}
        self._actor_class = comet.remote(**options)(_worker.PoolProcess)
        self._init_box = init_box
        self._max_chunks = maxtasksperchild
        self._lock = threading.Lock()
        self._idle: deque[Any] = deque(self._start() for _ in range(processes))  # GUARDED_BY(_lock)
        self._busy: dict[Any, Any] = {}  # GUARDED_BY(_lock): chunk ref -> actor
        self._chunks_run: dict[Any, int] = {}  # GUARDED_BY(_lock): actor -> chunks it ran
        self._stopped = False  # GUARDED_BY(_lock)

    def _start(self) -> Any:
        return self._actor_class.remote(self._init_box)

    def submit(self, func: Callable[..., Any], items: list[Any], mode: int) -> Any:
        """Runs one chunk on an idle process; returns the call's ref."""
        with self._lock:
            if self._stopped:
                raise ValueError("Pool not running")
            actor = self._idle.popleft()  # the dispatcher keeps one idle
        ref = actor.run.remote(func, items, mode)
        with self._lock:
            self._busy[ref] = actor
        return ref

    def release(self, ref: Any) -> None:
        """The chunk of ``ref`` is done: its process is idle again, or is
        replaced when it reached maxtasksperchild."""
        retired = None
        with self._lock:
            actor = self._busy.pop(ref, None)
            if actor is None or self._stopped:
                return
            count = self._chunks_run.get(actor, 0) + 1
            if self._max_chunks is not None and count >= self._max_chunks:
                self._chunks_run.pop(actor, None)
                retired = actor
            else:
                self._chunks_run[actor] = count
                self._idle.append(actor)
        if retired is not None:
            fresh = self._start()
            with self._lock:
                self._idle.append(fresh)
            comet.kill(retired)

    def stop(self) -> None:
        """Kills every process at once (calls in flight fail)."""
        with self._lock:
            self._stopped = True
            actors = list(self._idle) + list(self._busy.values())
            self._idle.clear()
            self._busy.clear()
        for actor in actors:
            try:
                comet.kill(actor)
            except Exception:  # noqa: BLE001 - it may be dead already
                pass
