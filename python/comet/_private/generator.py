"""ObjectRefGenerator: the stream of refs a generator task yields; and
DynamicObjectRefGenerator, the list of them a ``num_returns="dynamic"`` task
returns."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from comet import exceptions
from comet._private import worker_context

if TYPE_CHECKING:
    from comet._raylet import ObjectRef


_END = object()  # the stream ended (StopIteration cannot cross a Future)


class ObjectRefGenerator:
    """Iterates over the ObjectRefs of a generator task's items as they come.

    ``next(gen)`` blocks until the task yields its next item and returns an
    ObjectRef to it; iteration stops when the task returns. ``async for``
    works too, without blocking the event loop. If the task raised,
    ``comet.get`` of the last ref raises its error.
    """

    def __init__(self, task_id: bytes) -> None:
        self._task_id = task_id
        self._index = 0
        self._done = False

    def __del__(self) -> None:
        # Items the generator yields from now on have no reader: a generator
        # held back by backpressure is let go.
        ctx = worker_context.get()
        if ctx.core_worker is not None and not self._done:
            try:
                ctx.core_worker.forget_generator(self._task_id)
            except Exception:  # noqa: BLE001 - the worker may be shutting down
                pass

    def __iter__(self) -> ObjectRefGenerator:
        return self

    def __next__(self) -> Any:
        return self._next(timeout_s=-1.0)

    def _next(self, timeout_s: float) -> Any:
        if self._done:
            raise StopIteration
        item = worker_context.core_worker().next_generator_item(
            self._task_id, self._index, timeout_s)
        if item is None:
            raise exceptions.GetTimeoutError(
                f"no item of the generator within {timeout_s}s")
        if isinstance(item, str):  # "end"
            self._done = True
            raise StopIteration
        self._index += 1
        return item

    def __aiter__(self) -> ObjectRefGenerator:
        return self

    async def __anext__(self) -> Any:
        """``async for ref in gen``: waits for the next item on a thread of
        the loop's executor, so the event loop keeps running."""
        loop = asyncio.get_running_loop()
        item = await loop.run_in_executor(None, self._next_or_end)
        if item is _END:
            raise StopAsyncIteration
        return item

    def _next_or_end(self) -> Any:
        try:
            return self._next(timeout_s=-1.0)
        except StopIteration:
            return _END

    def completed(self) -> ObjectRef:
        """An ObjectRef that becomes ready when the generator task ends.

        ``comet.get`` of it returns None once the task ran to its end (an
        exception the task raised is the stream's last item, not this ref's),
        and raises the system error (a crashed worker, a cancel) that ended
        it otherwise.
        """
        return worker_context.core_worker().generator_completion_ref(self._task_id)

    def next_ready(self) -> bool:
        """Whether ``next(gen)`` would return at once: the next item (or the
        end of the stream) has arrived."""
        if self._done:
            return True
        return worker_context.core_worker().generator_item_ready(self._task_id, self._index)

    def is_finished(self) -> bool:
        """Whether every item has been taken (``next`` would stop)."""
        return self._done

    def task_id(self) -> bytes:
        return self._task_id

    def __repr__(self) -> str:
        return f"ObjectRefGenerator(task_id={self._task_id.hex()})"


class DynamicObjectRefGenerator:
    """The value of a ``num_returns="dynamic"`` task's one ObjectRef: an
    iterable of ObjectRefs, one per item its generator yielded, known once
    the task has finished (Ray's older form; a generator task without
    ``num_returns`` streams its items instead, as an ObjectRefGenerator).

    If the generator raised, its error is the last ref's value.
    """

    def __init__(self, refs: list[ObjectRef]) -> None:
        self._refs = list(refs)

    def __iter__(self) -> Any:
        return iter(self._refs)

    def __len__(self) -> int:
        return len(self._refs)

    def __repr__(self) -> str:
        return f"DynamicObjectRefGenerator({len(self._refs)} refs)"
