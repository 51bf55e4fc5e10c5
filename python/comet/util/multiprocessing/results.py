"""Results of :class:`~comet.util.multiprocessing.Pool` calls, with the
standard library's interface: :class:`AsyncResult` (``apply_async``),
:class:`MapResult` (``map_async``, ``starmap_async``) and
:class:`IMapIterator` (``imap``, ``imap_unordered``).

The pool's collector thread reports each finished chunk to its result with
``_chunk_done``; user threads block in ``get``/``wait``/``next``. Callbacks
run on the collector thread, before ``get`` returns, as in the standard
library, so they should be quick.

Thread safety: every public method may be called from any thread.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
import time
from collections import deque
from typing import Any, Callable, Optional

logger = logging.getLogger(__name__)

Callback = Optional[Callable[[Any], Any]]


class AsyncResult:
    """The pending result of ``Pool.apply_async`` (stdlib ``ApplyResult``)."""

    def __init__(self, callback: Callback = None, error_callback: Callback = None) -> None:
        self._lock = threading.Lock()
        self._event = threading.Event()
        self._done = False  # GUARDED_BY(_lock); set once, before the event
        self._success = False
        self._value: Any = None
        self._callback = callback
        self._error_callback = error_callback

    def ready(self) -> bool:
        """Whether the call has completed (successfully or not)."""
        return self._event.is_set()

    def successful(self) -> bool:
        """Whether the call completed without raising; ValueError if not ready."""
        if not self.ready():
            raise ValueError(f"{self!r} not ready")
        return self._success

    def wait(self, timeout: float | None = None) -> None:
        """Blocks until the result is ready or ``timeout`` seconds pass."""
        self._event.wait(timeout)

    def get(self, timeout: float | None = None) -> Any:
        """The result; raises the call's exception if it failed, and
        ``multiprocessing.TimeoutError`` if it is not ready within ``timeout``."""
        self.wait(timeout)
        if not self.ready():
            raise multiprocessing.TimeoutError
        if self._success:
            return self._value
        raise self._value

    def _finish(self, success: bool, value: Any) -> bool:
        """Completes the result once; returns False if it was already done."""
        with self._lock:
            if self._done:
                return False
            self._done = True
            self._success = success
            self._value = value
        callback = self._callback if success else self._error_callback
        if callback is not None:
            try:
                callback(value)
            except Exception:  # noqa: BLE001 - a user callback must not stop the pool
                logger.exception("Pool %s raised", "callback" if success else "error_callback")
        self._event.set()
        return True

    def _chunk_done(self, index: int, ok: bool, value: Any) -> None:
        self._finish(ok, value[0] if ok else value)

    def _set_length(self, num_chunks: int) -> None:
        """Sized jobs know their length from the start."""

    def _abort(self, error: BaseException) -> None:
        self._finish(False, error)

    def __repr__(self) -> str:
        state = "pending" if not self.ready() else ("ok" if self._success else "failed")
        return f"<{type(self).__name__} {state}>"


ApplyResult = AsyncResult


class MapResult(AsyncResult):
    """The pending result of ``Pool.map_async``: a list in input order.

    Completes with the first failure, like the standard library's.
    """

    def __init__(self, num_items: int, chunksize: int, callback: Callback = None,
                 error_callback: Callback = None) -> None:
        super().__init__(callback, error_callback)
        self._chunksize = chunksize
        self._values: list[Any] = [None] * num_items  # GUARDED_BY(_lock)
        self._chunks_left = -(-num_items // chunksize) if num_items else 0
        if num_items == 0:
            self._finish(True, [])

    def _chunk_done(self, index: int, ok: bool, value: Any) -> None:
        if not ok:
            self._finish(False, value)
            return
        with self._lock:
            if self._done:
                return
            start = index * self._chunksize
            self._values[start:start + len(value)] = value
            self._chunks_left -= 1
            complete = self._chunks_left == 0
        if complete:
            self._finish(True, self._values)


class IMapIterator:
    """The results of ``Pool.imap`` (``ordered=True``: input order) or
    ``Pool.imap_unordered`` (completion order), as an iterator.

    ``next(timeout)`` raises ``multiprocessing.TimeoutError`` when no result
    comes within ``timeout`` seconds. A failed item raises its exception from
    ``next`` (the other items of its chunk are unaffected); iteration can go
    on after it.
    """

    def __init__(self, ordered: bool = True) -> None:
        self._ordered = ordered
        self._cond = threading.Condition()
        # All GUARDED_BY(_cond):
        self._arrived: dict[int, tuple[bool, Any]] = {}  # ordered: chunk index -> result
        self._arrival_order: deque[tuple[bool, Any]] = deque()  # unordered
        self._items: deque[tuple[bool, Any]] = deque()  # taken chunks, item by item
        self._chunks_taken = 0
        self._num_chunks: int | None = None  # known once the input is exhausted
        self._aborted: BaseException | None = None

    def __iter__(self) -> IMapIterator:
        return self

    def next(self, timeout: float | None = None) -> Any:
        """The next result (see the class docstring)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while True:
                while not self._items and self._take_chunk():
                    pass
                if self._items:
                    ok, value = self._items.popleft()
                    if ok:
                        return value
                    raise value
                if self._aborted is not None:
                    raise self._aborted
                if self._num_chunks is not None and self._chunks_taken >= self._num_chunks:
                    raise StopIteration
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise multiprocessing.TimeoutError
                self._cond.wait(remaining)

    __next__ = next

    def _take_chunk(self) -> bool:
        """Moves the next available chunk's items to ``_items``; returns whether
        there was one. REQUIRES _cond."""
        if self._ordered:
            result = self._arrived.pop(self._chunks_taken, None)
        else:
            result = self._arrival_order.popleft() if self._arrival_order else None
        if result is None:
            return False
        self._chunks_taken += 1
        ok, value = result
        if ok:  # the chunk ran: each item's (ok, result or error)
            self._items.extend(value)
        else:  # the whole chunk failed (its task died, was cancelled...)
            self._items.append((False, value))
        return True

    def _chunk_done(self, index: int, ok: bool, value: Any) -> None:
        with self._cond:
            if self._ordered:
                self._arrived[index] = (ok, value)
            else:
                self._arrival_order.append((ok, value))
            self._cond.notify_all()

    def _set_length(self, num_chunks: int) -> None:
        with self._cond:
            self._num_chunks = num_chunks
            self._cond.notify_all()

    def _abort(self, error: BaseException) -> None:
        with self._cond:
            if self._aborted is None:
                self._aborted = error
            self._cond.notify_all()

