"""Progress bars from tasks and actors, drawn in the driver's terminal
(Ray's ``ray.experimental.tqdm_ray``)::

    from comet.experimental.tqdm_ray import tqdm

    @comet.remote
    def work(n):
        for _ in tqdm(range(n), desc="work"):
            ...

A bar made inside a task or actor writes its state as a marker line on the
worker's stdout (at most every ``flush_interval_s`` seconds, and when it
closes); the raylet streams it to the driver with the worker's other output,
and the driver draws one line per bar under the streamed lines
(``comet._private.progress_bars``). In a driver, the bar is drawn in place.
Supports the subset of tqdm's arguments that Ray's does.
"""

from __future__ import annotations

import builtins
import json
import sys
import time
import uuid
from typing import Any, Iterable, Iterator

from comet._private import progress_bars, worker_context

__all__ = ["tqdm", "safe_print"]


class tqdm:  # noqa: N801 - tqdm's (and Ray's) name
    """A progress bar whose state is reported to the driver."""

    DEFAULT_FLUSH_INTERVAL_SECONDS = 1.0

    def __init__(self, iterable: Iterable | None = None, desc: str | None = None,
                 total: int | None = None, unit: str | None = None,
                 position: int | None = None, flush_interval_s: float | None = None) -> None:
        if total is None and iterable is not None:
            try:
                total = len(iterable)  # type: ignore[arg-type]
            except (TypeError, AttributeError):
                total = None
        self._iterable = iterable
        self._desc = desc or ""
        self.total = total
        self._unit = unit or "it"
        self._position = position
        self._interval = (self.DEFAULT_FLUSH_INTERVAL_SECONDS if flush_interval_s is None
                          else float(flush_interval_s))
        self._uuid = uuid.uuid4().hex
        self._start = time.time()
        self._last_flush = 0.0
        self._closed = False
        self.n = 0
        self._dump_state()

    def set_description(self, desc: str | None = None, refresh: bool = True) -> None:
        """Sets the bar's description."""
        self._desc = desc or ""
        if refresh:
            self._dump_state()

    def update(self, n: int = 1) -> None:
        """Advances the bar by ``n``."""
        self.n += n
        if time.monotonic() - self._last_flush >= self._interval:
            self._dump_state()

    def refresh(self) -> None:
        """Reports the bar's state now."""
        self._dump_state()

    def close(self) -> None:
        """Ends the bar (its final state stays in the driver's terminal)."""
        if self._closed:
            return
        self._closed = True
        self._dump_state()

    def __iter__(self) -> Iterator[Any]:
        if self._iterable is None:
            raise TypeError("tqdm() was given no iterable to iterate over")
        try:
            for item in self._iterable:
                yield item
                self.update(1)
        finally:
            self.close()

    def __enter__(self) -> tqdm:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _get_state(self) -> dict[str, Any]:
        return {"uuid": self._uuid, "desc": self._desc, "x": self.n, "total": self.total,
                "unit": self._unit, "pos": self._position, "start": self._start,
                "closed": self._closed}

    def _dump_state(self) -> None:
        self._last_flush = time.monotonic()
        state = self._get_state()
        if worker_context.get().mode == "worker":
            stream = sys.__stdout__ or sys.stdout
            stream.write(progress_bars.MAGIC + json.dumps(state) + "\n")
            stream.flush()
        else:
            progress_bars.local_bars().update(progress_bars.LOCAL_SOURCE, state)


def safe_print(*args: Any, **kwargs: Any) -> None:
    """print() that does not tear the driver's bars (in a task, print is
    safe already: its lines are streamed)."""
    if worker_context.get().mode == "worker":
        builtins.print(*args, **kwargs)
        return
    end = kwargs.get("end", "\n")
    text = kwargs.get("sep", " ").join(str(a) for a in args) + end
    progress_bars.local_bars().write(kwargs.get("file") or sys.stdout, text)
