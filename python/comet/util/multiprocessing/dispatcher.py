"""Runs a pool's chunks on its processes, a bounded number at a time.

A :class:`Source` is one pool call (``map``, ``imap``, ``apply``...): a job
that receives results and an iterator of chunks. The dispatcher keeps at most
``max_in_flight`` chunk tasks running (the pool's ``processes``), pulling the
next chunk from the oldest source whenever one finishes, and reports each
chunk's result to its job with ``job._chunk_done(index, ok, value)``. When a
source runs out of chunks its job learns how many there were
(``job._set_length``); :meth:`ChunkDispatcher.stop` aborts the jobs still
running (``job._abort``).

Thread model: thread-safe; the fields are guarded by ``_cond``. A collector
thread runs while tasks are in flight and exits when none are, so an idle
pool holds no thread. Job methods (which may run user callbacks) are always
called without ``_cond`` held.
"""

from __future__ import annotations

import functools
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import comet

# How long the collector waits before it looks again at the set of running
# tasks (tasks submitted while it waits are picked up at the next look).
_POLL_S = 0.1


@dataclass
class Source:
    """One pool call: where its results go and its chunks still to submit."""

    job: Any  # AsyncResult, MapResult or IMapIterator
    func: Callable[..., Any]
    mode: int  # _worker.CALL, STAR or APPLY
    chunks: Iterator[list[Any]]
    next_index: int = 0

    def abandoned(self) -> bool:
        """Whether the job already completed (a failed map): skip its rest."""
        ready = getattr(self.job, "ready", None)
        return ready is not None and ready()


Submit = Callable[[Source, list], "comet.ObjectRef"]
Deferred = list[Callable[[], None]]


class ChunkDispatcher:
    """Submits the chunks of sources as tasks and hands their results back."""

    def __init__(self, submit: Submit, max_in_flight: int,
                 release: Callable[[Any], None] | None = None) -> None:
        self._submit = submit
        self._release = release  # told each chunk ref that finished, before the next submit
        self._max_in_flight = max_in_flight
        self._cond = threading.Condition(threading.RLock())
        self._sources: deque[Source] = deque()  # GUARDED_BY(_cond)
        self._in_flight: dict[Any, tuple[Any, int]] = {}  # GUARDED_BY(_cond): ref -> (job, index)
        self._collector: threading.Thread | None = None  # GUARDED_BY(_cond)
        self._stopped = False  # GUARDED_BY(_cond)

    def add(self, source: Source) -> None:
        """Queues a source; its first chunks start now if there is room."""
        with self._cond:
            if self._stopped:
                raise ValueError("Pool not running")
            self._sources.append(source)
            deferred = self._fill()
            self._start_collector()
        _run(deferred)

    def stop(self, error: BaseException) -> None:
        """Drops queued chunks and fails the jobs of queued and running ones
        with ``error``; what runs is the pool's to end (it kills its
        processes). Further :meth:`add` calls raise ValueError."""
        with self._cond:
            self._stopped = True
            sources = list(self._sources)
            self._sources.clear()
            in_flight = dict(self._in_flight)
            self._in_flight.clear()
            self._cond.notify_all()
        jobs = {id(job): job for job, _ in in_flight.values()}
        jobs.update((id(s.job), s.job) for s in sources)
        for job in jobs.values():
            job._abort(error)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Blocks until nothing is queued or running and the collector exited."""
        with self._cond:
            return self._cond.wait_for(
                lambda: self._collector is None and not self._in_flight
                and not self._sources, timeout)

    def _start_collector(self) -> None:
        """REQUIRES _cond."""
        if self._collector is None and self._in_flight:
            self._collector = threading.Thread(
                target=self._collect, name="comet-pool-collector", daemon=True)
            self._collector.start()

    def _fill(self) -> Deferred:
        """Submits chunks while there is room; REQUIRES _cond. Returns the job
        calls to make once ``_cond`` is released."""
        deferred: Deferred = []
        while self._sources and len(self._in_flight) < self._max_in_flight:
            source = self._sources[0]
            index = source.next_index
            try:
                if source.abandoned():
                    raise StopIteration
                items = next(source.chunks)
                source.next_index += 1
                ref = self._submit(source, items)
            except StopIteration:
                self._sources.popleft()
                deferred.append(functools.partial(source.job._set_length, index))
                continue
            except Exception as error:  # noqa: BLE001 - bad input or unpicklable: fail the job
                self._sources.popleft()
                deferred.append(functools.partial(source.job._chunk_done, index, False, error))
                deferred.append(functools.partial(source.job._set_length, index + 1))
                continue
            self._in_flight[ref] = (source.job, index)
        return deferred

    def _collect(self) -> None:
        """The collector thread: waits for running chunks and reports them."""
        while True:
            with self._cond:
                if not self._in_flight:
                    self._collector = None
                    self._cond.notify_all()
                    return
                refs = list(self._in_flight)
            try:
                ready, _ = comet.wait(refs, num_returns=1, timeout=_POLL_S)
            except Exception as error:  # noqa: BLE001 - e.g. comet.shutdown(): fail every job
                self.stop(error)
                continue
            for ref in ready:
                self._report(ref)

    def _report(self, ref: Any) -> None:
        try:
            value, ok = comet.get(ref), True
        except Exception as error:  # noqa: BLE001 - the chunk's error goes to its job
            value, ok = error, False
        with self._cond:
            entry = self._in_flight.pop(ref, None)
            if entry is not None and self._release is not None:
                self._release(ref)
            deferred = self._fill()
        if entry is not None:
            job, index = entry
            job._chunk_done(index, ok, value)
        _run(deferred)


def _run(deferred: Deferred) -> None:
    for call in deferred:
        call()
