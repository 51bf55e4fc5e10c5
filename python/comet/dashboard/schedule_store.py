"""Job schedules and their runs in the GCS KV (namespace "schedule"), so that
they outlive the job server and survive a GCS restart with its storage.

Keys:
- "spec/<name>": the schedule (JSON: its ScheduleSpec fields, the job it
  submits, paused, created and resumed times);
- "cursor/<name>": the newest scheduled time already handled, where the next
  tick starts;
- "run/<name>/<scheduled time in ms, 15 digits>": one scheduled time's
  outcome. It is written with overwrite=False *before* the job starts, so
  whichever job server writes it first owns that time: a restarted or second
  job server that computes the same time finds the key and does nothing.
  That is what makes each scheduled time fire at most once.

Blocking calls on the StateClient; the scheduler runs them off the event loop.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Optional

NAMESPACE = "schedule"
_SPEC = b"spec/"
_CURSOR = b"cursor/"
_RUN = b"run/"
# Runs kept per schedule; older ones are deleted as new ones are recorded.
MAX_RUNS_KEPT = 1000

logger = logging.getLogger(__name__)


def _run_prefix(name: str) -> bytes:
    return _RUN + name.encode() + b"/"


def _run_key(name: str, scheduled_time: float) -> bytes:
    return _run_prefix(name) + b"%015d" % round(scheduled_time * 1000)


class ScheduleStore:
    def __init__(self, state_client: Any) -> None:
        self._kv = state_client

    # Schedules.
    def create(self, record: dict[str, Any]) -> bool:
        """Stores a new schedule; False when the name is taken."""
        return bool(self._kv.kv_put(NAMESPACE, _SPEC + record["name"].encode(),
                                    json.dumps(record).encode(), False))

    def update(self, record: dict[str, Any]) -> None:
        self._kv.kv_put(NAMESPACE, _SPEC + record["name"].encode(),
                        json.dumps(record).encode(), True)

    def get(self, name: str) -> Optional[dict[str, Any]]:
        data = self._kv.kv_get(NAMESPACE, _SPEC + name.encode())
        return None if data is None else json.loads(data)

    def list(self) -> list[dict[str, Any]]:
        """Every schedule, by name; an unreadable record is logged and skipped."""
        out = []
        for key in sorted(self._kv.kv_keys(NAMESPACE, _SPEC)):
            data = self._kv.kv_get(NAMESPACE, key)
            if data is None:
                continue
            try:
                out.append(json.loads(data))
            except ValueError as e:
                logger.warning("skipping the unreadable schedule record %r: %s", key, e)
        return out

    def delete(self, name: str) -> bool:
        """Removes the schedule, its cursor and its runs; False if unknown."""
        found = self._kv.kv_del(NAMESPACE, _SPEC + name.encode(), False) > 0
        self._kv.kv_del(NAMESPACE, _CURSOR + name.encode(), False)
        self._kv.kv_del(NAMESPACE, _run_prefix(name), True)
        return found

    # Progress.
    def cursor(self, name: str) -> Optional[float]:
        data = self._kv.kv_get(NAMESPACE, _CURSOR + name.encode())
        return None if data is None else float(data)

    def advance(self, name: str, scheduled_time: float) -> None:
        """Moves the cursor forward (never back)."""
        current = self.cursor(name)
        if current is None or scheduled_time > current:
            self._kv.kv_put(NAMESPACE, _CURSOR + name.encode(),
                            repr(float(scheduled_time)).encode(), True)

    # Runs.
    def claim(self, name: str, scheduled_time: float, run: dict[str, Any]) -> bool:
        """Records `run` for the time unless some job server already has;
        True for the one that did."""
        record = {"scheduled_time": scheduled_time, **run}
        return bool(self._kv.kv_put(NAMESPACE, _run_key(name, scheduled_time),
                                    json.dumps(record).encode(), False))

    def update_run(self, name: str, scheduled_time: float, run: dict[str, Any]) -> None:
        """Rewrites a claimed run (its job's submission id, its status)."""
        record = {"scheduled_time": scheduled_time, **run}
        self._kv.kv_put(NAMESPACE, _run_key(name, scheduled_time),
                        json.dumps(record).encode(), True)

    def runs(self, name: str, limit: int = 0) -> list[dict[str, Any]]:
        """The schedule's runs, newest first, at most `limit` (0: all kept)."""
        keys = sorted(self._kv.kv_keys(NAMESPACE, _run_prefix(name)), reverse=True)
        if limit > 0:
            keys = keys[:limit]
        out = []
        for key in keys:
            data = self._kv.kv_get(NAMESPACE, key)
            if data is not None:
                out.append(json.loads(data))
        return out

    def prune(self, name: str, keep: int = MAX_RUNS_KEPT) -> int:
        """Deletes all but the newest `keep` runs; how many went."""
        keys = sorted(self._kv.kv_keys(NAMESPACE, _run_prefix(name)))
        old = keys[:max(0, len(keys) - keep)]
        for key in old:
            self._kv.kv_del(NAMESPACE, key, False)
        return len(old)
