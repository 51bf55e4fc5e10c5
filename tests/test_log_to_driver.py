"""Workers' output at the driver (Ray's log_to_driver): real driver processes
whose terminal output is read back — prefixes, stdout/stderr, order,
deduplication, log_to_driver=False, a worker that dies mid-line, a driver
joined to a running cluster and a worker on another node's IP."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from comet._private.log_streamer import LogDeduplicator, format_line

PREFIX = re.compile(r"^\((?P<name>[^ ]*) ?pid=(?P<pid>\d+)(?:, ip=(?P<ip>[\d.]+))?\) (?P<line>.*)$")


def run_driver(tmp_path: Path, body: str, env: dict[str, str] | None = None,
               init: str = "comet.init(num_cpus=2, _temp_dir=TEMP)") -> subprocess.CompletedProcess:
    """Runs `body` in a fresh driver process after `init`; returns its output."""
    script = tmp_path / "driver.py"
    script.write_text(textwrap.dedent("""\
        import os, sys, time
        import comet
        TEMP = {temp!r}
        {init}
    """).format(temp=str(tmp_path / "comet"), init=init) + textwrap.dedent(body))
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                            timeout=120, env={**os.environ, **(env or {})})
    assert result.returncode == 0, (result.stdout, result.stderr)
    return result


def worker_lines(text: str) -> list[dict[str, str]]:
    return [m.groupdict() for m in map(PREFIX.match, text.splitlines()) if m]


def test_task_and_actor_output_prints_at_the_driver_with_rays_prefix(tmp_path):
    """Ray: `(f pid=N) text` for a task, `(Actor pid=N)` for an actor, its
    repr() when the class defines __repr__; stdout to stdout, stderr to stderr."""
    result = run_driver(tmp_path, """
        @comet.remote
        def f(i):
            print("task line", i)
            print("task error", i, file=sys.stderr)
            return os.getpid()

        @comet.remote
        class Counter:
            def __init__(self):
                print("constructing")
            def hit(self):
                print("hit")
                return os.getpid()

        @comet.remote
        class Named:
            def __init__(self, tag):
                self.tag = tag
            def __repr__(self):
                return f"Named[{self.tag}]"
            def say(self):
                print("from named")
                return os.getpid()

        task_pid = comet.get(f.remote(1))
        counter = Counter.remote()
        actor_pid = comet.get(counter.hit.remote())
        named_pid = comet.get(Named.remote("x").say.remote())
        renamed = comet.get(f.options(name="custom").remote(2))
        print("PIDS", task_pid, actor_pid, named_pid, renamed)
    """, env={"COMET_DEDUP_LOGS": "0"})
    out, err = worker_lines(result.stdout), worker_lines(result.stderr)
    pids = result.stdout.split("PIDS ")[1].split("\n")[0].split()
    task_pid, actor_pid, named_pid, renamed_pid = pids
    assert {"name": "f", "pid": task_pid, "ip": None, "line": "task line 1"} in out
    assert {"name": "f", "pid": task_pid, "ip": None, "line": "task error 1"} in err
    assert {"name": "custom", "pid": renamed_pid, "ip": None, "line": "task line 2"} in out
    assert {"name": "Counter", "pid": actor_pid, "ip": None, "line": "constructing"} in out
    assert {"name": "Counter", "pid": actor_pid, "ip": None, "line": "hit"} in out
    assert {"name": "Named[x]", "pid": named_pid, "ip": None, "line": "from named"} in out
    # Nothing of stderr on stdout and back, and no marker lines.
    assert not any("error" in line["line"] for line in out)
    assert ":task_name:" not in result.stdout + result.stderr
    assert "\x1b[" not in result.stdout  # not a terminal: no colour
    # init()'s first words, as Ray's.
    assert re.search(r"\tINFO worker\.py:\d+ -- Started a local Comet instance\.", result.stderr)


def test_lines_stream_while_the_task_runs_and_keep_their_order(tmp_path):
    """Ray streams output as it is printed: the driver sees a running task's
    first line before the task ends, and one worker's lines in order."""
    result = run_driver(tmp_path, """
        import io
        seen = io.StringIO()
        class Tee:
            def write(self, text):
                seen.write(text)
                return sys.__stdout__.write(text)
            def flush(self):
                sys.__stdout__.flush()
            def isatty(self):
                return False
        sys.stdout = Tee()
        go = os.path.join(TEMP, "go")

        @comet.remote
        def slow():
            print("first")
            for _ in range(6000):
                if os.path.exists(go):
                    break
                time.sleep(0.01)
            for i in range(300):
                print("ordered", i)
            return True

        ref = slow.remote()
        deadline = time.monotonic() + 60
        while "first" not in seen.getvalue() and time.monotonic() < deadline:
            time.sleep(0.01)
        print("SAW_FIRST_WHILE_RUNNING", "first" in seen.getvalue() and
              not comet.wait([ref], timeout=0)[0])
        open(go, "w").close()
        assert comet.get(ref)
    """)
    assert "SAW_FIRST_WHILE_RUNNING True" in result.stdout
    numbers = [int(line["line"].split()[1]) for line in worker_lines(result.stdout)
               if line["line"].startswith("ordered")]
    assert numbers == list(range(300))


DEDUP_BODY = """
    @comet.remote
    class Speaker:
        def say(self, i):
            print(f"loading shard {i} of 3")
            print("unique to", os.getpid())
            return os.getpid()

    speakers = [Speaker.remote() for _ in range(3)]
    pids = comet.get([s.say.remote(i) for i, s in enumerate(speakers)])
    assert len(set(pids)) == 3
"""


def test_identical_lines_from_many_workers_print_once_with_a_count(tmp_path):
    """Ray's dedup: a line that several workers print (numbers aside) is
    printed once, then with `[repeated Nx across cluster]`."""
    # A long window, so that slow worker starts on a loaded machine still
    # fall in it; the held-back copies are summarised at shutdown.
    result = run_driver(tmp_path, DEDUP_BODY, env={"COMET_DEDUP_LOGS_AGG_WINDOW_S": "120"})
    lines = [line["line"] for line in worker_lines(result.stdout)]
    shards = [line for line in lines if line.startswith("loading shard")]
    assert len(shards) == 2, lines
    assert "[repeated" not in shards[0]
    assert shards[1].endswith("[repeated 2x across cluster] (Comet deduplicates logs by "
                              "default. Set COMET_DEDUP_LOGS=0 to disable log deduplication.)")
    # "unique to <pid>" differs only in digits: deduplicated too, as in Ray.
    assert sum(line.startswith("unique to") for line in lines) == 2


def test_dedup_can_be_turned_off(tmp_path):
    result = run_driver(tmp_path, DEDUP_BODY, env={"COMET_DEDUP_LOGS": "0"})
    lines = [line["line"] for line in worker_lines(result.stdout)]
    assert sorted(line for line in lines if line.startswith("loading shard")) == [
        f"loading shard {i} of 3" for i in range(3)]
    assert "repeated" not in result.stdout


def test_log_to_driver_false_prints_nothing_but_the_files_keep_it(tmp_path):
    """Ray: init(log_to_driver=False) keeps workers' output off the driver."""
    result = run_driver(tmp_path, """
        @comet.remote
        def f():
            print("quiet line")
            return 1
        assert comet.get(f.remote()) == 1
        print("SESSION", comet.get_runtime_context().gcs_address and
              os.path.realpath(os.path.join(TEMP, "session_latest")))
    """, init="comet.init(num_cpus=1, log_to_driver=False, configure_logging=False, "
              "_temp_dir=TEMP)")
    assert "quiet line" not in result.stdout + result.stderr
    assert "Started a local Comet instance" not in result.stderr  # configure_logging=False
    session = Path(result.stdout.split("SESSION ")[1].split()[0])
    assert any("quiet line" in p.read_text() for p in (session / "logs").glob("worker-*.out"))


def test_log_to_driver_must_be_a_bool():
    import comet

    with pytest.raises(TypeError, match="log_to_driver"):
        comet.init(log_to_driver="yes")


def test_a_worker_that_dies_mid_line_loses_nothing(tmp_path):
    """The unterminated last line of a worker that crashed still reaches
    the driver."""
    result = run_driver(tmp_path, """
        @comet.remote(max_retries=0)
        def crash():
            print("last words", end="")
            sys.stdout.flush()
            os._exit(1)
        try:
            comet.get(crash.remote())
        except comet.exceptions.WorkerCrashedError:
            print("CRASHED")
    """)
    assert "CRASHED" in result.stdout
    assert any(line["name"] == "crash" and line["line"] == "last words"
               for line in worker_lines(result.stdout))


def test_a_driver_joined_to_a_running_cluster_gets_its_workers_output(tmp_path, cluster):
    """Ray: drivers that connect with address=... see their tasks' output,
    including tasks on another node (named by its IP when it is not the
    driver's)."""
    cluster.start_head("--num-cpus", "1")
    other = cluster.add_node("--num-cpus", "1", "--node-ip-address", "127.0.0.2")
    result = run_driver(tmp_path, f"""
        from comet.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        @comet.remote
        def where():
            print("hello from", comet.get_runtime_context().get_node_id()[:8])
            return 1

        comet.get(where.remote())
        comet.get(where.options(scheduling_strategy=NodeAffinitySchedulingStrategy(
            {other!r}, soft=False)).remote())
    """, init=f"comet.init(address={cluster.gcs_address!r})")
    assert f"-- Connected to Comet cluster at {cluster.gcs_address}." in result.stderr
    lines = worker_lines(result.stdout)
    remote = [line for line in lines if line["line"] == f"hello from {other[:8]}"]
    assert remote and remote[0]["ip"] == "127.0.0.2", result.stdout
    assert any(line["ip"] is None and line["line"].startswith("hello from")
               and line["line"] != f"hello from {other[:8]}" for line in lines), result.stdout


# --- the deduplicator and the prefix, fed directly ---------------------------


def src(pid: int, is_err: bool = False, ip: str = "10.0.0.1", name: str = "f"):
    return (ip, pid, name, False, is_err)


def test_deduplicator_holds_other_workers_copies_until_the_window_ends():
    dedup = LogDeduplicator(window_s=5.0)
    assert dedup.feed(src(1), "step 1 done", 0.0) == [(src(1), "step 1 done", 0)]
    assert dedup.feed(src(1), "step 2 done", 0.5) == [(src(1), "step 2 done", 0)]  # same worker
    assert dedup.feed(src(2), "step 1 done", 1.0) == []
    assert dedup.feed(src(3), "step 9 done", 2.0) == []
    assert dedup.feed(src(2), "step 1 done", 1.0, ) == []
    assert dedup.next_expiry() == 5.0
    assert dedup.expire(4.9) == []
    assert dedup.expire(5.0) == [(src(2), "step 1 done", 3)]
    # A new window: the next worker to print it has it.
    assert dedup.feed(src(3), "step 3 done", 6.0) == [(src(3), "step 3 done", 0)]
    assert dedup.next_expiry() is None


def test_deduplicator_keeps_streams_apart_and_never_holds_number_lines():
    dedup = LogDeduplicator()
    dedup.feed(src(1), "warn", 0.0)
    assert dedup.feed(src(2, is_err=True), "warn", 0.1) == [(src(2, True), "warn", 0)]
    dedup.feed(src(1), "42", 0.0)
    assert dedup.feed(src(2), "43", 0.2) == [(src(2), "43", 0)]
    assert dedup.feed(src(3), "warn", 0.3) == []
    assert dedup.flush() == [(src(3), "warn", 1)]


def test_prefix_names_the_ip_only_for_other_hosts_and_colours_on_request():
    assert format_line(src(7), "hi", 0, "10.0.0.1", colour=False) == "(f pid=7) hi\n"
    assert format_line(src(7), "hi", 0, "10.0.0.9", colour=False) == \
        "(f pid=7, ip=10.0.0.1) hi\n"
    assert format_line(src(7, name=""), "boot", 0, "10.0.0.1", colour=False) == \
        "(pid=7) boot\n"
    assert format_line(src(7), "hi", 2, "10.0.0.1", colour=True) == \
        "\x1b[36m(f pid=7)\x1b[0m hi\x1b[32m [repeated 2x across cluster]\x1b[0m\n"
