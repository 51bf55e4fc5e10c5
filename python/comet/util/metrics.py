"""Application metrics: ``Counter``, ``Gauge`` and ``Histogram``, with the API
of Ray's ``ray.util.metrics``.

Record them anywhere (driver, tasks, actors)::

    from comet.util.metrics import Counter, Histogram

    requests = Counter("requests", description="Requests served.", tag_keys=("route",))
    requests.set_default_tags({"route": "/"})
    requests.inc()
    latency = Histogram("latency_ms", boundaries=[1, 10, 100], tag_keys=("route",))
    latency.observe(4.2, tags={"route": "/"})

Each process sends its metrics to its node's raylet every
``metrics_report_interval_ms`` (2 s); the raylet's Prometheus endpoint
(``MetricsExportPort`` in ``comet.nodes()``) serves them with ``node_id``
and ``worker_id`` labels added, one series per process (sum them in PromQL).
A counter is exported as ``<name>_total`` (Prometheus's convention, as Ray
does since 2.10). Metrics made with the same name in one process share their
values, so a task may build its ``Counter`` on every call.

Unlike Ray, a name Prometheus cannot take raises ``ValueError`` instead of
warning and dropping the metric.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from typing import Any, Iterable

from comet._private import worker_context

__all__ = ["Counter", "Gauge", "Histogram", "Metric"]

logger = logging.getLogger(__name__)

_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_TAG_KEY = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
# Labels the raylet adds, or the format uses.
_RESERVED_TAGS = frozenset({"node_id", "worker_id", "le"})
DEFAULT_REPORT_INTERVAL_MS = 2000


class _Family:
    """One metric's series in this process, keyed by tag values."""

    def __init__(self, name: str, kind: str, description: str, tag_keys: tuple[str, ...],
                 boundaries: tuple[float, ...]) -> None:
        self.name = name
        self.kind = kind
        self.description = description
        self.tag_keys = tag_keys
        self.boundaries = boundaries
        # tag values -> value (counter, gauge) or [bucket counts..., sum] (histogram)
        self.series: dict[tuple[str, ...], Any] = {}

    def exported_name(self) -> str:
        if self.kind == "counter" and not self.name.endswith("_total"):
            return self.name + "_total"
        return self.name

    def payload(self) -> tuple:
        samples = []
        for values, state in self.series.items():
            labels = dict(zip(self.tag_keys, values))
            if self.kind == "histogram":
                samples.append((labels, 0.0, list(state[:-1]), state[-1]))
            else:
                samples.append((labels, float(state), [], 0.0))
        return (self.exported_name(), self.kind, self.description, list(self.boundaries),
                samples)


class _Registry:
    """This process's metrics, and the thread that reports them. Shared by
    every Metric object of a name; lives as long as the process (it
    survives shutdown() and a later init())."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.families: dict[str, _Family] = {}
        self._reporter: threading.Thread | None = None
        self._failing = False

    def family(self, name: str, kind: str, description: str, tag_keys: tuple[str, ...],
               boundaries: tuple[float, ...] = ()) -> _Family:
        with self.lock:
            existing = self.families.get(name)
            if existing is None:
                existing = self.families[name] = _Family(name, kind, description, tag_keys,
                                                         boundaries)
            elif (existing.kind, existing.tag_keys, existing.boundaries) != (
                    kind, tag_keys, boundaries):
                raise ValueError(
                    f"metric {name!r} already exists in this process as a {existing.kind} "
                    f"with tag_keys={existing.tag_keys}"
                    + (f" and boundaries={list(existing.boundaries)}"
                       if existing.kind == "histogram" else "")
                    + f"; it cannot also be a {kind} with tag_keys={tag_keys}"
                    + (f" and boundaries={list(boundaries)}" if kind == "histogram" else ""))
            self._start_reporter()
            return existing

    def _start_reporter(self) -> None:
        if self._reporter is None:
            self._reporter = threading.Thread(target=self._report_loop, daemon=True,
                                              name="comet-metrics")
            self._reporter.start()

    def payload(self) -> list[tuple]:
        with self.lock:
            return [f.payload() for f in self.families.values() if f.series]

    def report_once(self) -> bool:
        """Sends the current state to the raylet; False when not connected
        or when there is nothing to send."""
        cw = worker_context.get().core_worker
        families = self.payload()
        if cw is None or not families:
            return False
        try:
            cw.report_metrics(families)
        except Exception as e:  # noqa: BLE001 - the raylet may be away; keep recording
            if not self._failing:
                logger.warning("application metrics did not reach the raylet: %s", e)
            self._failing = True
            return False
        self._failing = False
        return True

    def _report_loop(self) -> None:
        while True:
            config = worker_context.get().config
            interval = config.get("metrics_report_interval_ms", DEFAULT_REPORT_INTERVAL_MS)
            time.sleep(max(10, int(interval)) / 1000)
            self.report_once()


def _registry() -> _Registry:
    ctx = worker_context.get()
    with ctx.lock:
        if ctx.metrics is None:
            ctx.metrics = _Registry()
        return ctx.metrics


class Metric:
    """What Counter, Gauge and Histogram share: a name, a description, tag
    keys and default tags."""

    _kind = ""

    def __init__(self, name: str, description: str = "",
                 tag_keys: tuple[str, ...] | None = None,
                 _boundaries: tuple[float, ...] = ()) -> None:
        if not isinstance(name, str):
            raise TypeError(f"metric name must be a str, got {type(name).__name__}")
        if not name:
            raise ValueError("Empty name is not allowed. Please provide a metric name.")
        if not _NAME.match(name):
            raise ValueError(f"Invalid metric name {name!r}: a metric name may only contain "
                             "letters, digits, '_' and ':', and may not start with a digit.")
        if not isinstance(description, str):
            raise TypeError(f"description must be a str, got {type(description).__name__}")
        if tag_keys is None:
            tag_keys = ()
        if not isinstance(tag_keys, tuple):
            raise TypeError(f"tag_keys must be a tuple of str, got {type(tag_keys).__name__}")
        for key in tag_keys:
            if not isinstance(key, str):
                raise TypeError(f"tag_keys must be a tuple of str, got {key!r} in it")
            if not _TAG_KEY.match(key) or key in _RESERVED_TAGS:
                raise ValueError(f"Invalid tag key {key!r}: letters, digits and '_' only, "
                                 f"not starting with a digit, and not one of "
                                 f"{sorted(_RESERVED_TAGS)} (Comet adds those).")
        if len(set(tag_keys)) != len(tag_keys):
            raise ValueError(f"tag_keys has a key twice: {tag_keys}")
        self._name = name
        self._description = description
        self._tag_keys = tag_keys
        self._default_tags: dict[str, str] = {}
        self._registry = _registry()
        self._family = self._registry.family(name, self._kind, description, tag_keys,
                                             _boundaries)

    def set_default_tags(self, default_tags: dict[str, str]) -> "Metric":
        """Tags used when a record call does not give them; returns self."""
        self._check_tags(default_tags, "default_tags")
        self._default_tags = dict(default_tags)
        return self

    @property
    def info(self) -> dict[str, Any]:
        """The metric's name, description, tag keys and default tags."""
        return {"name": self._name, "description": self._description,
                "tag_keys": self._tag_keys, "default_tags": dict(self._default_tags)}

    def _check_tags(self, tags: dict[str, str], what: str) -> None:
        if not isinstance(tags, dict):
            raise TypeError(f"{what} must be a dict of str to str, got {type(tags).__name__}")
        for key, value in tags.items():
            if key not in self._tag_keys:
                raise ValueError(f"Unrecognized tag key {key!r} in {what} of metric "
                                 f"{self._name!r}; its tag_keys are {self._tag_keys}.")
            if not isinstance(value, str):
                raise TypeError(f"Tag value of {key!r} must be a str, got {value!r} "
                                f"({type(value).__name__}).")

    def _series_key(self, tags: dict[str, str] | None) -> tuple[str, ...]:
        if tags:
            self._check_tags(tags, "tags")
            merged = {**self._default_tags, **tags}
        else:
            merged = self._default_tags
        missing = [k for k in self._tag_keys if k not in merged]
        if missing:
            raise ValueError(f"Missing value for tag key(s): {', '.join(missing)} "
                             f"(metric {self._name!r}).")
        return tuple(merged[k] for k in self._tag_keys)

    def _record(self, tags: dict[str, str] | None, update) -> None:
        key = self._series_key(tags)
        with self._registry.lock:
            series = self._family.series
            series[key] = update(series.get(key))


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{what} must be a number, got {value!r} ({type(value).__name__})")
    return float(value)


class Counter(Metric):
    """A value that only goes up (Prometheus counter, exported as
    ``<name>_total``)."""

    _kind = "counter"

    def __init__(self, name: str, description: str = "",
                 tag_keys: tuple[str, ...] | None = None) -> None:
        super().__init__(name, description, tag_keys)

    def inc(self, value: int | float = 1.0, tags: dict[str, str] | None = None) -> None:
        """Adds ``value`` (> 0) to the series of ``tags`` (merged over the
        default tags)."""
        amount = _number(value, "value")
        if not amount > 0 or math.isinf(amount):
            raise ValueError(f"value must be > 0 and finite, got {value}")
        self._record(tags, lambda old: (old or 0.0) + amount)


class Gauge(Metric):
    """A value that goes up and down; keeps the last one set."""

    _kind = "gauge"

    def __init__(self, name: str, description: str = "",
                 tag_keys: tuple[str, ...] | None = None) -> None:
        super().__init__(name, description, tag_keys)

    def set(self, value: int | float, tags: dict[str, str] | None = None) -> None:
        """Sets the series of ``tags`` to ``value``."""
        number = _number(value, "value")
        self._record(tags, lambda old: number)


class Histogram(Metric):
    """Counts of observations in buckets with the given upper ``boundaries``
    (and one above the last), with their sum and count."""

    _kind = "histogram"

    def __init__(self, name: str, description: str = "",
                 boundaries: Iterable[float] | None = None,
                 tag_keys: tuple[str, ...] | None = None) -> None:
        if boundaries is None:
            raise ValueError("boundaries must be given: a non-empty list of increasing "
                             "positive numbers")
        bounds = tuple(_number(b, "each boundary") for b in boundaries)
        if not bounds:
            raise ValueError("boundaries must be a non-empty list of increasing positive "
                             "numbers, got []")
        for i, bound in enumerate(bounds):
            if not bound > 0 or math.isinf(bound) or (i and bound <= bounds[i - 1]):
                raise ValueError("boundaries must be increasing positive finite numbers, "
                                 f"got {list(bounds)}")
        self._boundaries = bounds
        super().__init__(name, description, tag_keys, _boundaries=bounds)

    @property
    def info(self) -> dict[str, Any]:
        return {**super().info, "boundaries": list(self._boundaries)}

    def observe(self, value: int | float, tags: dict[str, str] | None = None) -> None:
        """Records one observation of ``value`` in the series of ``tags``."""
        number = _number(value, "value")
        if math.isnan(number):
            raise ValueError("value must not be NaN")
        bounds = self._boundaries

        def update(old):
            state = old or [0] * (len(bounds) + 1) + [0.0]
            index = next((i for i, b in enumerate(bounds) if number <= b), len(bounds))
            state[index] += 1
            state[-1] += number
            return state

        self._record(tags, update)
