"""The driver's progress bars (``comet.experimental.tqdm_ray``): one line per
bar, kept under the streamed lines of workers' output.

A bar's state arrives as a marker line (``MAGIC`` + JSON) in a worker's
stdout, which the log streamer hands here instead of printing it. On a
terminal the live bars are redrawn in place at the bottom: a streamed line
first clears them, is written, and the bars are drawn again below it, so
lines and bars never interleave; a bar that closes leaves its final line
behind. Elsewhere (a pipe, a file) a bar is written as a plain line when it
closes, and at most every ``PLAIN_INTERVAL_S`` seconds while it runs.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass
from typing import Any, TextIO

MAGIC = "__comet_tqdm_ray__:"
# The source of bars made in the driver itself.
LOCAL_SOURCE = ("", 0, "", False, False)
PLAIN_INTERVAL_S = 10.0
_BAR_WIDTH = 20


@dataclass
class _Bar:
    state: dict[str, Any]
    label: str
    last_plain: float = 0.0


def render(state: dict[str, Any], label: str, now: float) -> str:
    """``desc  40%|########            | 4/10 [00:02, 2.0it/s] (f pid=7)``."""
    x, total, unit = state.get("x", 0), state.get("total"), state.get("unit") or "it"
    elapsed = max(0.0, now - float(state.get("start") or now))
    rate = x / elapsed if elapsed > 0 else 0.0
    clock = f"{int(elapsed // 60):02d}:{int(elapsed % 60):02d}"
    desc = f"{state.get('desc')}: " if state.get("desc") else ""
    if total:
        done = min(1.0, x / total)
        filled = int(done * _BAR_WIDTH)
        body = (f"{done * 100:3.0f}%|{'#' * filled}{' ' * (_BAR_WIDTH - filled)}| "
                f"{x}/{total} [{clock}, {rate:.1f}{unit}/s]")
    else:
        body = f"{x}{unit} [{clock}, {rate:.1f}{unit}/s]"
    return f"{desc}{body}{label}"


def _label(source: tuple, driver_ip: str) -> str:
    """Where a bar comes from, as streamed lines say it: the ip only for
    another node's workers."""
    ip, pid, name = source[0], source[1], source[2]
    if not pid:
        return ""
    where = f"pid={pid}" if not ip or ip == driver_ip else f"pid={pid}, ip={ip}"
    return f" ({name} {where})" if name else f" ({where})"


def is_tty(stream: TextIO) -> bool:
    """Whether `stream` is a terminal (False for closed or odd streams)."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class BarManager:
    """The bars of one driver and the terminal lines they share with the
    streamed output. Thread-safe (one lock for everything it writes)."""

    def __init__(self, driver_ip: str = "") -> None:
        self._driver_ip = driver_ip
        self._lock = threading.Lock()
        self._bars: dict[tuple, _Bar] = {}
        self._drawn = 0  # bar lines on screen below the cursor's text

    def update(self, source: tuple, state: dict[str, Any]) -> None:
        """A bar's new state (from a worker's marker line, or this driver)."""
        key = (source[0], source[1], state.get("uuid"))
        now = time.time()
        out = sys.stderr
        with self._lock:
            bar = self._bars.get(key)
            if bar is None:
                bar = self._bars[key] = _Bar(state, _label(source, self._driver_ip))
            bar.state = state
            tty = is_tty(out)
            if tty:
                self._clear(out)
            if state.get("closed"):
                del self._bars[key]
                out.write(render(state, bar.label, now) + "\n")
            elif not tty and now - bar.last_plain >= PLAIN_INTERVAL_S:
                bar.last_plain = now
                out.write(render(state, bar.label, now) + "\n")
            if tty:
                self._draw(out, now)
            out.flush()

    def write(self, stream: TextIO, text: str) -> None:
        """Writes streamed text without tearing the bars."""
        with self._lock:
            tty = self._drawn and is_tty(sys.stderr)
            if tty:
                self._clear(sys.stderr)
                sys.stderr.flush()
            try:
                stream.write(text)
                stream.flush()
            except (OSError, ValueError):  # a closed terminal or stream
                pass
            if tty:
                self._draw(sys.stderr, time.time())
                sys.stderr.flush()

    def close_all(self) -> None:
        """Leaves the live bars' last state on screen (shutdown)."""
        with self._lock:
            out = sys.stderr
            if is_tty(out):
                self._clear(out)
            now = time.time()
            for bar in self._bars.values():
                out.write(render(bar.state, bar.label, now) + "\n")
            self._bars.clear()
            out.flush()

    def _clear(self, out: TextIO) -> None:
        if self._drawn:
            out.write(f"\x1b[{self._drawn}F\x1b[J")
            self._drawn = 0

    def _draw(self, out: TextIO, now: float) -> None:
        bars = sorted(self._bars.values(),
                      key=lambda b: (b.state.get("pos") is None, b.state.get("pos") or 0))
        for bar in bars:
            out.write(render(bar.state, bar.label, now) + "\n")
        self._drawn = len(bars)


def local_bars() -> BarManager:
    """This driver's bar manager (shared with its log streamer)."""
    from comet._private import worker_context

    ctx = worker_context.get()
    if ctx.progress_bars is None:
        ctx.progress_bars = BarManager(ctx.node_ip or "")
    return ctx.progress_bars
