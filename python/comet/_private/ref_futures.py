"""ObjectRefs as futures, as in Ray: ``ref.future()`` (a
``concurrent.futures.Future``), ``ref.as_future()`` (an ``asyncio.Future``
of the running loop) and ``await ref`` (also ``await asyncio.gather(*refs)``).

The core worker calls back when the object is ready (``on_ready``), on one
of its own threads; the value is then read on a thread of this module's
(reading may fetch from the object store), so neither the core worker's
threads nor the caller's event loop ever block.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from typing import Any

from comet._private import worker_context

def _reader_pool() -> concurrent.futures.ThreadPoolExecutor:
    """This process's threads that read ready values (made on first use,
    kept in the worker context, stopped at shutdown)."""
    ctx = worker_context.get()
    with ctx.lock:
        if ctx.ref_readers is None:
            ctx.ref_readers = concurrent.futures.ThreadPoolExecutor(
                max_workers=2, thread_name_prefix="comet-ref-future")
        return ctx.ref_readers


def future(ref: Any) -> concurrent.futures.Future:
    """A concurrent.futures.Future of the ref's value (or the task's error)."""
    from comet._private.worker import get

    cw = worker_context.core_worker(auto_init=True)
    fut: concurrent.futures.Future = concurrent.futures.Future()

    def read() -> None:
        try:
            fut.set_result(get(ref))
        except BaseException as error:  # noqa: BLE001 - the future carries it
            fut.set_exception(error)

    cw.on_ready(ref, lambda: _reader_pool().submit(read))
    return fut


def as_future(ref: Any) -> asyncio.Future:
    """An asyncio.Future of the ref's value, on the running event loop."""
    return asyncio.wrap_future(future(ref))


def await_ref(ref: Any) -> Any:
    """``ref.__await__``: ``await ref`` gives its value."""
    return as_future(ref).__await__()
