"""Fixtures: real local Comet clusters, started and stopped per test or module,
checked for leftover processes."""

from __future__ import annotations

import os
import time

import psutil
import pytest


def _comet_processes() -> list[psutil.Process]:
    """Comet daemons and workers that are children of this test process."""
    me = psutil.Process()
    found = []
    for child in me.children(recursive=True):
        try:
            cmd = " ".join(child.cmdline())
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        if "gcs_server" in cmd or "raylet" in cmd or "comet._private.worker_main" in cmd:
            found.append(child)
    return found


def wait_for_condition(cond, timeout: float = 30.0, interval: float = 0.05) -> bool:
    """Polls `cond` until it holds or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(interval)
    return bool(cond())


def _assert_no_leftovers() -> None:
    assert wait_for_condition(lambda: not _comet_processes(), timeout=30), (
        f"processes left behind: {[p.cmdline() for p in _comet_processes()]}")


@pytest.fixture
def comet_start(tmp_path):
    """A factory: comet_start(**init_kwargs) starts a fresh local cluster."""
    import comet

    def start(**kwargs):
        kwargs.setdefault("_temp_dir", str(tmp_path / "comet"))
        return comet.init(**kwargs)

    yield start
    comet.shutdown()
    _assert_no_leftovers()


@pytest.fixture(scope="module")
def shared_cluster(tmp_path_factory):
    """One 2-CPU cluster shared by the tests of a module."""
    import comet

    comet.init(num_cpus=2, _temp_dir=str(tmp_path_factory.mktemp("comet")))
    yield comet
    comet.shutdown()
    _assert_no_leftovers()


@pytest.fixture
def shared(shared_cluster):
    """The module's shared cluster, checked to still be connected."""
    assert shared_cluster.is_initialized()
    return shared_cluster


os.environ.setdefault("COMET_log_level", "info")


@pytest.fixture
def cluster(tmp_path):
    """A cluster started with the CLI (cli_cluster.Cluster), stopped after the test."""
    import comet
    from cli_cluster import Cluster, cli, processes_of

    temp_dir = tmp_path / "comet"
    yield Cluster(temp_dir)
    comet.shutdown()
    cli("stop", "--force", "--temp-dir", temp_dir)
    assert wait_for_condition(lambda: not processes_of(temp_dir), timeout=20), (
        [p.cmdline() for p in processes_of(temp_dir)])
