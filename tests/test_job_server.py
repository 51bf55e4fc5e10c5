"""The dashboard's job server (REST API and JobSubmissionClient) against a real
head node started with `comet start --head`."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import re
import sys
import textwrap

import psutil
import pytest

from comet.job_submission import JobStatus, JobSubmissionClient
from dashboard_cluster import start_cluster, wait_for

DRIVER = textwrap.dedent("""
    import os
    import sys
    import comet

    comet.init(address="auto")

    @comet.remote
    def double(x):
        return 2 * x

    @comet.remote
    def in_task():
        print("printed by a task")
        return os.environ.get("GREETING"), open("data.txt").read().strip()

    print("double:", comet.get(double.remote(21)))
    print("env:", os.environ.get("GREETING"), open("data.txt").read().strip())
    # The job's runtime_env reaches its tasks, as in Ray.
    print("task env:", *comet.get(in_task.remote()))
    comet.shutdown()
    # The C++ core sometimes crashes in interpreter teardown (a gRPC ref-count
    # assertion, not this test's subject): leave without it.
    sys.stdout.flush()
    os._exit(0)
""")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    yield from start_cluster(tmp_path_factory, "jobserver")


def submit(cluster, **body) -> str:
    status, reply = cluster.http("POST", "/api/jobs/", body)
    assert status == 200, reply
    return reply["submission_id"]


def test_driver_job_joins_the_cluster_with_working_dir_and_env(cluster, tmp_path):
    (tmp_path / "driver.py").write_text(DRIVER)
    (tmp_path / "data.txt").write_text("from the working dir\n")
    sid = submit(cluster, entrypoint=f"{sys.executable} driver.py",
                 runtime_env={"working_dir": str(tmp_path), "env_vars": {"GREETING": "hi"}},
                 metadata={"owner": "tests"})
    job = cluster.wait_job(sid)
    logs = cluster.get(f"/api/jobs/{sid}/logs")["logs"]
    assert job["status"] == "SUCCEEDED", (job, logs)
    assert "double: 42" in logs and "env: hi from the working dir" in logs
    assert "task env: hi from the working dir" in logs
    assert re.search(r"\(in_task pid=\d+\) printed by a task", logs), logs
    assert job["exit_code"] == 0 and job["metadata"] == {"owner": "tests"}
    assert job["start_time"] <= job["end_time"] and job["type"] == "SUBMISSION"
    # The driver registered with this cluster's GCS: its job id is linked.
    assert job["job_id"], (job, cluster.get("/api/jobs/"))
    assert cluster.get(f"/api/jobs/{job['job_id']}")["submission_id"] == sid
    listed = cluster.get("/api/jobs/")
    assert sid in [j["submission_id"] for j in listed]
    assert job["job_id"] not in [j["job_id"] for j in listed if j["type"] == "DRIVER"]


PIP_DRIVER = textwrap.dedent("""
    import os
    import sys
    import comet
    import cometjobpip  # installed by the job's runtime_env pip

    comet.init(address="auto")

    @comet.remote
    def in_task():
        import cometjobpip
        return cometjobpip.WORD, sys.prefix

    print("driver:", cometjobpip.WORD, sys.prefix, os.environ["VIRTUAL_ENV"])
    print("task:", *comet.get(in_task.remote()))
    comet.shutdown()
    sys.stdout.flush()
    os._exit(0)
""")


def test_job_pip_env_runs_the_entrypoint_and_its_tasks(cluster, tmp_path):
    """Ray: a job's runtime_env applies to its entrypoint too: `python` in the
    entrypoint is the job's virtualenv's, the one its tasks use."""
    from test_runtime_env import make_wheel

    wheel = make_wheel(tmp_path, "cometjobpip", "1.0", "WORD = 'from the job pip env'\n")
    (tmp_path / "driver.py").write_text(PIP_DRIVER)
    sid = submit(cluster, entrypoint="python driver.py",
                 runtime_env={"working_dir": str(tmp_path), "pip": [str(wheel)]})
    job = cluster.wait_job(sid, timeout=180)
    logs = cluster.get(f"/api/jobs/{sid}/logs")["logs"]
    assert job["status"] == "SUCCEEDED", (job, logs)
    driver = re.search(r"driver: from the job pip env (\S+) (\S+)", logs)
    task = re.search(r"task: from the job pip env (\S+)", logs)
    assert driver and task, logs
    assert driver[1] == driver[2] == task[1], logs  # one virtualenv for both
    assert "runtime_resources/pip/" in driver[1]


def test_job_with_a_failing_pip_spec_fails_with_pips_output(cluster, tmp_path):
    sid = submit(cluster, entrypoint="echo never runs",
                 runtime_env={"pip": [str(tmp_path / "missing-2.0-py3-none-any.whl")]})
    job = cluster.wait_job(sid, timeout=180)
    assert job["status"] == "FAILED", job
    assert "RuntimeEnvSetupError" in job["message"] and "pip install failed" in job["message"]
    assert "missing-2.0-py3-none-any.whl" in job["message"]  # pip's own words
    assert job["driver_pid"] is None
    assert "never runs" not in cluster.get(f"/api/jobs/{sid}/logs")["logs"]


def test_stop_while_the_pip_env_is_made_stops_the_job_before_it_starts(cluster):
    """A stop during the setup ends the job at once; its entrypoint never runs.
    The setup is held by an index that accepts connections and never answers."""
    with socket.socket() as silent_index:
        silent_index.bind(("127.0.0.1", 0))
        silent_index.listen(8)
        index = f"http://127.0.0.1:{silent_index.getsockname()[1]}/simple"
        sid = submit(cluster, entrypoint="echo must not run",
                     runtime_env={"pip": [f"--index-url={index}", "--timeout=5", "--retries=0",
                                          "cometneverinstalled"]})
        assert cluster.job(sid)["status"] == "PENDING"
        assert cluster.http("POST", f"/api/jobs/{sid}/stop") == (200, {"stopped": True})
        job = cluster.job(sid)
        assert job["status"] == "STOPPED" and job["driver_pid"] is None, job
        assert "before it started" in job["message"]
    # The setup ends by itself (pip gives up); the job stays stopped.
    assert wait_for(lambda: not any("cometneverinstalled" in " ".join(p.info["cmdline"] or [])
                                    for p in psutil.process_iter(["cmdline"])), timeout=60)
    assert cluster.job(sid)["status"] == "STOPPED"
    assert "must not run" not in cluster.get(f"/api/jobs/{sid}/logs")["logs"]


def test_failing_entrypoint_is_failed_and_keeps_its_logs(cluster):
    sid = submit(cluster, entrypoint="echo about to fail; exit 3", submission_id="fails-1")
    assert sid == "fails-1"
    job = cluster.wait_job(sid)
    assert job["status"] == "FAILED" and job["exit_code"] == 3
    assert "exit code 3" in job["message"]
    assert "about to fail" in cluster.get(f"/api/jobs/{sid}/logs")["logs"]
    assert os.path.isfile(job["driver_log_path"])
    assert os.path.dirname(job["driver_log_path"]) == os.path.join(cluster.session_dir, "logs")


def test_stop_running_job(cluster):
    sid = submit(cluster, entrypoint="echo started; sleep 120")
    wait_for(lambda: "started" in cluster.get(f"/api/jobs/{sid}/logs")["logs"])
    assert cluster.job(sid)["status"] == "RUNNING"
    pid = cluster.job(sid)["driver_pid"]
    assert cluster.http("POST", f"/api/jobs/{sid}/stop") == (200, {"stopped": True})
    job = cluster.wait_job(sid)
    assert job["status"] == "STOPPED", job
    wait_for(lambda: not psutil.pid_exists(pid) or psutil.Process(pid).status() == "zombie")
    assert cluster.http("POST", f"/api/jobs/{sid}/stop") == (200, {"stopped": False})


def test_tail_streams_the_log_until_the_job_ends(cluster):
    client = JobSubmissionClient(cluster.url)
    sid = client.submit_job(entrypoint="for i in 1 2 3; do echo line $i; sleep 0.3; done")

    async def collect() -> str:
        return "".join([chunk async for chunk in client.tail_job_logs(sid)])

    assert asyncio.run(collect()) == "line 1\nline 2\nline 3\n"
    wait_for(lambda: client.get_job_status(sid) == JobStatus.SUCCEEDED)
    status, text = cluster.http("GET", f"/api/jobs/{sid}/logs/tail")
    assert status == 200 and text == "line 1\nline 2\nline 3\n"


def test_client_api(cluster):
    client = JobSubmissionClient(cluster.url)
    sid = client.submit_job(entrypoint="echo sdk", submission_id="sdk-1",
                            metadata={"k": "v"})
    wait_for(lambda: client.get_job_status(sid).is_terminal())
    info = client.get_job_info(sid)
    assert info.status == JobStatus.SUCCEEDED and info.metadata == {"k": "v"}
    assert client.get_job_logs(sid) == "sdk\n"
    assert "sdk-1" in [j.submission_id for j in client.list_jobs()]
    assert client.stop_job(sid) is False
    assert client.delete_job(sid) is True
    with pytest.raises(RuntimeError, match="does not exist"):
        client.get_job_info(sid)
    assert os.path.isfile(info.driver_log_path)  # deleting keeps the log


@pytest.mark.parametrize("method,path", [
    ("GET", "/api/jobs/nope"), ("GET", "/api/jobs/nope/logs"),
    ("GET", "/api/jobs/nope/logs/tail"), ("POST", "/api/jobs/nope/stop"),
    ("DELETE", "/api/jobs/nope")])
def test_unknown_job_is_404_with_a_message(cluster, method, path):
    status, body = cluster.http(method, path)
    assert status == 404 and "nope" in body["error"], body


@pytest.mark.parametrize("body,word", [
    (b"{not json", "JSON"), ({}, "entrypoint"), ({"entrypoint": ""}, "entrypoint"),
    ({"entrypoint": "true", "runtime_env": {"pip": 3}}, "pip"),
    ({"entrypoint": "true", "runtime_env": {"conda": "env"}}, "conda"),
    ({"entrypoint": "true", "runtime_env": {"env_vars": {"A": 1}}}, "env_vars"),
    ({"entrypoint": "true", "runtime_env": {"working_dir": "/no/such/dir"}}, "working_dir"),
    ({"entrypoint": "true", "submission_id": "bad/id"}, "submission_id"),
    ({"entrypoint": "true", "surprise": 1}, "surprise")])
def test_bad_submission_is_400(cluster, body, word):
    status, reply = cluster.http("POST", "/api/jobs/", body)
    assert status == 400 and word in reply["error"], reply


def test_duplicate_submission_id_and_deleting_a_running_job_are_400(cluster):
    sid = submit(cluster, entrypoint="sleep 120", submission_id="dup-1")
    status, reply = cluster.http("POST", "/api/jobs/", {"entrypoint": "true",
                                                        "submission_id": sid})
    assert status == 400 and "already used" in reply["error"]
    status, reply = cluster.http("DELETE", f"/api/jobs/{sid}")
    assert status == 400 and "stop it" in reply["error"]
    cluster.http("POST", f"/api/jobs/{sid}/stop")
    assert cluster.wait_job(sid)["status"] == "STOPPED"
    assert cluster.http("DELETE", f"/api/jobs/{sid}") == (200, {"deleted": True})
    assert cluster.http("GET", f"/api/jobs/{sid}")[0] == 404


def _restart_dashboard(cluster) -> subprocess.Popen:
    """Kills the dashboard like a crash and starts another on the same port and
    session (stopped by `comet stop` with the cluster)."""
    pid = cluster.dashboard_pid()
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not psutil.pid_exists(pid) or psutil.Process(pid).status() == "zombie")
    new = subprocess.Popen(
        [sys.executable, "-m", "comet.dashboard", "--gcs-address", cluster.gcs_address,
         "--host", "127.0.0.1", "--port", str(cluster.dashboard_port),
         "--session-dir", cluster.session_dir],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: _answers(cluster), timeout=60)
    return new


def _answers(cluster) -> bool:
    try:
        return cluster.http("GET", "/api/version")[0] == 200
    except OSError:
        return False


def test_dashboard_restart_keeps_jobs(cluster, tmp_path):
    done = submit(cluster, entrypoint="echo done")
    assert cluster.wait_job(done)["status"] == "SUCCEEDED"
    flag = tmp_path / "go"
    survivor = submit(cluster, entrypoint=f"while [ ! -e {flag} ]; do sleep 0.1; done; "
                                          "echo survived")
    victim = submit(cluster, entrypoint="sleep 120")
    wait_for(lambda: cluster.job(survivor)["status"] == "RUNNING"
             and cluster.job(victim)["status"] == "RUNNING")
    victim_pid = cluster.job(victim)["driver_pid"]
    _restart_dashboard(cluster)
    # A job whose process died while no dashboard watched it.
    os.killpg(victim_pid, signal.SIGKILL)

    assert cluster.job(done)["status"] == "SUCCEEDED"
    assert cluster.job(survivor)["status"] == "RUNNING"  # adopted: its process lives
    failed = cluster.wait_job(victim)
    assert failed["status"] == "FAILED" and failed["message"], failed
    flag.touch()
    job = cluster.wait_job(survivor)
    assert job["status"] == "SUCCEEDED" and job["exit_code"] == 0, job
    assert "survived" in cluster.get(f"/api/jobs/{survivor}/logs")["logs"]
