"""Workers' output at the driver, as Ray prints it.

Every node's raylet reads what its workers write to stdout and stderr (their
``logs/worker-*.out``/``.err`` files) and publishes the lines of each job on
the GCS (``src/comet/raylet/log_monitor.h``). A driver started with
``init(log_to_driver=True)`` (the default) runs a :class:`LogStreamer`: a
daemon thread that polls its job's lines and prints each under a prefix
naming the task or actor, the worker's pid and, for a worker on another
host, its IP::

    (f pid=4242) hello
    (Trainer pid=4250, ip=10.0.0.3) epoch 1

stdout lines go to the driver's ``sys.stdout``, stderr lines to its
``sys.stderr``; the prefix is coloured when that stream is a terminal.

Identical lines (digits aside) from several workers within
``COMET_DEDUP_LOGS_AGG_WINDOW_S`` seconds (5) are printed once, then once
more with ``[repeated Nx across cluster]``; ``COMET_DEDUP_LOGS=0`` turns
that off (:class:`LogDeduplicator`).
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, TextIO

from comet import _raylet
from comet._private import progress_bars

_CYAN, _GREEN, _RESET = "\x1b[36m", "\x1b[32m", "\x1b[0m"
_DIGITS = re.compile(r"\d+")
_DEDUP_HINT = (" (Comet deduplicates logs by default. Set COMET_DEDUP_LOGS=0 to disable "
               "log deduplication.)")

# One run of lines as the GCS delivers it: who wrote them, and the lines.
Source = tuple[str, int, str, bool, bool]  # (ip, pid, name, is_actor, is_err)


@dataclass
class _Seen:
    """A line's first sighting in the current window, and what was held back."""
    source: tuple[str, int]
    since: float
    repeats: int = 0
    last_line: str = ""
    last_source: Source | None = None


@dataclass
class LogDeduplicator:
    """Holds back lines that other workers already printed.

    A line is keyed by its stream and its text with digits removed. The
    first worker to print it in a window (``window_s``) has it, and every
    later line of that key from the same worker, printed at once; the same
    line from other workers is counted instead, and printed once, with
    ``[repeated Nx across cluster]``, when the window ends (``expire``) or
    at :meth:`flush`. Lines with nothing but digits and spaces are never
    held back. Pure: time is passed in.
    """

    window_s: float = 5.0
    _seen: dict[tuple[bool, str], _Seen] = field(default_factory=dict)

    def feed(self, source: Source, line: str, now: float) -> list[tuple[Source, str, int]]:
        """What to print now for ``line``: (source, line, repeats) triples,
        repeats > 0 for a summary of held-back lines."""
        out = self.expire(now)
        key_text = _DIGITS.sub("", line).strip()
        if not key_text:
            return out + [(source, line, 0)]
        key = (source[4], key_text)
        seen = self._seen.get(key)
        if seen is None:
            self._seen[key] = _Seen((source[0], source[1]), now)
            return out + [(source, line, 0)]
        if seen.source == (source[0], source[1]):
            return out + [(source, line, 0)]
        seen.repeats += 1
        seen.last_line, seen.last_source = line, source
        return out

    def expire(self, now: float) -> list[tuple[Source, str, int]]:
        """Summaries of the windows that ended by ``now``."""
        ended = [key for key, seen in self._seen.items() if now - seen.since >= self.window_s]
        return self._summaries(ended)

    def flush(self) -> list[tuple[Source, str, int]]:
        """Summaries of everything held back (at shutdown)."""
        return self._summaries(list(self._seen))

    def next_expiry(self) -> float | None:
        """When the oldest window ends, or None when nothing is held."""
        pending = [s.since + self.window_s for s in self._seen.values() if s.repeats]
        return min(pending) if pending else None

    def _summaries(self, keys: list[tuple[bool, str]]) -> list[tuple[Source, str, int]]:
        out = []
        for key in keys:
            seen = self._seen.pop(key)
            if seen.repeats and seen.last_source is not None:
                out.append((seen.last_source, seen.last_line, seen.repeats))
        return out


def format_line(source: Source, line: str, repeats: int, driver_ip: str, colour: bool,
                hint: bool = False) -> str:
    """``(name pid=N[, ip=H]) line`` with the repeat note, as Ray writes it."""
    ip, pid, name, _is_actor, _is_err = source
    where = f"pid={pid}" if ip == driver_ip else f"pid={pid}, ip={ip}"
    prefix = f"({name} {where})" if name else f"({where})"
    note = ""
    if repeats:
        note = f" [repeated {repeats}x across cluster]" + (_DEDUP_HINT if hint else "")
    if colour:
        prefix = f"{_CYAN}{prefix}{_RESET}"
        note = f"{_GREEN}{note}{_RESET}" if note else ""
    return f"{prefix} {line}{note}\n"


def _wants_colour(stream: TextIO) -> bool:
    return not os.environ.get("NO_COLOR") and progress_bars.is_tty(stream)


def _env_flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() not in ("0", "false", "no", "off", "")



class LogStreamer:
    """The driver's thread that prints its job's workers' output."""

    # A poll waits at most this long, so that held-back lines are summarised
    # close to their window's end.
    _MAX_WAIT_S = 1.0
    # At stop(): lines still arriving are printed until none came for this
    # long (bounded by _DRAIN_LIMIT_S).
    _DRAIN_QUIET_S = 0.1
    _DRAIN_LIMIT_S = 1.0
    # After a worker death this driver saw (its last, unterminated line is
    # read only once the raylet reaps it): a longer quiet, within the limit.
    _DRAIN_QUIET_AFTER_DEATH_S = 0.5
    _RECENT_DEATH_S = 5.0

    def __init__(self, gcs_address: str, job_id: bytes, driver_ip: str) -> None:
        self._subscriber = _raylet.LogSubscriber(gcs_address, job_id)
        self._driver_ip = driver_ip
        dedup = _env_flag("COMET_DEDUP_LOGS", True)
        window = float(os.environ.get("COMET_DEDUP_LOGS_AGG_WINDOW_S", "5"))
        self._dedup = LogDeduplicator(window) if dedup else None
        self._hinted = False
        self._death_seen: float | None = None
        self._bars = progress_bars.local_bars()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="comet-log-streamer",
                                        daemon=True)
        self._thread.start()

    def note_worker_death(self) -> None:
        """A task or actor call of this driver failed because its worker
        died: its last output may still be on its way."""
        self._death_seen = time.monotonic()

    def stop(self) -> None:
        """Prints what is still on its way (briefly), then ends the thread."""
        self._stopping.set()
        self._subscriber.interrupt()
        self._thread.join(timeout=self._DRAIN_LIMIT_S + 2.0)
        self._subscriber.cancel()
        self._bars.close_all()

    def _run(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            try:
                batches = self._subscriber.poll(self._wait())
                failures = 0
            except Exception:  # noqa: BLE001 - the GCS is away: try again, quietly
                failures += 1
                self._stopping.wait(min(0.2 * failures, 2.0))
                continue
            if batches:  # None: interrupted (stop() was called)
                self._print(batches)
            if self._dedup is not None:
                self._emit(self._dedup.expire(time.monotonic()))
        self._drain()

    def _wait(self) -> float:
        expiry = self._dedup.next_expiry() if self._dedup is not None else None
        if expiry is None:
            return self._MAX_WAIT_S
        return min(self._MAX_WAIT_S, max(0.01, expiry - time.monotonic()))

    def _drain(self) -> None:
        now = time.monotonic()
        deadline = now + self._DRAIN_LIMIT_S
        recent_death = (self._death_seen is not None
                        and now - self._death_seen < self._RECENT_DEATH_S)
        quiet = self._DRAIN_QUIET_AFTER_DEATH_S if recent_death else self._DRAIN_QUIET_S
        while time.monotonic() < deadline:
            try:
                batches = self._subscriber.poll(quiet)
            except Exception:  # noqa: BLE001 - gone: nothing more to print
                break
            if batches is None:  # the interrupt that stop() sent
                continue
            if not batches:
                break
            self._print(batches)
        if self._dedup is not None:
            self._emit(self._dedup.flush())

    def _print(self, batches: list[Any]) -> None:
        now = time.monotonic()
        for ip, pid, name, is_actor, is_err, lines in batches:
            source: Source = (ip, pid, name, is_actor, is_err)
            for line in lines:
                if line.startswith(progress_bars.MAGIC) and not is_err:
                    self._bar(source, line)
                elif self._dedup is None:
                    self._emit([(source, line, 0)])
                else:
                    self._emit(self._dedup.feed(source, line, now))

    def _bar(self, source: Source, line: str) -> None:
        try:
            state = json.loads(line[len(progress_bars.MAGIC):])
        except ValueError:
            state = None
        if isinstance(state, dict):
            self._bars.update(source, state)
        else:  # not ours after all: print it as it came
            self._emit([(source, line, 0)])

    def _emit(self, items: list[tuple[Source, str, int]]) -> None:
        for source, line, repeats in items:
            is_err = source[4]
            stream = sys.stderr if is_err else sys.stdout
            hint = bool(repeats) and not self._hinted
            self._hinted = self._hinted or hint
            text = format_line(source, line, repeats, self._driver_ip, _wants_colour(stream),
                               hint)
            self._bars.write(stream, text)
