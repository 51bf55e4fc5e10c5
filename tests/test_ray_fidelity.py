"""Ray Core behaviours a Ray program relies on, each test naming the one it
checks (issue 12): auto-init, init()'s context, the runtime context, call-site
argument errors, async actors on one event loop, awaitable refs, and the older
surface (timeline, ObjectID, ray._private.state, JobConfig, cluster_utils).

The tests that start clusters of their own come first; the rest share one
(the module's `shared` cluster stays up from its first use to the end)."""

from __future__ import annotations

import asyncio
import json
import gc
import os
import threading
import time

import pytest

import comet
from comet._private import state as private_state
from comet._private import worker as private_worker
from comet.cluster_utils import Cluster
from comet.job_config import JobConfig
from conftest import _assert_no_leftovers, wait_for_condition


@comet.remote
def double(x, y=1):
    return x * 2 * y


@pytest.fixture
def auto_init_dir(tmp_path, monkeypatch):
    """Where an auto-initialised cluster puts its session; shut down after."""
    monkeypatch.setenv("COMET_TEMP_DIR", str(tmp_path / "comet"))
    monkeypatch.delenv("COMET_ADDRESS", raising=False)
    assert not comet.is_initialized()
    yield tmp_path / "comet"
    comet.shutdown()
    _assert_no_leftovers()


# -- auto-init and init()'s context --------------------------------------------------


def test_first_remote_call_starts_a_local_cluster(auto_init_dir):
    """Ray: `.remote()` without `ray.init()` starts a local cluster."""
    assert comet.get(double.remote(21)) == 42
    assert comet.is_initialized()
    assert any(auto_init_dir.glob("session_*"))


@pytest.mark.parametrize("first_use", ["put", "get_runtime_context", "actor"])
def test_other_apis_auto_init_too(auto_init_dir, first_use):
    """Ray: put, get_runtime_context and actor creation also auto-init."""
    if first_use == "put":
        assert comet.get(comet.put("x")) == "x"
    elif first_use == "get_runtime_context":
        assert len(comet.get_runtime_context().get_job_id()) == 8
    else:
        @comet.remote
        class Counter:
            def one(self):
                return 1
        assert comet.get(Counter.remote().one.remote()) == 1
    assert comet.is_initialized()


def test_auto_connect_can_be_turned_off(auto_init_dir, monkeypatch):
    """Ray: RAY_ENABLE_AUTO_CONNECT=0 makes first use raise instead (ours:
    COMET_ENABLE_AUTO_CONNECT)."""
    monkeypatch.setenv("COMET_ENABLE_AUTO_CONNECT", "0")
    with pytest.raises(RuntimeError, match="not initialized"):
        comet.put(1)
    assert not comet.is_initialized()


def test_init_returns_a_context(comet_start):
    """Ray: init() returns a RayContext: a mapping with "address", plus
    .address_info and .dashboard_url; a context manager that shuts down."""
    ctx = comet_start(num_cpus=1)
    assert ctx["address"] == ctx.address_info["gcs_address"] == ctx["gcs_address"]
    assert ctx["node_id"] == comet.get_runtime_context().get_node_id()
    assert {"address", "node_ip_address", "session_dir", "node_id"} <= set(ctx)
    assert ctx.dashboard_url and ctx["webui_url"] == ctx.dashboard_url  # Ray's key too
    comet.shutdown()
    with comet.init(num_cpus=1, _temp_dir=ctx["session_dir"] + "-again") as again:
        assert comet.is_initialized() and again["address"] != ctx["address"]
    assert not comet.is_initialized()


def test_init_refuses_what_it_cannot_honour():
    """Ray: _system_config when joining a cluster raises ValueError; Comet also
    refuses local_mode and contradictory dashboard options rather than
    dropping them."""
    with pytest.raises(ValueError, match="_system_config must not be provided"):
        comet.init(address="127.0.0.1:1", _system_config={"health_check_period_ms": 10})
    with pytest.raises(ValueError, match="include_dashboard=False"):
        comet.init(include_dashboard=False, dashboard_port=8266)
    with pytest.raises(ValueError, match="dashboard_port"):
        comet.init(dashboard_port=-1)
    with pytest.raises(ValueError, match="local_mode"):
        comet.init(local_mode=True)
    with pytest.raises(ValueError, match="logging_level"):
        comet.init(logging_level="chatty")
    assert not comet.is_initialized()


def test_init_can_start_a_dashboard_beside_a_local_cluster(comet_start):
    """Ray: init(include_dashboard=True) starts the dashboard; the context's
    dashboard_url serves it (behind the cluster token); shutdown stops it."""
    import urllib.request

    import psutil

    from comet._private import auth

    ctx = comet_start(num_cpus=1, include_dashboard=True, dashboard_port=0)
    assert ctx.dashboard_url and ctx.dashboard_url == comet.get_runtime_context().get_dashboard_url()
    token = auth.load()["token"]
    request = urllib.request.Request(f"http://{ctx.dashboard_url}/api/jobs/",
                                     headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as reply:
        assert reply.status == 200
    dash = [p for p in psutil.Process().children(recursive=True)
            if "comet.dashboard" in " ".join(p.cmdline())]
    assert len(dash) == 1
    comet.shutdown()
    assert not dash[0].is_running() or dash[0].status() == psutil.STATUS_ZOMBIE


def test_init_starts_a_dashboard_by_default_without_waiting_for_it(comet_start, caplog):
    """Ray: init() starts the dashboard when it is installed and says where;
    Comet does so without delaying init(): the URL is known at once and
    serves within seconds; include_dashboard=False starts none."""
    import logging
    import urllib.error
    import urllib.request

    import psutil

    from comet._private import auth
    from conftest import wait_for_condition

    caplog.set_level(logging.INFO, logger="comet")
    ctx = comet_start(num_cpus=1)
    assert ctx.dashboard_url, "no dashboard by default"
    assert any(f"View the dashboard at http://{ctx.dashboard_url}" in r.getMessage()
               for r in caplog.records), [r.getMessage() for r in caplog.records]
    token = auth.load()["token"]

    def serves() -> bool:
        request = urllib.request.Request(f"http://{ctx.dashboard_url}/api/version",
                                         headers={"Authorization": f"Bearer {token}"})
        try:
            with urllib.request.urlopen(request, timeout=5) as reply:
                return reply.status == 200
        except (urllib.error.URLError, ConnectionError):
            return False

    assert wait_for_condition(serves, timeout=30)
    dash = [p for p in psutil.Process().children(recursive=True)
            if "comet.dashboard" in " ".join(p.cmdline())]
    assert len(dash) == 1
    comet.shutdown()
    assert not dash[0].is_running() or dash[0].status() == psutil.STATUS_ZOMBIE
    off = comet_start(num_cpus=1, include_dashboard=False)
    assert off.dashboard_url is None
    assert not [p for p in psutil.Process().children(recursive=True)
                if "comet.dashboard" in " ".join(p.cmdline())]


def test_init_logging_level(comet_start):
    """Ray: init(logging_level=...) sets the level of the library's logger."""
    import logging

    logger = logging.getLogger("comet")
    before = logger.level
    try:
        comet_start(num_cpus=1, logging_level="debug")
        assert logger.level == logging.DEBUG
    finally:
        logger.setLevel(before)


def test_job_config_namespace_and_lifetime(comet_start):
    """Ray: init(job_config=JobConfig(ray_namespace=..., default_actor_lifetime=...))."""
    comet_start(num_cpus=1, job_config=JobConfig(ray_namespace="team",
                                                 default_actor_lifetime="detached"))
    assert comet.get_runtime_context().namespace == "team"

    @comet.remote(num_cpus=0)
    class Stays:
        def ok(self):
            return True

    actor = Stays.options(name="stays").remote()
    assert comet.get(actor.ok.remote())
    assert private_state.actors(actor._actor_id.hex())["IsDetached"] is True
    comet.kill(actor)
    with pytest.raises(ValueError, match="runtime_env"):
        JobConfig(runtime_env={"conda": "x"})
    with pytest.raises(ValueError, match="default_actor_lifetime"):
        JobConfig(default_actor_lifetime="forever")


def test_gpu_ids_in_the_runtime_context(comet_start):
    """Ray: a task given a GPU sees its id in get_gpu_ids(),
    get_accelerator_ids(), get_assigned_resources() and the older
    get_resource_ids() (with the fraction it holds). The node declares a GPU
    (num_gpus=1), as Ray allows on a machine without one."""
    comet_start(num_cpus=1, num_gpus=1)

    @comet.remote(num_gpus=1)
    def gpu_task():
        c = comet.get_runtime_context()
        return (comet.get_gpu_ids(), c.get_accelerator_ids(), c.get_assigned_resources(),
                private_worker.get_resource_ids())

    gpu_ids, accel, assigned, ids = comet.get(gpu_task.remote())
    assert gpu_ids == [0] and accel == {"GPU": ["0"]}
    assert assigned == {"CPU": 1.0, "GPU": 1.0}
    assert ids == {"GPU": [(0, 1.0)]}
    half = comet.get(gpu_task.options(num_gpus=0.5).remote())
    assert half[2]["GPU"] == 0.5 and half[3] == {"GPU": [(0, 0.5)]}


def test_gpu_and_cpu_tasks_never_share_a_worker(comet_start):
    """Ray: a worker process that ran a GPU task only runs GPU tasks after
    it, and one that ran a CPU task only CPU tasks (CUDA state and
    CUDA_VISIBLE_DEVICES stay with GPU workers)."""
    comet_start(num_cpus=1, num_gpus=1)

    @comet.remote
    def pid():
        return os.getpid(), os.environ.get("CUDA_VISIBLE_DEVICES")

    gpu_pids, cpu_pids = set(), set()
    for _ in range(3):
        gpu_pid, visible = comet.get(pid.options(num_gpus=1).remote())
        assert visible == "0"
        gpu_pids.add(gpu_pid)
        cpu_pids.add(comet.get(pid.remote())[0])
    assert gpu_pids.isdisjoint(cpu_pids), (gpu_pids, cpu_pids)
    # Each kind keeps reusing its workers (one task at a time on one CPU).
    assert len(gpu_pids) == 1 and len(cpu_pids) == 1


def test_full_store_raises_object_store_full_error(comet_start):
    """Ray: put of an object the store cannot hold raises
    ray.exceptions.ObjectStoreFullError."""
    import numpy as np

    comet_start(num_cpus=1, object_store_memory=64 * 1024 * 1024)
    with pytest.raises(comet.exceptions.ObjectStoreFullError):
        comet.put(np.zeros(96 * 1024 * 1024, dtype=np.uint8))
    assert comet.get(comet.put(1)) == 1  # the store still works


@comet.remote
class Victim:
    """An actor that can be made to crash."""

    def pid(self):
        return os.getpid()

    def die(self):
        os._exit(1)


def _actor_died(call) -> comet.exceptions.ActorDiedError:
    with pytest.raises(comet.exceptions.ActorDiedError) as info:
        comet.get(call, timeout=60)
    return info.value


def test_a_call_its_actors_death_interrupts_names_the_cause(comet_start):
    """Ray: a call running when its actor's worker dies, with no retries left,
    fails with ActorDiedError ending with the cause the GCS recorded (the
    caller waits a moment for it); a restartable actor's call likewise, and
    the actor serves calls after its restart."""
    # Long enough that the GCS's notice always comes first, even on a loaded machine.
    comet_start(num_cpus=1, _system_config={"actor_death_cause_wait_ms": 120_000})

    def died(call):
        return str(_actor_died(call))

    once = Victim.remote()
    comet.get(once.pid.remote())
    message = died(once.die.remote())
    assert message.startswith("The actor died unexpectedly before finishing this task.")
    assert message.splitlines()[-1].startswith(
        "The actor is dead because its worker process has died. Worker exit detail: exit "
        "code 1"), message

    again = Victim.options(max_restarts=1).remote()
    first = comet.get(again.pid.remote())
    assert "The actor is dead because its worker process has died." in died(again.die.remote())
    assert comet.get(again.pid.remote(), timeout=60) != first


def test_start_takes_rays_flag_spellings(tmp_path):
    """Ray: `ray start --head --include-dashboard=false --disable-usage-stats
    --port=N` (flags with `=value`) runs as written."""
    from cli_cluster import cli, free_port, processes_of

    temp_dir = tmp_path / "comet"
    result = cli("start", "--head", f"--port={free_port()}", f"--temp-dir={temp_dir}",
                 "--include-dashboard=false", "--disable-usage-stats", "--num-cpus=1")
    try:
        assert result.returncode == 0, result.stderr
        assert "Dashboard:" not in result.stdout
        assert not any("comet.dashboard" in " ".join(p.cmdline()) for p in processes_of(temp_dir))
        both = cli("start", "--head", f"--temp-dir={temp_dir}", "--include-dashboard",
                   "--no-include-dashboard")
        assert both.returncode != 0 and "contradict" in both.stderr
    finally:
        cli("stop", "--force", "--temp-dir", temp_dir)
    assert wait_for_condition(lambda: not processes_of(temp_dir), timeout=20)


def test_cluster_utils_cluster(tmp_path):
    """Ray: ray.cluster_utils.Cluster starts real nodes on this machine:
    add_node, wait_for_nodes, remove_node, address, shutdown."""
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1},
                      temp_dir=str(tmp_path / "cluster"))
    try:
        other = cluster.add_node(num_cpus=1, resources={"far": 1})
        cluster.wait_for_nodes()
        comet.init(address=cluster.address)
        assert len([n for n in comet.nodes() if n["Alive"]]) == 2

        @comet.remote(resources={"far": 1})
        def node_of():
            return comet.get_runtime_context().get_node_id()

        assert comet.get(node_of.remote(), timeout=60) == other.node_id
        cluster.remove_node(other)
        cluster.wait_for_nodes()
        assert wait_for_condition(
            lambda: sum(n["Alive"] for n in comet.nodes()) == 1, timeout=60)
        with pytest.raises(TypeError, match="unsupported arguments"):
            cluster.add_node(num_cpu=1)
    finally:
        comet.shutdown()
        cluster.shutdown()
    _assert_no_leftovers()


def test_wait_fetch_local_pulls_ready_objects_here(tmp_path):
    """Ray: wait(fetch_local=True) (the default) returns an object as ready
    once it is in the local node's store; wait(fetch_local=False) returns it
    without pulling it."""
    import numpy as np

    from comet._private import worker_context

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1},
                      temp_dir=str(tmp_path / "cluster"))
    try:
        cluster.add_node(num_cpus=1, resources={"far": 1})
        cluster.wait_for_nodes()
        comet.init(address=cluster.address)

        @comet.remote(resources={"far": 1})
        def big():
            return np.ones(4 * 1024 * 1024, dtype=np.uint8)

        cw = worker_context.core_worker()
        ref = big.remote()
        assert comet.wait([ref], timeout=60, fetch_local=False) == ([ref], [])
        assert not cw.object_exists(ref)
        assert comet.wait([ref], timeout=60) == ([ref], [])
        assert cw.object_exists(ref)
        assert int(comet.get(ref).sum()) == 4 * 1024 * 1024
        with pytest.raises(TypeError, match="fetch_local"):
            comet.wait([ref], fetch_local="yes")
    finally:
        comet.shutdown()
        cluster.shutdown()
    _assert_no_leftovers()


def test_system_config_reaches_workers(comet_start):
    """Ray: `_system_config` is the cluster's config, for every process: a
    worker sees the driver's settings (Comet: through the raylet, as
    COMET_<name> variables, read by comet._raylet.config())."""
    from comet import _raylet
    from comet._private import worker_context

    with pytest.raises(ValueError, match="no_such_setting"):
        comet.init(num_cpus=1, _system_config={"no_such_setting": 1})
    assert not comet.is_initialized()
    comet_start(num_cpus=1, _system_config={"max_direct_call_object_size": 4096,
                                            "max_tasks_in_flight_per_worker": 3})

    @comet.remote
    def settings():
        config = _raylet.config()
        return (config["max_direct_call_object_size"], config["max_tasks_in_flight_per_worker"],
                worker_context.get().max_direct_call_object_size)

    assert comet.get(settings.remote()) == (4096, 3, 4096)
    assert worker_context.get().max_direct_call_object_size == 4096


# -- the runtime context ---------------------------------------------------------------


def test_runtime_context_of_a_task(shared):
    """Ray: inside a task the context names the task, its function, the CPU it
    holds and its accelerators; on the driver there is no task."""
    @comet.remote
    def where():
        c = comet.get_runtime_context()
        return {"task_id": c.get_task_id(), "task_obj": c.task_id.hex(),
                "name": c.get_task_name(), "function": c.get_task_function_name(),
                "resources": c.get_assigned_resources(), "accel": c.get_accelerator_ids(),
                "actor": c.get_actor_id(), "worker": c.get_worker_id(),
                "job": c.job_id.hex(), "dict": sorted(c.get())}

    info = comet.get(where.remote())
    assert info["task_id"] == info["task_obj"] and len(info["task_id"]) > 8
    assert info["name"] == "where"
    assert info["function"].endswith("test_runtime_context_of_a_task.<locals>.where")
    assert info["resources"] == {"CPU": 1.0}
    assert info["accel"] == {"GPU": []}
    assert info["actor"] is None
    assert info["job"] == comet.get_runtime_context().get_job_id()
    assert info["dict"] == ["job_id", "namespace", "node_id", "task_id"]
    assert comet.get(where.options(name="custom").remote())["name"] == "custom"
    assert comet.get(where.options(num_cpus=0.5).remote())["resources"] == {"CPU": 0.5}
    driver = comet.get_runtime_context()
    assert driver.get_task_id() is None and driver.get_task_name() is None
    assert driver.get_assigned_resources() == {}


def test_runtime_context_of_an_actor(shared):
    """Ray: an actor's methods see its id, a handle to it (current_actor), and
    their name as Class.method; an actor holds no CPU by default."""
    @comet.remote
    class Me:
        def describe(self):
            c = comet.get_runtime_context()
            return (c.get_actor_id(), c.actor_id.hex(), c.get_task_name(),
                    c.get_task_function_name(), c.get_assigned_resources(),
                    c.was_current_actor_reconstructed)

        def me(self):
            return comet.get_runtime_context().current_actor

        def ping(self):
            return "pong"

    actor = Me.remote()
    actor_id, actor_obj, name, function, resources, reconstructed = \
        comet.get(actor.describe.remote())
    assert actor_id == actor_obj == actor._actor_id.hex()
    assert name == "Me.describe" and function.endswith("Me.describe")
    assert resources == {} and reconstructed is False
    handle = comet.get(actor.me.remote())
    assert handle == actor and comet.get(handle.ping.remote()) == "pong"
    with pytest.raises(RuntimeError, match="only available in an actor"):
        _ = comet.get_runtime_context().current_actor


# -- errors at the call site -----------------------------------------------------------


def test_wrong_arguments_raise_type_error_at_remote(shared):
    """Ray: `.remote()` binds the signature, so a wrong call raises TypeError
    at submission, for functions, actor constructors and methods."""
    with pytest.raises(TypeError, match="missing a required argument: 'x'"):
        double.remote()
    with pytest.raises(TypeError, match="too many positional arguments"):
        double.remote(1, 2, 3)
    with pytest.raises(TypeError, match="unexpected keyword argument 'z'"):
        double.remote(1, z=3)
    assert comet.get(double.remote(x=2, y=3)) == 12

    @comet.remote
    class Acc:
        def __init__(self, start, *, step=1):
            self.value, self.step = start, step

        def add(self, n):
            self.value += n * self.step
            return self.value

        @staticmethod
        def twice(n):
            return 2 * n

        @classmethod
        def name(cls):
            return cls.__name__

    with pytest.raises(TypeError, match="missing a required argument: 'start'"):
        Acc.remote()
    with pytest.raises(TypeError, match="unexpected keyword argument 'stp'"):
        Acc.remote(1, stp=2)
    acc = Acc.remote(1, step=10)
    with pytest.raises(TypeError, match="missing a required argument: 'n'"):
        acc.add.remote()
    assert comet.get(acc.add.remote(2)) == 21
    assert comet.get(acc.twice.remote(4)) == 8  # static method: no self
    assert comet.get(acc.name.remote()) == "Acc"


def test_async_def_remote_function_is_refused():
    """Ray: `@ray.remote` on an `async def` function raises ValueError."""
    with pytest.raises(ValueError, match="'async def' should not be used for remote tasks"):
        @comet.remote
        async def nope():
            return 1


# -- async actors and awaitable refs --------------------------------------------------


@comet.remote
class Signal:
    """Ray's signal-actor pattern: an asyncio.Event made in __init__, set by a
    sync method, awaited by an async one."""

    def __init__(self):
        self.event = asyncio.Event()
        self.threads = {"init": threading.get_ident()}

    def send(self):
        self.threads["send"] = threading.get_ident()
        self.event.set()

    async def wait(self):
        await self.event.wait()
        self.threads["wait"] = threading.get_ident()
        return "woken"

    def threads_used(self):
        return self.threads


def test_async_actor_runs_everything_on_its_event_loop(shared):
    """Ray: an async actor's __init__, sync and async methods all run on its
    event-loop thread, so the signal-actor pattern wakes the waiter."""
    signal = Signal.remote()
    waiters = [signal.wait.remote() for _ in range(3)]
    ready, _ = comet.wait(waiters, timeout=0.3)
    assert ready == []  # nothing set the event yet
    comet.get(signal.send.remote())
    assert comet.get(waiters, timeout=30) == ["woken"] * 3
    threads = comet.get(signal.threads_used.remote())
    assert len(set(threads.values())) == 1, threads


def test_refs_are_awaitable(shared):
    """Ray: `await ref`, `await asyncio.gather(*refs)`, `ref.as_future()` on
    the driver, and `ref.future()` as a concurrent future."""
    async def main():
        one = await double.remote(5)
        many = await asyncio.gather(*[double.remote(i) for i in range(4)])
        fut = await double.remote(7).as_future()
        return one, many, fut

    assert asyncio.run(main()) == (10, [0, 2, 4, 6], 14)
    assert double.remote(8).future().result(timeout=30) == 16

    @comet.remote
    def fails():
        raise KeyError("boom")

    async def failing():
        await fails.remote()

    with pytest.raises(KeyError):
        asyncio.run(failing())
    with pytest.raises(KeyError):
        fails.remote().future().result(timeout=30)


def test_async_actor_awaits_refs_and_may_block(shared):
    """Ray: an async method may await refs of other tasks; a blocking get()
    there still works (Ray only warns)."""
    @comet.remote
    class Caller:
        async def awaiting(self):
            return await double.remote(21)

        async def blocking(self):
            return comet.get(double.remote(4))

    caller = Caller.remote()
    assert comet.get([caller.awaiting.remote(), caller.blocking.remote()]) == [42, 8]


# -- the older surface --------------------------------------------------------------


def test_object_id_alias_and_id_types(shared):
    """Ray: ray.ObjectID is ObjectRef; the context's ids are objects with hex()."""
    assert comet.ObjectID is comet.ObjectRef
    job = comet.get_runtime_context().job_id
    assert isinstance(job, comet.JobID) and job == comet.JobID.from_hex(job.hex())
    assert hash(job) == hash(comet.JobID(job.binary()))


def test_timeline_lists_finished_tasks(shared, tmp_path):
    """Ray: ray.timeline() gives Chrome trace events of the tasks; with a
    filename it writes them as JSON."""
    @comet.remote
    def traced():
        time.sleep(0.01)

    comet.get([traced.remote() for _ in range(3)])
    def mine(events):
        return [e for e in events if e["name"].endswith(".traced")]

    assert wait_for_condition(lambda: len(mine(comet.timeline())) >= 3, timeout=30)
    event = mine(comet.timeline())[0]
    assert event["ph"] == "X" and event["dur"] >= 10_000 and event["args"]["state"] == "FINISHED"
    path = tmp_path / "trace.json"
    assert comet.timeline(str(path)) is None
    assert mine(json.loads(path.read_text()))


def test_private_state_helpers(shared):
    """Ray: ray._private.state.actors(), available_resources_per_node(),
    total_resources_per_node(), and ray._private.worker.get_resource_ids()
    (GPU ids: test_gpu_ids_in_the_runtime_context)."""
    @comet.remote
    class Held:
        def ids(self):
            return private_worker.get_resource_ids()

    held = Held.options(name="held-one", num_cpus=1).remote()
    try:
        comet.get(held.ids.remote())
        actor_hex = held._actor_id.hex()
        entry = private_state.actors(actor_hex)
        assert entry["ActorID"] == actor_hex and entry["State"] == "ALIVE"
        assert entry["Name"] == "held-one" and actor_hex in private_state.actors()
        node = comet.get_runtime_context().get_node_id()
        assert private_state.total_resources_per_node()[node]["CPU"] == 2
        # Raylets report their free resources to the GCS periodically, so the
        # actor's CPU shows there a report later.
        assert wait_for_condition(
            lambda: private_state.available_resources_per_node()[node].get("CPU", 0) <= 1,
            timeout=30)
        # Only resources with instances (GPUs, which this machine may lack)
        # have ids; Comet does not number CPUs (Ray does).
        assert "CPU" not in comet.get(held.ids.remote())
        assert private_worker.get_resource_ids() == {}  # the driver holds nothing
    finally:
        # A failed assertion keeps this frame (and the handle) alive in the
        # traceback; the actor's CPU must not starve the tests after it.
        comet.kill(held)


def test_actor_class_attributes_builtin_methods_and_dir(shared):
    """Ray: class attributes, static and class methods are reachable through
    the actor class; every actor answers __ray_ready__ and __ray_call__;
    dir(handle) lists its methods."""
    @comet.remote
    class Box:
        LIMIT = 3

        def __init__(self):
            self.items = []

        def put(self, item):
            self.items.append(item)

        @staticmethod
        def describe(n):
            return f"box of {n}"

        @classmethod
        def kind(cls):
            return cls.__name__

    assert Box.LIMIT == 3
    assert Box.describe(2) == "box of 2" and Box.kind() == "Box"
    with pytest.raises(AttributeError, match="handle.put.remote"):
        Box.put
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        Box.nothing
    box = Box.remote()
    assert comet.get(box.__ray_ready__.remote()) is True
    comet.get(box.put.remote("x"))
    assert comet.get(box.__ray_call__.remote(lambda self, extra: self.items + [extra], "y")) \
        == ["x", "y"]
    assert {"put", "describe", "kind"} <= set(dir(box))


def test_generators_stream_and_iterate_asynchronously(shared):
    """Ray: a generator task returns an ObjectRefGenerator without
    num_returns; `async for` over it gives the items' refs in order."""
    @comet.remote
    def count(n):
        for i in range(n):
            yield i

    gen = count.remote(4)
    assert isinstance(gen, comet.ObjectRefGenerator)

    async def collect():
        return [await ref async for ref in gen]

    assert asyncio.run(collect()) == [0, 1, 2, 3]
    assert [comet.get(ref) for ref in count.remote(2)] == [0, 1]


def test_actor_generator_methods_stream(shared):
    """Ray: a generator method of an actor, sync or async, returns an
    ObjectRefGenerator without num_returns; items come in order, an error
    is the failing item, and other calls of an async actor go on while one
    streams. num_returns=1 keeps the plain call."""
    @comet.remote
    class Source:
        def count(self, n):
            for i in range(n):
                yield i
            raise ValueError("no more")

        def listed(self, n):
            yield from range(n)

    @comet.remote
    class AsyncSource:
        def __init__(self):
            self.release = asyncio.Event()

        async def count(self, n):
            for i in range(n):
                if i == 1:
                    await self.release.wait()
                yield i * 10

        async def go(self):
            self.release.set()
            return "released"

    source = Source.remote()
    gen = source.count.remote(2)
    assert isinstance(gen, comet.ObjectRefGenerator)
    refs = list(gen)
    assert comet.get(refs[:2]) == [0, 1]
    with pytest.raises(ValueError, match="no more"):
        comet.get(refs[2])
    whole = source.listed.options(num_returns=1).remote(3)
    assert isinstance(whole, comet.ObjectRef)

    asrc = AsyncSource.remote()
    agen = asrc.count.remote(3)
    assert comet.get(next(agen), timeout=60) == 0
    # The stream waits on the event; another call sets it.
    assert comet.get(asrc.go.remote(), timeout=60) == "released"
    assert [comet.get(r, timeout=60) for r in agen] == [10, 20]


def test_a_generator_that_dies_after_items_keeps_them(shared):
    """Ray: items a generator yielded before it failed stay in the stream;
    the failure is the item after them."""
    @comet.remote(max_retries=0)
    def two_then_exit():
        yield 1
        yield 2
        raise SystemExit(3)

    refs = list(two_then_exit.remote())
    assert comet.get(refs[:2], timeout=60) == [1, 2]
    assert len(refs) == 3
    with pytest.raises(Exception):
        comet.get(refs[2], timeout=60)


def test_actor_classes_cannot_be_inherited_from(shared):
    """Ray: a class statement with an actor class as its base raises
    comet.actor.ActorClassInheritanceException (a TypeError, not a RayError,
    and in comet.actor as in ray.actor); a remote class may inherit
    from a plain class."""
    @comet.remote
    class Base:
        def who(self):
            return "base"

    with pytest.raises(comet.actor.ActorClassInheritanceException,
                       match="Inheriting from actor classes is not supported"):
        class Sub(Base):  # noqa: F841 - the class statement itself raises
            pass

    class Plain:
        def who(self):
            return "plain"

    @comet.remote
    class Child(Plain):
        def more(self):
            return "child"

    child = Child.remote()
    assert comet.get([child.who.remote(), child.more.remote()], timeout=60) == ["plain", "child"]


def test_generator_backpressure_holds_the_generator_back(shared, tmp_path):
    """Ray: with _generator_backpressure_num_objects=N the generator pauses
    while N of its items are unconsumed, and goes on as they are taken; a
    dropped generator is let go. 0 is refused."""
    log = tmp_path / "yielded"

    @comet.remote
    def produce(n, path):
        for i in range(n):
            with open(path, "a") as f:
                f.write(f"{i}\n")
            yield i

    def yielded():
        return len(log.read_text().splitlines()) if log.exists() else 0

    gen = produce.options(_generator_backpressure_num_objects=1).remote(4, str(log))
    assert wait_for_condition(lambda: yielded() == 1, timeout=60)
    time.sleep(0.5)
    assert yielded() == 1  # held back: item 0 is not taken yet
    assert comet.get(next(gen), timeout=60) == 0
    assert wait_for_condition(lambda: yielded() == 2, timeout=60)
    assert [comet.get(r, timeout=60) for r in gen] == [1, 2, 3]

    log.unlink()
    dropped = produce.options(_generator_backpressure_num_objects=1).remote(3, str(log))
    assert wait_for_condition(lambda: yielded() == 1, timeout=60)
    del dropped
    assert wait_for_condition(lambda: yielded() == 3, timeout=60)

    with pytest.raises(ValueError, match="_generator_backpressure_num_objects"):
        produce.options(_generator_backpressure_num_objects=0)


def test_generator_completed_is_a_ref_to_the_tasks_end(shared, tmp_path):
    """Ray: ObjectRefGenerator.completed() is an ObjectRef, ready when the
    generator task ends; get() of it returns None, also when the task raised
    (the error is the stream's last item); is_finished() says whether every
    item was taken."""
    gate = tmp_path / "go"

    @comet.remote
    def count(n, fail=False):
        while not gate.exists():
            time.sleep(0.01)
        for i in range(n):
            yield i
        if fail:
            raise ValueError("boom")

    gen = count.remote(2)
    done = gen.completed()
    assert isinstance(done, comet.ObjectRef)
    assert comet.wait([done], timeout=0.2) == ([], [done])  # still running
    assert not gen.next_ready()
    gate.touch()
    assert comet.get(done, timeout=60) is None
    assert gen.next_ready()
    assert not gen.is_finished()
    assert [comet.get(ref) for ref in gen] == [0, 1]
    assert gen.is_finished()

    failing = count.remote(1, fail=True)
    assert comet.get(failing.completed(), timeout=60) is None
    refs = list(failing)
    assert comet.get(refs[0]) == 0
    with pytest.raises(ValueError, match="boom"):
        comet.get(refs[1])


def test_dynamic_num_returns_gives_one_ref_to_all_items(shared):
    """Ray: num_returns="dynamic" (the form before streaming) returns one
    ObjectRef; get() of it is a DynamicObjectRefGenerator of refs to every
    item, the error (if the generator raised) as the last; its items live
    while they are referenced, in other tasks too; works for actor methods;
    backpressure cannot be combined with it."""
    @comet.remote(num_returns="dynamic")
    def split(n, size=1, fail=False):
        for i in range(n):
            yield bytes([i % 256]) * size
        if fail:
            raise ValueError("split failed")

    @comet.remote
    def total(chunks):
        return sum(len(b) for b in comet.get(list(chunks)))

    dynamic = split.remote(3)
    assert isinstance(dynamic, comet.ObjectRef)
    gen = comet.get(dynamic, timeout=60)
    assert isinstance(gen, comet.DynamicObjectRefGenerator) and len(gen) == 3
    assert comet.get(list(gen)) == [b"\x00", b"\x01", b"\x02"]
    del gen
    gc.collect()
    # The items outlive the first generator's refs; a task reads them too.
    assert comet.get(list(comet.get(dynamic))) == [b"\x00", b"\x01", b"\x02"]
    assert comet.get(total.remote(dynamic), timeout=60) == 3

    # Big items (in plasma) and more refs than fit inline.
    big = comet.get(split.remote(2, size=300_000), timeout=60)
    assert [len(comet.get(ref)) for ref in big] == [300_000, 300_000]
    many = comet.get(split.remote(1500), timeout=60)
    assert len(many) == 1500 and comet.get(list(many)[-1]) == bytes([1499 % 256])

    failed = list(comet.get(split.remote(2, fail=True), timeout=60))
    assert len(failed) == 3 and comet.get(failed[1]) == b"\x01"
    with pytest.raises(ValueError, match="split failed"):
        comet.get(failed[2])

    @comet.remote(num_returns="dynamic")
    def not_started():
        raise KeyError("before any item")

    with pytest.raises(KeyError):
        comet.get(not_started.remote(), timeout=60)

    @comet.remote
    class Source:
        def items(self, n):
            yield from range(n)

    source = Source.remote()
    refs = comet.get(source.items.options(num_returns="dynamic").remote(4), timeout=60)
    assert comet.get(list(refs)) == [0, 1, 2, 3]
    assert [comet.get(r) for r in source.items.remote(2)] == [0, 1]  # streams by default

    with pytest.raises(ValueError, match="_generator_backpressure_num_objects"):
        split.options(_generator_backpressure_num_objects=2)
    with pytest.raises(ValueError, match="_generator_backpressure_num_objects"):
        source.items.options(num_returns="dynamic",
                             _generator_backpressure_num_objects=2).remote(1)


def test_max_calls_retires_the_worker(shared):
    """Ray: with max_calls=N a worker exits after running the function N
    times, so each call of a max_calls=1 function gets a fresh process; no
    call fails for it (even without retries)."""
    import psutil

    @comet.remote(max_calls=1, max_retries=0)
    def pid():
        return os.getpid()

    pids = [comet.get(pid.remote(), timeout=60) for _ in range(3)]
    assert len(set(pids)) == 3
    assert wait_for_condition(lambda: not psutil.pid_exists(pids[0]), timeout=30)
    # Calls at once: each still gets a process of its own, none fails.
    assert len(set(comet.get([pid.remote() for _ in range(4)], timeout=60))) == 4


def test_task_events_can_be_turned_off_and_method_calls_named(shared):
    """Ray: enable_task_events=False keeps a task (or actor call) out of the
    state API; an actor method's name= option names its calls there."""
    from comet.util import state

    @comet.remote
    class Worker:
        def work(self, x):
            return x

    @comet.remote(enable_task_events=False)
    def hidden_task():
        return 1

    actor = Worker.remote()
    assert comet.get(actor.work.options(enable_task_events=False, name="hidden-call").remote(1))
    assert comet.get(hidden_task.remote()) == 1
    assert comet.get(actor.work.options(name="marker-call").remote(2)) == 2
    # The marker's rows come from the same caller and actor worker, after the
    # hidden call's would have: once it is there, those would be too.
    assert wait_for_condition(lambda: any(
        t["name"] == "marker-call" and t["state"] == "FINISHED" and t.get("worker_id")
        for t in state.list_tasks()), timeout=60)
    names = [t["name"] for t in state.list_tasks()]
    assert "hidden-call" not in names
    assert not any(n.endswith("hidden_task") for n in names)


def test_actor_death_messages_follow_rays(shared):
    """Ray: an ActorDiedError names the actor (class_name, actor_id, pid,
    name, namespace, ip) under "The actor died unexpectedly before finishing
    this task." and ends with the cause; .actor_id is its hex id and
    .actor_init_failed says whether the constructor raised."""
    @comet.remote
    class Broken:
        def __init__(self):
            raise ValueError("cannot start")

        def ping(self):
            return 1

    died = _actor_died
    killed = Victim.options(name="victim-one").remote()
    pid = comet.get(killed.pid.remote())
    comet.kill(killed)
    err = died(killed.pid.remote())
    lines = str(err).splitlines()
    assert lines[0] == "The actor died unexpectedly before finishing this task."
    assert lines[1:6] == ["\tclass_name: Victim", f"\tactor_id: {killed._actor_id.hex()}",
                          f"\tpid: {pid}", "\tname: victim-one",
                          f"\tnamespace: {comet.get_runtime_context().namespace}"]
    assert lines[6].startswith("\tip: ")
    assert lines[7] == "The actor is dead because it was killed by `comet.kill`."
    assert err.actor_id == killed._actor_id.hex() and not err.actor_init_failed

    crashed = Victim.remote()
    comet.get(crashed.pid.remote())
    died(crashed.die.remote())
    assert ("The actor is dead because its worker process has died. Worker exit detail: "
            "exit code 1") in str(died(crashed.pid.remote()))

    err = died(Broken.remote().ping.remote())
    assert str(err).startswith("The actor died because of an error raised in its creation task")
    assert "cannot start" in str(err) and err.actor_init_failed
    assert isinstance(err.cause, comet.exceptions.RayTaskError)


def test_actor_calls_can_be_cancelled(shared, tmp_path):
    """Ray: cancel() of an actor call that has not started drops it
    (TaskCancelledError); a running call of a sync actor is not interrupted
    but sees get_runtime_context().is_canceled(); an async actor's running
    call is cancelled as an asyncio task; force=True raises ValueError; a
    generator task can be cancelled through its ObjectRefGenerator."""
    started = tmp_path / "started"

    @comet.remote
    class Sync:
        def wait_for_cancel(self, path):
            open(path, "w").close()
            deadline = time.time() + 60
            while not comet.get_runtime_context().is_canceled():
                if time.time() > deadline:
                    return "never cancelled"
                time.sleep(0.01)
            return "saw the cancel"

        def ping(self):
            return "pong"

    @comet.remote
    class Async:
        async def sleep(self, path):
            open(path, "w").close()
            await asyncio.sleep(60)
            return "slept"

        async def ping(self):
            return "pong"

    actor = Sync.remote()
    running = actor.wait_for_cancel.remote(str(started))
    queued = actor.ping.remote()
    assert wait_for_condition(started.exists, timeout=60)
    comet.cancel(queued)
    comet.cancel(running)
    assert comet.get(running, timeout=60) == "saw the cancel"
    with pytest.raises(comet.exceptions.TaskCancelledError):
        comet.get(queued, timeout=60)
    assert comet.get(actor.ping.remote(), timeout=60) == "pong"
    with pytest.raises(ValueError, match="force=True is not supported for actor tasks"):
        comet.cancel(actor.ping.remote(), force=True)

    started.unlink()
    aactor = Async.remote()
    sleeping = aactor.sleep.remote(str(started))
    assert wait_for_condition(started.exists, timeout=60)
    comet.cancel(sleeping)
    with pytest.raises(comet.exceptions.TaskCancelledError):
        comet.get(sleeping, timeout=30)
    assert comet.get(aactor.ping.remote(), timeout=60) == "pong"

    @comet.remote
    def endless():
        while True:
            yield 1
            time.sleep(0.01)

    gen = endless.remote()
    assert comet.get(next(gen), timeout=60) == 1
    comet.cancel(gen)
    with pytest.raises(comet.exceptions.TaskCancelledError):
        comet.get(gen.completed(), timeout=60)
    # The stream ends with the cancellation.
    with pytest.raises(comet.exceptions.TaskCancelledError):
        for ref in gen:
            comet.get(ref, timeout=60)


def test_cancel_interrupts_with_keyboard_interrupt(shared):
    """Ray: cancel(force=False) raises KeyboardInterrupt inside the running
    task; get() raises TaskCancelledError even when the task caught it."""
    @comet.remote
    class Seen:
        def __init__(self):
            self.what = []

        def add(self, what):
            self.what.append(what)

        def all(self):
            return self.what

    seen = Seen.remote()

    @comet.remote
    def sleeper(seen):
        seen.add.remote("started")
        try:
            while True:
                time.sleep(0.01)
        except KeyboardInterrupt:
            comet.get(seen.add.remote("KeyboardInterrupt"))
            return "caught"

    ref = sleeper.remote(seen)
    assert wait_for_condition(lambda: comet.get(seen.all.remote()) == ["started"], timeout=60)
    comet.cancel(ref)
    with pytest.raises(comet.exceptions.TaskCancelledError):
        comet.get(ref, timeout=60)
    assert comet.get(seen.all.remote()) == ["started", "KeyboardInterrupt"]
    assert comet.get(double.remote(2)) == 4  # the worker goes on


@pytest.mark.parametrize("how", ["exit_actor", "__ray_terminate__"])
def test_atexit_handlers_run_when_an_actor_exits(shared, tmp_path, how):
    """Ray: an actor's atexit handlers run on exit_actor() and __ray_terminate__."""
    marker = tmp_path / "ran"

    @comet.remote
    class Tidy:
        def __init__(self, path):
            import atexit

            def goodbye():
                with open(path + ".tmp", "w") as f:
                    f.write("bye")
                os.replace(path + ".tmp", path)  # appears whole

            atexit.register(goodbye)

        def leave(self):
            comet.exit_actor()

        def ping(self):
            return "pong"

    actor = Tidy.remote(str(marker))
    assert comet.get(actor.ping.remote()) == "pong"
    if how == "exit_actor":
        with pytest.raises(comet.exceptions.RayActorError):
            comet.get(actor.leave.remote(), timeout=60)
    else:
        actor.__ray_terminate__.remote()
    assert wait_for_condition(marker.exists, timeout=60)
    assert marker.read_text() == "bye"


def test_omp_num_threads_follows_num_cpus(shared):
    """Ray: a task runs with OMP_NUM_THREADS set to its num_cpus (1 by
    default) unless the user set the variable."""
    import os

    if "OMP_NUM_THREADS" in os.environ:
        pytest.skip("OMP_NUM_THREADS is set here, and a user's value wins")

    @comet.remote
    def omp():
        return os.environ.get("OMP_NUM_THREADS")

    assert comet.get(omp.remote()) == "1"
    assert comet.get(omp.options(num_cpus=2).remote(), timeout=120) == "2"
    assert comet.get(omp.options(num_cpus=0.5).remote()) == "1"


def test_oversized_closures_warn_then_are_refused(shared):
    """Ray: a remote function or actor class that pickles very large (it
    captured data) warns, and past a limit is refused with ValueError."""
    medium = b"x" * (20 * 10**6)
    huge = b"x" * (110 * 10**6)

    @comet.remote
    def uses_medium():
        return len(medium)

    with pytest.warns(UserWarning, match="large"):
        assert comet.get(uses_medium.remote()) == len(medium)

    @comet.remote
    def uses_huge():
        return len(huge)

    with pytest.raises(ValueError, match="too large.*comet.put"):
        uses_huge.remote()

    @comet.remote
    class Holder:
        def size(self):
            return len(huge)

    with pytest.raises(ValueError, match="actor class .*Holder is too large"):
        Holder.remote()
