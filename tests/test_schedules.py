"""Job schedules end to end on a real head started with the CLI: the SDK, the
REST API and `comet job schedule`. A seconds-level schedule fires on time
several times, pauses, resumes and is deleted; forbid never overlaps two runs
of a job longer than the period; bad input is refused naming it; a head that
is stopped and started again on the same storage keeps the schedule and
applies the misfire policy to the times it missed, firing nothing twice."""

from __future__ import annotations

import json
import sys
import time

import pytest

from cli_cluster import cli
from comet.job_submission import JobSubmissionClient
from dashboard_cluster import DashboardCluster, start_cluster, wait_for

QUICK = f"{sys.executable} -c \"print('scheduled run')\""
SLOW = f"{sys.executable} -c \"import time; time.sleep(5)\""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    yield from start_cluster(tmp_path_factory, "schedules")


def _client(cluster: DashboardCluster) -> JobSubmissionClient:
    return JobSubmissionClient(cluster.url)


def _times(runs, status=None) -> list[float]:
    return sorted(r["scheduled_time"] for r in runs if status is None or r["status"] == status)


@pytest.mark.timeout(120)
def test_a_seconds_schedule_fires_on_time_pauses_resumes_and_is_deleted(cluster):
    client = _client(cluster)
    created = client.create_schedule("every2", "*/2 * * * * *", QUICK,
                                     metadata={"owner": "tests"})
    assert created["next_run_time"] > time.time() - 1 and created["paused"] is False
    runs = wait_for(lambda: len(_times(client.list_schedule_runs("every2"), "SUBMITTED")) >= 3
                    and client.list_schedule_runs("every2"), timeout=30)
    fired = _times(runs, "SUBMITTED")
    # Consecutive times two seconds apart, each once, each started promptly.
    assert all(b - a == 2 for a, b in zip(fired, fired[1:])), fired
    for run in runs:
        if run["status"] == "SUBMITTED":
            job = cluster.wait_job(run["submission_id"])
            assert job["status"] == "SUCCEEDED", job
            assert job["metadata"]["comet_schedule"] == "every2"
            assert job["metadata"]["owner"] == "tests"
            assert job["start_time"] / 1000 - run["scheduled_time"] < 10
    assert len({r["submission_id"] for r in runs}) == len(runs)
    # Paused: nothing more runs; its next_run_time is None.
    assert client.pause_schedule("every2")["next_run_time"] is None
    time.sleep(0.6)  # a tick in progress at the pause may still record one
    count = len(client.list_schedule_runs("every2"))
    time.sleep(4)
    assert len(client.list_schedule_runs("every2")) == count
    # Resumed: it goes on from now; the paused times never run.
    resumed_at = time.time()
    client.resume_schedule("every2")
    wait_for(lambda: len(client.list_schedule_runs("every2")) > count, timeout=20)
    later = client.list_schedule_runs("every2")[: len(client.list_schedule_runs("every2")) - count]
    assert all(r["scheduled_time"] > resumed_at - 1 for r in later), (later, resumed_at)
    # The REST API and the CLI see the same schedule.
    listed = {s["name"]: s for s in cluster.get("/api/schedules/")["schedules"]}
    assert listed["every2"]["cron"] == "*/2 * * * * *"
    shown = cluster.cli("job", "schedule", "runs", "every2", "--format", "json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)[0]["status"] in ("SUBMITTED", "CLAIMED")
    assert client.delete_schedule("every2")
    assert cluster.http("GET", "/api/schedules/every2")[0] == 404
    count = len(cluster.get("/api/jobs/"))
    time.sleep(3)
    assert len(cluster.get("/api/jobs/")) == count  # deleted: no new runs


@pytest.mark.timeout(120)
def test_forbid_never_overlaps_two_runs(cluster):
    client = _client(cluster)
    client.create_schedule("slow", "*/2 * * * * *", SLOW, concurrency_policy="forbid")
    wait_for(lambda: len(_times(client.list_schedule_runs("slow"), "SUBMITTED")) >= 2,
             timeout=40)
    client.pause_schedule("slow")
    runs = client.list_schedule_runs("slow")
    skipped = [r for r in runs if r["status"] == "SKIPPED"]
    assert skipped and all("concurrency_policy=forbid" in r["reason"] for r in skipped)
    jobs = [cluster.wait_job(r["submission_id"]) for r in runs if r["status"] == "SUBMITTED"]
    spans = sorted((j["start_time"], j["end_time"]) for j in jobs)
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in zip(spans, spans[1:])), spans
    client.delete_schedule("slow")


@pytest.mark.timeout(120)
def test_replace_stops_the_old_run_before_starting_the_next(cluster):
    client = _client(cluster)
    client.create_schedule("replacing", "*/3 * * * * *", SLOW, concurrency_policy="replace")
    replaced = wait_for(lambda: [r for r in client.list_schedule_runs("replacing")
                                 if r.get("replaced")], timeout=40)
    client.pause_schedule("replacing")
    old = cluster.wait_job(replaced[-1]["replaced"][0])
    new = cluster.job(replaced[-1]["submission_id"])
    assert old["status"] == "STOPPED", old
    assert new["start_time"] >= old["end_time"], (old, new)
    client.delete_schedule("replacing")
    for job in cluster.get("/api/jobs/"):
        if job.get("submission_id", "").startswith("sched_replacing_") and \
                job["status"] in ("PENDING", "RUNNING"):
            cluster.http("POST", f"/api/jobs/{job['submission_id']}/stop")


def test_bad_input_is_refused_naming_it(cluster):
    client = _client(cluster)
    for kwargs, needle in [({"cron": "* * *"}, "5 fields"), ({"cron": "99 * * * *"}, "valid"),
                           ({"timezone": "Nowhere/City"}, "Nowhere/City"),
                           ({"misfire_policy": "later"}, "misfire_policy"),
                           ({"concurrency_policy": "queue"}, "concurrency_policy"),
                           ({"max_catch_up": 0}, "max_catch_up")]:
        args = {"name": "bad", "cron": "* * * * *", "entrypoint": QUICK, **kwargs}
        with pytest.raises(ValueError, match=needle):
            client.create_schedule(**args)
    with pytest.raises(TypeError, match="entrypoint_num_cpus"):
        client.create_schedule("bad", "* * * * *", QUICK, entrypoint_num_cpus=1)
    client.create_schedule("taken", "0 3 * * *", QUICK, timezone="Europe/Berlin")
    with pytest.raises(ValueError, match="already exists"):
        client.create_schedule("taken", "0 4 * * *", QUICK)
    status, reply = cluster.http("POST", "/api/schedules/", {"name": "x", "cron": "* * * * *",
                                                            "entrypoint": QUICK, "extra": 1})
    assert status == 400 and "extra" in reply["error"]
    bad = cluster.cli("job", "schedule", "create", "clibad", "* * * * * * *", "--", "true")
    assert bad.returncode != 0 and "5 fields" in bad.stderr
    shown = cluster.cli("job", "schedule", "get", "taken")
    assert shown.returncode == 0 and "Europe/Berlin" in shown.stdout, shown.stdout
    assert cluster.cli("job", "schedule", "delete", "taken").returncode == 0
    assert cluster.cli("job", "schedule", "delete", "taken").returncode != 0


@pytest.mark.timeout(180)
def test_a_restarted_head_keeps_its_schedule_and_applies_the_misfire_policy(tmp_path):
    storage = f"--gcs-storage=sqlite:{tmp_path / 'gcs.sqlite'}"
    cluster = DashboardCluster(tmp_path / "head")

    def start() -> None:
        result = cluster.cli("start", "--head", "--port", cluster.gcs_port, "--num-cpus", 1,
                             "--temp-dir", cluster.temp_dir, "--dashboard-port",
                             cluster.dashboard_port, storage)
        assert result.returncode == 0, result.stderr

    start()
    try:
        client = _client(cluster)
        client.create_schedule("every5", "*/5 * * * * *", QUICK, misfire_threshold_s=1)
        wait_for(lambda: _times(client.list_schedule_runs("every5"), "SUBMITTED"), timeout=30)
        cluster.stop()
        stopped_at = time.time()
        time.sleep(12)  # two or three scheduled times pass with no job server
        start()
        restarted_at = time.time()
        wait_for(lambda: _times(client.list_schedule_runs("every5"), "SUBMITTED")[-1]
                 > restarted_at, timeout=30)
        runs = client.list_schedule_runs("every5")
        times = _times(runs)
        # Every five seconds from the first to the last, each exactly once.
        assert all(b - a == 5 for a, b in zip(times, times[1:])), runs
        down = [r for r in runs if stopped_at < r["scheduled_time"] < restarted_at - 1]
        assert len(down) >= 2, (down, stopped_at, restarted_at)
        assert any(r["status"] == "MISSED" and "fire_once" in r["reason"] for r in down), down
        assert sum(r["status"] == "SUBMITTED" for r in down) <= 1, down
    finally:
        cli("stop", "--force", "--temp-dir", cluster.temp_dir)
