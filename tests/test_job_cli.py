"""`comet job ...` against a real head node; the CLI finds the dashboard from
the session (COMET_TEMP_DIR) unless --address is given."""

from __future__ import annotations

import json

import pytest

from cli_cluster import assert_one_line_error
from dashboard_cluster import start_cluster, wait_for


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    yield from start_cluster(tmp_path_factory, "jobcli")


def test_submit_streams_logs_and_exits_0_on_success(cluster, tmp_path):
    (tmp_path / "hello.txt").write_text("content of the working dir\n")
    result = cluster.cli("job", "submit", "--working-dir", tmp_path, "--submission-id", "cli-ok",
                         "--runtime-env-json", '{"env_vars": {"WHO": "cli"}}',
                         "--metadata-json", '{"team": "x"}', "--",
                         "cat hello.txt; for i in 1 2; do echo \"$WHO $i\"; sleep 0.2; done")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "content of the working dir\ncli 1\ncli 2\n"
    assert "cli-ok" in result.stderr and "succeeded" in result.stderr
    assert cluster.job("cli-ok")["metadata"] == {"team": "x"}


def test_submit_exits_1_when_the_job_fails(cluster):
    result = cluster.cli("job", "submit", "--", "echo failing;", "exit 4")
    assert result.returncode == 1
    assert result.stdout == "failing\n" and "failed" in result.stderr


def test_no_wait_status_logs_list_delete(cluster):
    result = cluster.cli("job", "submit", "--no-wait", "--submission-id", "cli-nw", "--",
                         "echo one; sleep 0.5; echo two")
    assert result.returncode == 0 and "cli-nw" in result.stderr, result.stderr
    follow = cluster.cli("job", "logs", "--follow", "cli-nw")
    assert follow.returncode == 0 and follow.stdout == "one\ntwo\n", follow
    wait_for(lambda: "SUCCEEDED" in cluster.cli("job", "status", "cli-nw").stdout)
    assert cluster.cli("job", "logs", "cli-nw").stdout == "one\ntwo\n"
    listed = cluster.cli("job", "list", "--format", "json")
    assert "cli-nw" in [j["submission_id"] for j in json.loads(listed.stdout)]
    table = cluster.cli("job", "list")
    assert "cli-nw" in table.stdout and "SUCCEEDED" in table.stdout
    assert cluster.cli("job", "delete", "cli-nw").returncode == 0
    assert_one_line_error(cluster.cli("job", "status", "cli-nw"), "does not exist")


def test_stop(cluster):
    result = cluster.cli("job", "submit", "--no-wait", "--submission-id", "cli-stop", "--",
                         "sleep", "120")
    assert result.returncode == 0, result.stderr
    wait_for(lambda: cluster.job("cli-stop")["status"] == "RUNNING")
    stop = cluster.cli("job", "stop", "--address", cluster.url, "cli-stop")
    assert stop.returncode == 0 and "stopping" in stop.stdout
    assert cluster.wait_job("cli-stop")["status"] == "STOPPED"
    assert "STOPPED" in cluster.cli("job", "status", "cli-stop").stdout
    assert_one_line_error(cluster.cli("job", "delete", "--address", cluster.url, "nope"), "nope")


@pytest.mark.parametrize("command", [["status", "nope"], ["logs", "nope"],
                                     ["logs", "--follow", "nope"], ["stop", "nope"]])
def test_unknown_job_is_a_assert_one_line_error(cluster, command):
    assert_one_line_error(cluster.cli("job", *command), "nope", "does not exist")


def test_unreachable_dashboard_is_a_assert_one_line_error(cluster):
    assert_one_line_error(cluster.cli("job", "list", "--address", "http://127.0.0.1:1"),
                   "cannot reach")
    assert_one_line_error(cluster.cli("job", "submit", "--runtime-env-json", "[1]", "--", "true"),
                   "--runtime-env-json")
