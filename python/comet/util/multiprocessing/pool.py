"""``comet.util.multiprocessing.Pool``: the standard library's process pool
interface, on Comet actors (one worker process each), as Ray's.

    from comet.util.multiprocessing import Pool

    with Pool() as pool:
        print(pool.map(abs, range(-5, 5)))

Work is cut into chunks of ``chunksize`` items and each chunk is one call to
one of the pool's processes, so ``map`` over many small items costs a few
calls, not one per item.
"""

from __future__ import annotations

import itertools
import math
from typing import Any, Callable, Iterable, Iterator, Mapping

import comet
from comet import exceptions
from comet.util.multiprocessing import _worker
from comet.util.multiprocessing.dispatcher import ChunkDispatcher, Source
from comet.util.multiprocessing.processes import ProcessSet
from comet.util.multiprocessing.results import AsyncResult, Callback, IMapIterator, MapResult

_RUN, _CLOSE, _TERMINATE = "RUN", "CLOSE", "TERMINATE"

# The default chunk size makes about this many chunks per process.
_CHUNKS_PER_PROCESS = 4


class Pool:
    """A pool of Comet tasks with the interface of ``multiprocessing.Pool``.

    Args:
        processes: how many worker processes (actors of 1 CPU each, unless
            ``ray_remote_args`` says otherwise) the pool has; the cluster's
            CPU count by default. More than the cluster's CPUs raise
            ValueError.
        initializer: if given, ``initializer(*initargs)`` runs once in each
            worker process, when it starts.
        initargs: arguments of ``initializer``.
        maxtasksperchild: the most chunks a worker process runs before it is
            replaced by a fresh one.
        context: accepted for compatibility with the standard library; unused.
        ray_address: the cluster to connect to when Comet is not initialized
            yet (``comet.init(address=ray_address)``); ignored otherwise.
        ray_remote_args: actor options for the processes (``num_cpus``,
            ``resources``, ``scheduling_strategy``...).

    The pool connects with ``comet.init()`` if this process is not connected.
    Exceptions raised by the function reach the caller as instances of their
    original class. A closed or terminated pool raises ValueError when used.
    ``with Pool() as pool:`` terminates the pool on exit, like the standard
    library's. Unlike a process pool, it can be used from any thread, and
    inside Comet tasks.
    """

    def __init__(self, processes: int | None = None,
                 initializer: Callable[..., Any] | None = None,
                 initargs: Iterable[Any] | None = (),
                 maxtasksperchild: int | None = None, context: Any = None,
                 ray_address: str | None = None,
                 ray_remote_args: Mapping[str, Any] | None = None) -> None:
        _check_args(processes, initializer, maxtasksperchild)
        if not comet.is_initialized():
            comet.init(address=ray_address)
        cpus = int(comet.cluster_resources().get("CPU", 1))
        if processes is None:
            processes = max(1, cpus)
        options = dict(ray_remote_args or {})
        per_process = float(options.get("num_cpus", 1))
        if processes * per_process > cpus:
            raise ValueError(f"Tried to start a pool with {processes} processes of "
                             f"{per_process:g} CPU each, but the cluster has only {cpus} CPUs")
        self._processes = processes
        init_box = (None if initializer is None
                    else [comet.put((initializer, tuple(initargs or ())))])
        self._workers = ProcessSet(processes, init_box, maxtasksperchild, options)
        self._state = _RUN
        self._dispatcher = ChunkDispatcher(self._submit, max_in_flight=processes,
                                           release=self._workers.release)

    # -- single calls ------------------------------------------------------

    def apply(self, func: Callable[..., Any], args: Iterable[Any] = (),
              kwds: Mapping[str, Any] | None = None) -> Any:
        """Calls ``func(*args, **kwds)`` in a task and returns its result."""
        return self.apply_async(func, args, kwds).get()

    def apply_async(self, func: Callable[..., Any], args: Iterable[Any] = (),
                    kwds: Mapping[str, Any] | None = None, callback: Callback = None,
                    error_callback: Callback = None) -> AsyncResult:
        """Like :meth:`apply`, but returns an :class:`AsyncResult` at once.

        ``callback(result)`` or ``error_callback(exception)`` runs when the
        call completes, on the pool's collector thread.
        """
        self._check_running()
        result = AsyncResult(callback, error_callback)
        call = (tuple(args), dict(kwds or {}))
        self._dispatcher.add(Source(result, func, _worker.APPLY, iter([[call]])))
        return result

    # -- maps --------------------------------------------------------------

    def map(self, func: Callable[[Any], Any], iterable: Iterable[Any],
            chunksize: int | None = None) -> list[Any]:
        """``[func(x) for x in iterable]``, computed in chunks of tasks."""
        return self.map_async(func, iterable, chunksize).get()

    def map_async(self, func: Callable[[Any], Any], iterable: Iterable[Any],
                  chunksize: int | None = None, callback: Callback = None,
                  error_callback: Callback = None) -> MapResult:
        """Like :meth:`map`, but returns a :class:`MapResult` at once."""
        return self._map(func, iterable, _worker.CALL, chunksize, callback, error_callback)

    def starmap(self, func: Callable[..., Any], iterable: Iterable[Iterable[Any]],
                chunksize: int | None = None) -> list[Any]:
        """``[func(*args) for args in iterable]``, computed in chunks of tasks."""
        return self.starmap_async(func, iterable, chunksize).get()

    def starmap_async(self, func: Callable[..., Any], iterable: Iterable[Iterable[Any]],
                      chunksize: int | None = None, callback: Callback = None,
                      error_callback: Callback = None) -> MapResult:
        """Like :meth:`starmap`, but returns a :class:`MapResult` at once."""
        return self._map(func, iterable, _worker.STAR, chunksize, callback, error_callback)

    def imap(self, func: Callable[[Any], Any], iterable: Iterable[Any],
             chunksize: int | None = None) -> IMapIterator:
        """An iterator of ``func(x)`` for ``x`` in ``iterable``, in order.

        The input is read lazily, as tasks free up. ``chunksize`` defaults to
        the one :meth:`map` would use when the input has a length, else 1.
        """
        return self._imap(func, iterable, chunksize, ordered=True)

    def imap_unordered(self, func: Callable[[Any], Any], iterable: Iterable[Any],
                       chunksize: int | None = None) -> IMapIterator:
        """Like :meth:`imap`, but results come in the order they finish."""
        return self._imap(func, iterable, chunksize, ordered=False)

    # -- lifetime ----------------------------------------------------------

    def close(self) -> None:
        """Accepts no more work; what was submitted still runs."""
        if self._state == _RUN:
            self._state = _CLOSE

    def terminate(self) -> None:
        """Stops now: queued chunks never run, running ones are stopped by
        killing their worker processes (as the standard library does), and
        pending results raise :class:`comet.exceptions.TaskCancelledError`."""
        self._state = _TERMINATE
        self._dispatcher.stop(exceptions.TaskCancelledError(
            error_message="The pool was terminated before this result was computed."))
        self._workers.stop()

    def join(self, timeout: float | None = None) -> None:
        """Waits for the submitted work to finish; call :meth:`close` or
        :meth:`terminate` first."""
        if self._state == _RUN:
            raise ValueError("Pool is still running")
        if self._dispatcher.wait_idle(timeout):
            self._workers.stop()  # closed and done: its processes exit

    def __enter__(self) -> Pool:
        self._check_running()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.terminate()

    def __reduce__(self) -> Any:
        raise NotImplementedError(
            "pool objects cannot be passed between processes or pickled")

    def __repr__(self) -> str:
        return f"<{type(self).__module__}.Pool state={self._state} processes={self._processes}>"

    # -- internals ---------------------------------------------------------

    def _check_running(self) -> None:
        if self._state != _RUN:
            raise ValueError("Pool not running")

    def _submit(self, source: Source, items: list[Any]) -> Any:
        return self._workers.submit(source.func, items, source.mode)

    def _map(self, func: Callable[..., Any], iterable: Iterable[Any], mode: int,
             chunksize: int | None, callback: Callback,
             error_callback: Callback) -> MapResult:
        self._check_running()
        items = list(iterable)
        size = self._chunksize(len(items), chunksize)
        result = MapResult(len(items), size, callback, error_callback)
        if items:
            chunks = (items[i:i + size] for i in range(0, len(items), size))
            self._dispatcher.add(Source(result, func, mode, chunks))
        return result

    def _imap(self, func: Callable[[Any], Any], iterable: Iterable[Any],
              chunksize: int | None, ordered: bool) -> IMapIterator:
        self._check_running()
        if chunksize is not None:
            size = self._chunksize(0, chunksize)
        elif hasattr(iterable, "__len__"):
            size = self._chunksize(len(iterable), None)  # type: ignore[arg-type]
        else:
            size = 1
        result = IMapIterator(ordered)
        self._dispatcher.add(Source(result, func, _worker.EACH, _batched(iterable, size)))
        return result

    def _chunksize(self, num_items: int, chunksize: int | None) -> int:
        if chunksize is None:
            return max(1, math.ceil(num_items / (self._processes * _CHUNKS_PER_PROCESS)))
        if not isinstance(chunksize, int) or isinstance(chunksize, bool) or chunksize < 1:
            raise ValueError(f"Chunksize must be 1+, not {chunksize!r}")
        return chunksize


def _check_args(processes: Any, initializer: Any, maxtasksperchild: Any) -> None:
    if processes is not None and (not isinstance(processes, int) or processes < 1):
        raise ValueError("Number of processes must be at least 1")
    if initializer is not None and not callable(initializer):
        raise TypeError("initializer must be a callable")
    if maxtasksperchild is not None and (
            not isinstance(maxtasksperchild, int) or maxtasksperchild < 1):
        raise ValueError("maxtasksperchild must be a positive int or None")


def _batched(iterable: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """Lists of ``size`` consecutive items (the last one may be shorter)."""
    iterator = iter(iterable)
    while True:
        chunk = list(itertools.islice(iterator, size))
        if not chunk:
            return
        yield chunk
