"""runtime_env as Ray applies it: env_vars, working_dir, py_modules and
excludes on init(), JobConfig, decorators and .options(), merged job first;
workers pooled per env; setup failures as RuntimeEnvSetupError; unsupported
fields refused at the call site."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import comet
from comet.job_config import JobConfig
from conftest import wait_for_condition


@pytest.fixture
def project(tmp_path):
    """A working dir with a module, a data file and a big file to exclude,
    and a package and a single-file module for py_modules."""
    wd = tmp_path / "project"
    (wd / "build").mkdir(parents=True)
    (wd / "helper.py").write_text("VALUE = 42\n")
    (wd / "data.txt").write_text("payload\n")
    (wd / "build" / "huge.bin").write_bytes(b"x" * 1000)
    (wd / "notes.log").write_text("left out\n")
    pkg = tmp_path / "mods" / "shippedpkg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("def hello():\n    return 'hello from shippedpkg'\n")
    single = tmp_path / "mods" / "lonemodule.py"
    single.write_text("ANSWER = 7\n")
    return {"wd": wd, "pkg": pkg, "single": single}


def test_env_vars_merge_job_first_and_reach_nested_tasks(comet_start):
    """Ray: the job's env_vars apply to every task; a task's own env_vars
    are merged over them; a task submitted by a task inherits its env."""
    comet_start(num_cpus=2, runtime_env={"env_vars": {"JOB_VAR": "job", "SHARED": "job"}})

    @comet.remote
    def read(*names):
        return [os.environ.get(n) for n in names]

    @comet.remote
    def parent():
        return comet.get(read.remote("JOB_VAR", "SHARED", "TASK_VAR"))

    assert comet.get(read.remote("JOB_VAR", "SHARED")) == ["job", "job"]
    own = read.options(runtime_env={"env_vars": {"SHARED": "task", "TASK_VAR": "t"}})
    assert comet.get(own.remote("JOB_VAR", "SHARED", "TASK_VAR")) == ["job", "task", "t"]
    nested = parent.options(runtime_env={"env_vars": {"TASK_VAR": "from parent"}})
    assert comet.get(nested.remote()) == ["job", "job", "from parent"]


def test_workers_are_pooled_per_runtime_env(comet_start):
    """Ray: tasks with different runtime_envs never share a worker process."""
    comet_start(num_cpus=1)

    @comet.remote
    def pid():
        return os.getpid(), os.environ.get("FLAVOUR")

    plain = {comet.get(pid.remote()) for _ in range(3)}
    sour = {comet.get(pid.options(runtime_env={"env_vars": {"FLAVOUR": "sour"}}).remote())
            for _ in range(3)}
    assert len(plain) == 1 and len(sour) == 1, (plain, sour)
    (plain_pid, plain_flavour), (sour_pid, sour_flavour) = plain.pop(), sour.pop()
    assert plain_pid != sour_pid
    assert (plain_flavour, sour_flavour) == (None, "sour")


def test_working_dir_and_py_modules_are_shipped_and_importable(comet_start, project):
    """Ray: the worker runs in a copy of working_dir (cwd and sys.path) with
    py_modules importable; excludes leave files out."""
    comet_start(num_cpus=2)
    env = {"working_dir": str(project["wd"]), "excludes": ["build/", "*.log"],
           "py_modules": [str(project["pkg"]), str(project["single"])]}

    @comet.remote(runtime_env=env)
    def look():
        import helper
        import lonemodule
        import shippedpkg
        return (helper.VALUE, open("data.txt").read().strip(), shippedpkg.hello(),
                lonemodule.ANSWER, sorted(os.listdir(".")), os.getcwd())

    value, data, hello, answer, listing, cwd = comet.get(look.remote())
    assert (value, data, hello, answer) == (42, "payload", "hello from shippedpkg", 7)
    assert listing == ["data.txt", "helper.py"]
    assert cwd != str(project["wd"]) and "runtime_resources" in cwd

    @comet.remote(runtime_env={"working_dir": str(project["wd"])})
    class Reader:
        def value(self):
            import helper
            return helper.VALUE

    assert comet.get(Reader.remote().value.remote()) == 42


def test_job_config_runtime_env_applies_to_the_jobs_tasks(comet_start, project):
    comet_start(num_cpus=1, job_config=JobConfig(
        runtime_env={"working_dir": str(project["wd"]), "env_vars": {"FROM_JOB": "yes"}}))

    @comet.remote
    def f():
        import helper
        return helper.VALUE, os.environ["FROM_JOB"]

    assert comet.get(f.remote()) == (42, "yes")


def test_a_failed_setup_fails_the_task_with_runtime_env_setup_error(comet_start):
    """Ray: a runtime_env that cannot be set up fails the task with
    RuntimeEnvSetupError carrying what went wrong, and an actor dies; other
    work is unaffected."""
    comet_start(num_cpus=1)
    missing = {"py_modules": ["kv://00000000000000000000000000000000.zip"]}

    @comet.remote
    def f():
        return "ran"

    with pytest.raises(comet.exceptions.RuntimeEnvSetupError, match="not in the cluster's KV"):
        comet.get(f.options(runtime_env=missing).remote(), timeout=60)
    assert comet.get(f.remote()) == "ran"

    @comet.remote(runtime_env=missing)
    class Broken:
        def ping(self):
            return 1

    with pytest.raises(comet.exceptions.ActorDiedError, match="runtime_env could not be set up"):
        comet.get(Broken.remote().ping.remote(), timeout=60)


def make_wheel(folder, name: str, version: str, body: str):
    """A pure-Python wheel of one module, built by hand (no network, no build
    backend): what pip installs offline from a local path."""
    import base64
    import hashlib
    import zipfile

    dist = f"{name}-{version}.dist-info"
    files = {f"{name}.py": body,
             f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
             f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: comet-tests\n"
                              "Root-Is-Purelib: true\nTag: py3-none-any\n"}
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record.append(f"{path},sha256={digest.decode()},{len(text.encode())}")
    record.append(f"{dist}/RECORD,,")
    wheel = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
        archive.writestr(f"{dist}/RECORD", "\n".join(record) + "\n")
    return wheel


def test_pip_packages_install_into_a_cached_virtualenv(comet_start, tmp_path):
    """Ray: runtime_env pip installs the packages for the task's workers
    only, in an env that still sees the node's packages; the env is made
    once per spec and reused."""
    wheel = make_wheel(tmp_path, "cometpiptest", "1.0", "GREETING = 'installed by pip'\n")
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(f"# a comment\n{wheel}\n")
    comet_start(num_cpus=1)

    @comet.remote
    def probe():
        import sys

        try:
            import cometpiptest
        except ImportError:
            return None, sys.prefix, os.getpid()
        import numpy  # a package of the node, still visible
        return cometpiptest.GREETING, sys.prefix, os.getpid()

    assert comet.get(probe.remote())[0] is None  # only that env has it
    with_pip = probe.options(runtime_env={"pip": [str(wheel)]})
    greeting, prefix, pid = comet.get(with_pip.remote())
    assert greeting == "installed by pip"
    assert "runtime_resources/pip/" in prefix
    # Reused: the same env, the same worker; a requirements file with the
    # same packages makes the same env.
    assert comet.get(with_pip.remote()) == (greeting, prefix, pid)
    from_file = probe.options(runtime_env={"pip": {"packages": str(requirements),
                                                   "pip_check": False}})
    assert comet.get(from_file.remote())[:2] == (greeting, prefix)
    venvs = list(Path(prefix).parent.iterdir())
    assert len([v for v in venvs if v.is_dir()]) == 1, venvs


def test_a_failing_pip_spec_raises_runtime_env_setup_error_with_pips_output(
        comet_start, tmp_path):
    comet_start(num_cpus=1)

    @comet.remote(runtime_env={"pip": [str(tmp_path / "no-such-package-1.0-py3-none-any.whl")]})
    def f():
        return 1

    with pytest.raises(comet.exceptions.RuntimeEnvSetupError) as info:
        comet.get(f.remote(), timeout=120)
    assert "pip install failed" in str(info.value)
    assert "no-such-package-1.0-py3-none-any.whl" in str(info.value)  # pip's own words


def _ready_pip_envs(session_dir: str) -> list[Path]:
    return list((Path(session_dir) / "runtime_resources" / "pip").glob("*/.comet_ready"))


def test_eager_install_sets_the_jobs_env_up_before_its_first_task(comet_start, tmp_path):
    """Ray's default eager_install=True: init() returns at once and the job's
    pip env is made on every node before any task of the job asks for it;
    the worker that made it serves the job's first task."""
    from comet._private import worker_context
    from comet.util import state

    wheel = make_wheel(tmp_path, "cometeagertest", "1.0", "WHERE = 'eager'\n")
    comet_start(num_cpus=1, runtime_env={"pip": [str(wheel)]})
    session_dir = worker_context.get().session_dir
    assert wait_for_condition(lambda: _ready_pip_envs(session_dir), timeout=120)

    def eager_tasks():
        return [t for t in state.list_tasks()
                if t["name"] == "comet.eager_install" and t["state"] == "FINISHED"
                and t["worker_pid"]]  # the executor's event comes on its own

    assert wait_for_condition(eager_tasks, timeout=30)
    eager = eager_tasks()

    @comet.remote
    def probe():
        import cometeagertest
        return cometeagertest.WHERE, os.getpid()

    assert comet.get(probe.remote(), timeout=60) == ("eager", eager[0]["worker_pid"])


def test_eager_install_false_waits_for_the_first_task(comet_start, tmp_path):
    from comet._private import worker_context
    from comet.util import state

    wheel = make_wheel(tmp_path, "cometlazytest", "1.0", "WHERE = 'lazy'\n")
    comet_start(num_cpus=1, runtime_env={"pip": [str(wheel)],
                                         "config": {"eager_install": False}})
    session_dir = worker_context.get().session_dir

    @comet.remote
    def plain():
        return 1

    assert not _ready_pip_envs(session_dir)
    assert comet.get(plain.remote(), timeout=120) == 1  # made by the job's first task
    assert _ready_pip_envs(session_dir)
    # Task events reach the GCS in order: once the task's is there, an eager
    # task sent at init() would be too.
    assert wait_for_condition(lambda: any(t["name"].endswith(".plain")
                                          for t in state.list_tasks()))
    names = [t["name"] for t in state.list_tasks()]
    assert "comet.eager_install" not in names, names


def test_eager_install_failure_is_logged_at_the_driver(comet_start, tmp_path, caplog):
    import logging

    caplog.set_level(logging.WARNING, logger="comet")
    comet_start(num_cpus=1, runtime_env={"pip": [str(tmp_path / "absent-9.9-py3-none-any.whl")]})
    assert wait_for_condition(lambda: any("eager_install" in r.getMessage()
                                          for r in caplog.records), timeout=120)
    message = next(r.getMessage() for r in caplog.records if "eager_install" in r.getMessage())
    assert "pip install failed" in message and "absent-9.9-py3-none-any.whl" in message


@pytest.mark.parametrize("env, match", [
    ({"pip": 3}, "'pip'"),
    ({"pip": {"packages": ["x"], "pip_version": "==23"}}, "pip_version"),
    ({"uv": ["x"]}, "'uv' is not supported"),
    ({"conda": "myenv"}, "'conda' is not supported"),
    ({"container": {"image": "x"}}, "'container' is not supported"),
    ({"not_a_field": 1}, "Unknown runtime_env field 'not_a_field'"),
    ({"env_vars": {"A": 1}}, "env_vars"),
    ({"config": {"setup_timeout_seconds": 0}}, "setup_timeout_seconds"),
    ({"config": {"bogus": 1}}, "Unknown runtime_env config field 'bogus'"),
    ({"config": {"eager_install": "yes"}}, "eager_install"),
])
def test_unsupported_or_bad_fields_fail_at_the_call_site(env, match):
    @comet.remote
    def f():
        return 1

    with pytest.raises(ValueError, match=match):
        f.options(runtime_env=env)
    with pytest.raises(ValueError, match=match):
        comet.init(runtime_env=env)
    assert not comet.is_initialized()


def test_missing_or_oversized_folders_fail_at_remote(comet_start, project, tmp_path):
    comet_start(num_cpus=1, _system_config={"runtime_env_max_package_bytes": 500})

    @comet.remote
    def f():
        return 1

    with pytest.raises(ValueError, match="does not exist"):
        f.options(runtime_env={"working_dir": str(tmp_path / "nowhere")}).remote()
    with pytest.raises(ValueError, match="larger than"):
        f.options(runtime_env={"working_dir": str(project["wd"])}).remote()
    # Left out, the big file no longer counts.
    small = f.options(runtime_env={"working_dir": str(project["wd"]),
                                   "excludes": ["build"]})
    assert comet.get(small.remote()) == 1
