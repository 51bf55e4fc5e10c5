"""ObjectRefGenerator: the stream of refs a generator task yields."""

from __future__ import annotations

from typing import Any

from comet import exceptions
from comet._private import worker_context


class ObjectRefGenerator:
    """Iterates over the ObjectRefs of a generator task's items as they come.

    ``next(gen)`` blocks until the task yields its next item and returns an
    ObjectRef to it; iteration stops when the task returns. If the task raised,
    ``comet.get`` of the last ref raises its error.
    """

    def __init__(self, task_id: bytes) -> None:
        self._task_id = task_id
        self._index = 0
        self._done = False

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

    def completed(self) -> bool:
        """Whether the stream has ended (all items were consumed)."""
        return self._done

    def task_id(self) -> bytes:
        return self._task_id

    def __repr__(self) -> str:
        return f"ObjectRefGenerator(task_id={self._task_id.hex()})"
