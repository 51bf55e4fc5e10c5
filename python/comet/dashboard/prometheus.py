"""A minimal Prometheus text exposition (format 0.0.4) writer and a latency
histogram; no dependency on prometheus_client."""

from __future__ import annotations

import bisect
import math
from typing import Iterable

Labels = dict[str, str]

DEFAULT_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    value = float(value)
    return str(int(value)) if value.is_integer() and abs(value) < 2**63 else repr(value)


class Exposition:
    """Collects metric families and renders them: HELP, TYPE, then samples."""

    def __init__(self) -> None:
        self._lines: list[str] = []

    def family(self, name: str, kind: str, help_text: str,
               samples: Iterable[tuple[Labels, float]]) -> None:
        self._lines.append(f"# HELP {name} {help_text}")
        self._lines.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            self.sample(name, labels, value)

    def sample(self, name: str, labels: Labels, value: float) -> None:
        if labels:
            text = ",".join(f'{k}="{_escape(str(v))}"' for k, v in labels.items())
            self._lines.append(f"{name}{{{text}}} {_number(value)}")
        else:
            self._lines.append(f"{name} {_number(value)}")

    def render(self) -> str:
        return "\n".join(self._lines) + "\n"


class Histogram:
    """Cumulative-bucket histogram keyed by label values. Thread model: used
    from the event loop only."""

    def __init__(self, name: str, help_text: str, label_names: tuple[str, ...],
                 buckets: tuple[float, ...] = DEFAULT_BUCKETS) -> None:
        self.name = name
        self.help_text = help_text
        self.label_names = label_names
        self.buckets = buckets
        self._series: dict[tuple[str, ...], tuple[list[int], list[float]]] = {}

    def observe(self, label_values: tuple[str, ...], value: float) -> None:
        counts, totals = self._series.setdefault(label_values, ([0] * len(self.buckets), [0.0, 0]))
        index = bisect.bisect_left(self.buckets, value)
        if index < len(counts):
            counts[index] += 1
        totals[0] += value
        totals[1] += 1

    def write(self, out: Exposition) -> None:
        out.family(self.name, "histogram", self.help_text, [])
        for values, (counts, (total, count)) in sorted(self._series.items()):
            labels = dict(zip(self.label_names, values))
            running = 0
            for bound, n in zip(self.buckets, counts):
                running += n
                out.sample(f"{self.name}_bucket", {**labels, "le": _number(bound)}, running)
            out.sample(f"{self.name}_bucket", {**labels, "le": "+Inf"}, count)
            out.sample(f"{self.name}_sum", labels, total)
            out.sample(f"{self.name}_count", labels, count)
