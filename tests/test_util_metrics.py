"""comet.util.metrics (Ray's ray.util.metrics): Counter, Gauge and Histogram
recorded in a driver, tasks and an actor reach the node's raylet /metrics,
one series per process; bad names, tags and values fail at the call site."""

from __future__ import annotations

import re
import time
import urllib.request

import pytest

import comet
from comet._private import auth
from comet.util.metrics import Counter, Gauge, Histogram

# -- at the call site, no cluster needed ----------------------------------------


def test_bad_names_tags_and_values_fail_where_they_are_made():
    with pytest.raises(ValueError, match="Empty name"):
        Counter("")
    with pytest.raises(ValueError, match="Invalid metric name"):
        Gauge("9lives")
    with pytest.raises(ValueError, match="Invalid metric name"):
        Gauge("has-dash")
    with pytest.raises(TypeError, match="tag_keys must be a tuple"):
        Counter("c_list_tags", tag_keys=["a"])
    with pytest.raises(ValueError, match="Invalid tag key 'worker_id'"):
        Counter("c_reserved", tag_keys=("worker_id",))
    with pytest.raises(ValueError, match="boundaries must be given"):
        Histogram("h_none")
    with pytest.raises(ValueError, match="increasing positive"):
        Histogram("h_order", boundaries=[5, 1])
    with pytest.raises(ValueError, match="increasing positive"):
        Histogram("h_zero", boundaries=[0, 1])

    counter = Counter("c_checked", tag_keys=("route",))
    with pytest.raises(ValueError, match="Missing value for tag key"):
        counter.inc()
    with pytest.raises(ValueError, match="Unrecognized tag key 'other'"):
        counter.inc(tags={"route": "/", "other": "x"})
    with pytest.raises(TypeError, match="must be a str"):
        counter.inc(tags={"route": 3})
    with pytest.raises(ValueError, match="> 0"):
        counter.inc(0, tags={"route": "/"})
    with pytest.raises(ValueError, match="> 0"):
        counter.inc(-1, tags={"route": "/"})
    with pytest.raises(TypeError, match="must be a number"):
        Gauge("g_checked").set("high")

    assert counter.set_default_tags({"route": "/"}) is counter
    counter.inc()
    assert counter.info == {"name": "c_checked", "description": "", "tag_keys": ("route",),
                            "default_tags": {"route": "/"}}
    # One name, one kind: another type or other tag keys is a clear error.
    with pytest.raises(ValueError, match="already exists in this process as a counter"):
        Gauge("c_checked", tag_keys=("route",))
    with pytest.raises(ValueError, match="already exists"):
        Counter("c_checked", tag_keys=("path",))
    Counter("c_checked", tag_keys=("route",))  # the same again shares its values


# -- end to end -------------------------------------------------------------------


@comet.remote
def handle(route: str) -> None:
    # Built on every call, as tasks often do: one name shares its values.
    Counter("app_requests", description="Requests handled.", tag_keys=("route",)).inc(
        tags={"route": route})


@comet.remote(num_cpus=0)
class Service:
    def __init__(self) -> None:
        self.depth = Gauge("app_queue_depth", description="Items waiting.",
                           tag_keys=("queue",)).set_default_tags({"queue": "main"})
        self.latency = Histogram("app_latency_ms", description="Latency in ms.",
                                 boundaries=[1, 10, 100])

    def work(self) -> int:
        self.depth.set(7)
        for value in (0.5, 5, 5, 50, 500):
            self.latency.observe(value)
        import os

        return os.getpid()


def scrape() -> str:
    node = comet.nodes()[0]
    url = f"http://{node['NodeManagerAddress']}:{node['MetricsExportPort']}/metrics"
    request = urllib.request.Request(url, headers=auth.bearer_headers())
    return urllib.request.urlopen(request, timeout=10).read().decode()


def scrape_until(pattern: str, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = scrape()
        if re.search(pattern, text, re.M):
            return text
        time.sleep(0.2)
    raise AssertionError(f"/metrics never matched {pattern!r}:\n{text[-3000:]}")


def test_metrics_reach_the_nodes_prometheus_endpoint(comet_start):
    comet_start(num_cpus=1, _system_config={"metrics_report_interval_ms": 200})
    # One CPU: the three calls run in one worker, which keeps one count.
    comet.get([handle.remote("/a"), handle.remote("/a"), handle.remote("/b")])
    service = Service.remote()
    actor_pid = comet.get(service.work.remote())
    Gauge("app_driver_up", description="The driver runs.").set(1)

    worker = r'worker_id="[0-9a-f]{56}"'
    text = scrape_until(r'^app_requests_total\{node_id="[0-9a-f]+",route="/a",'
                        + worker + r'\} 2$')
    assert "# TYPE app_requests_total counter" in text
    assert "# HELP app_requests_total Requests handled." in text
    assert re.search(r'^app_requests_total\{.*route="/b".*\} 1$', text, re.M), text

    text = scrape_until(r'^app_latency_ms_count\{.*\} 5$')
    assert "# TYPE app_latency_ms histogram" in text
    for le, count in (("1", 1), ("10", 3), ("100", 4), ("+Inf", 5)):
        assert re.search(rf'^app_latency_ms_bucket\{{le="{re.escape(le)}",.*\}} {count}$',
                         text, re.M), (le, text)
    assert re.search(r'^app_latency_ms_sum\{.*\} 560.5$', text, re.M), text
    assert re.search(r'^app_queue_depth\{node_id="[0-9a-f]+",queue="main",' + worker
                     + r'\} 7$', text, re.M), text

    # The driver reports too, under its own worker id.
    text = scrape_until(r'^app_driver_up\{node_id="[0-9a-f]+",' + worker + r'\} 1$')
    driver_id = comet.get_runtime_context().get_worker_id()
    assert f'worker_id="{driver_id}"' in text.split("app_driver_up{", 1)[1].split("\n", 1)[0]

    # A process that exits takes its series with it.
    comet.kill(service)
    deadline = time.monotonic() + 30
    while "app_queue_depth{" in scrape() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert "app_queue_depth{" not in scrape(), f"the killed actor (pid {actor_pid}) stayed"
