"""The job server's logic: submit, supervise, stop and delete jobs, and
recover them after a dashboard restart.

Thread model: confined to the dashboard's event loop; blocking work (GCS
calls, copying working dirs) runs on executors and is awaited. Every status
change is written to the GCS KV (see job_store.py) before it is reported.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import shutil
import signal
import time
from typing import Any

from comet._private import runtime_env
from comet._private.runtime_env import JOB_ENV_VARIABLE
from comet.dashboard.gcs import Gcs
from comet.dashboard.job_store import JobStore
from comet.dashboard.job_supervisor import UNKNOWN_EXIT, JobProcess, read_exit_code
from comet.job_submission.common import JobInfo, JobStatus, SubmitRequest

POLL_S = 0.2
# A driver's pid is seen only while it runs, so a young job's tree is listed
# often: a short driver can end within a few hundred milliseconds.
FAST_POLL_S = 0.03
FAST_POLL_FOR_S = 10.0
LINK_EVERY_S = 1.0
STOP_GRACE_S = 3.0

logger = logging.getLogger(__name__)


class JobNotFound(KeyError):
    pass


class JobManager:
    """Owns the submitted jobs of one dashboard and their monitor tasks."""

    def __init__(self, gcs: Gcs, session_dir: str) -> None:
        self._gcs = gcs
        self._store = JobStore(gcs.client)
        self._session_dir = session_dir
        self._jobs: dict[str, JobInfo] = {}
        self._procs: dict[str, JobProcess] = {}
        self._stop_requested: set[str] = set()
        self._tasks: set[asyncio.Task] = set()

    # -- queries -------------------------------------------------------------------

    def submitted(self) -> list[JobInfo]:
        return sorted(self._jobs.values(), key=lambda j: j.start_time or 0, reverse=True)

    def get(self, job_or_submission_id: str) -> JobInfo:
        info = self._jobs.get(job_or_submission_id)
        if info is None:
            info = next((j for j in self._jobs.values() if j.job_id == job_or_submission_id),
                        None)
        if info is None:
            raise JobNotFound(job_or_submission_id)
        return info

    def log_path(self, submission_id: str) -> str:
        return os.path.join(self._session_dir, "logs", f"job-driver-{submission_id}.log")

    # -- commands ------------------------------------------------------------------

    async def recover(self) -> None:
        """Loads the stored jobs; adopts the running ones whose process lives on and
        fails those whose process is gone."""
        for info in await self._gcs.call(self._store.load_all):
            self._jobs[info.submission_id] = info
            if info.status.is_terminal():
                continue
            proc = None
            if info.driver_pid is not None:
                proc = JobProcess.adopt(info.driver_pid, info.driver_create_time,
                                        self._exit_file(info.submission_id))
            if proc is not None:
                self._watch(info, proc)
                continue
            code = read_exit_code(self._exit_file(info.submission_id))
            if code is None:
                await self._finish(info, JobStatus.FAILED, None,
                                   "Job supervisor (dashboard) died and the job's process is "
                                   "gone; its outcome is unknown.")
            else:
                await self._finish_with_code(info, code, " (it ended while no dashboard "
                                                         "supervised it)")

    async def submit(self, req: SubmitRequest, gcs_address: str) -> JobInfo:
        """Starts a job; ValueError (a client error) for a used id or a bad working dir."""
        if req.submission_id in self._jobs or await self._gcs.call(
                self._store.get, req.submission_id):
            raise ValueError(f"submission_id {req.submission_id!r} is already used")
        info = JobInfo(submission_id=req.submission_id, entrypoint=req.entrypoint,
                       metadata=req.metadata, runtime_env=req.runtime_env,
                       start_time=_now_ms(), driver_log_path=self.log_path(req.submission_id))
        cwd = await self._prepare_working_dir(info)
        self._jobs[info.submission_id] = info
        await self._persist(info)
        env = _job_env(req.runtime_env.get("env_vars", {}), gcs_address, info.submission_id)
        if req.runtime_env:
            # The driver's init() lays it under its tasks' and actors' envs;
            # the working_dir it names is the driver's copy.
            job_env = dict(req.runtime_env)
            if job_env.get("working_dir"):
                job_env["working_dir"] = cwd
            env[JOB_ENV_VARIABLE] = json.dumps(job_env)
        if req.runtime_env.get("pip"):
            # As in Ray, the entrypoint runs in the job's env: PENDING until the
            # virtualenv is made (the job's workers here share it).
            info.message = "Setting up the job's runtime_env (pip)."
            await self._persist(info)
            self._spawn(self._start_in_virtualenv(info, cwd, env))
            return info
        await self._start(info, cwd, env)
        return info

    async def _start_in_virtualenv(self, info: JobInfo, cwd: str, env: dict[str, str]) -> None:
        try:
            venv = await asyncio.get_running_loop().run_in_executor(
                None, runtime_env.driver_virtualenv, info.runtime_env, self._session_dir)
        except Exception as e:  # noqa: BLE001 - the job's message carries it
            if not info.status.is_terminal():  # not stopped meanwhile
                await self._finish(info, JobStatus.FAILED, None,
                                   f"Job's runtime_env setup failed (RuntimeEnvSetupError): {e}")
            return
        if venv is not None:
            env = {**env, "VIRTUAL_ENV": venv,
                   "PATH": os.pathsep.join([os.path.join(venv, "bin"), env.get("PATH", "")])}
        await self._start(info, cwd, env)

    async def _start(self, info: JobInfo, cwd: str, env: dict[str, str]) -> None:
        """Starts the job's entrypoint and watches it (unless it was stopped first)."""
        if info.status.is_terminal():
            return
        try:
            proc = JobProcess.start(info.entrypoint, cwd, env, info.driver_log_path,
                                    self._exit_file(info.submission_id))
        except OSError as e:
            await self._finish(info, JobStatus.FAILED, None, f"Job failed to start: {e}")
            return
        info.driver_pid, info.driver_create_time = proc.pid, proc.create_time
        info.status, info.message = JobStatus.RUNNING, "Job is currently running."
        await self._persist(info)
        self._watch(info, proc)

    async def stop(self, job_id: str) -> bool:
        """Asks a running job to stop (SIGTERM, then SIGKILL); False if it had ended."""
        info = self.get(job_id)
        proc = self._procs.get(info.submission_id)
        if info.status.is_terminal():
            return False
        if proc is None:  # its runtime_env is being set up: it will not start
            await self._finish(info, JobStatus.STOPPED, None,
                               "Job was intentionally stopped before it started.")
            return True
        self._stop_requested.add(info.submission_id)
        proc.signal_group(signal.SIGTERM)
        self._spawn(self._kill_after_grace(info.submission_id, proc))
        return True

    async def delete(self, job_id: str) -> None:
        """Removes a finished job's record (its log file stays); ValueError if it runs."""
        info = self.get(job_id)
        if not info.status.is_terminal():
            raise ValueError(f"job {info.submission_id} is {info.status.value}; "
                             "stop it before deleting it")
        await self._gcs.call(self._store.delete, info.submission_id)
        del self._jobs[info.submission_id]

    async def shutdown(self) -> None:
        """Stops the jobs still running (the dashboard is going away) and waits a
        little for their statuses to be written."""
        running = [sid for sid, j in self._jobs.items() if not j.status.is_terminal()]
        for sid in running:
            await self.stop(sid)
        deadline = time.monotonic() + STOP_GRACE_S + 1
        while any(not self._jobs[s].status.is_terminal() for s in running if s in self._jobs):
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(POLL_S)
        for task in list(self._tasks):
            task.cancel()

    # -- supervision ---------------------------------------------------------------

    def _watch(self, info: JobInfo, proc: JobProcess) -> None:
        self._procs[info.submission_id] = proc
        self._spawn(self._monitor(info, proc))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _monitor(self, info: JobInfo, proc: JobProcess) -> None:
        seen: set[int] = set()  # every pid of the job's tree seen, to find its driver
        next_link = 0.0
        fast_until = time.monotonic() + FAST_POLL_FOR_S
        while (code := proc.poll()) is None:
            if info.job_id is None:
                seen |= proc.descendants()
                if time.monotonic() >= next_link:
                    next_link = time.monotonic() + LINK_EVERY_S
                    await self._link_driver(info, seen)
            await asyncio.sleep(FAST_POLL_S if time.monotonic() < fast_until else POLL_S)
        if info.job_id is None:
            await self._link_driver(info, seen | proc.descendants())
        self._procs.pop(info.submission_id, None)
        if info.submission_id in self._stop_requested:
            self._stop_requested.discard(info.submission_id)
            await self._finish(info, JobStatus.STOPPED, None if code == UNKNOWN_EXIT else code,
                               "Job was intentionally stopped.")
        else:
            await self._finish_with_code(info, code)

    async def _link_driver(self, info: JobInfo, pids: set[int]) -> None:
        """Records the GCS job id of the driver the job's command started."""
        try:
            jobs = await self._gcs.table("jobs")
        except RuntimeError as e:
            logger.warning("could not read the GCS job table: %s", e)
            return
        for row in jobs:
            if row.get("driver_pid") in pids:
                info.job_id = row.get("job_id")
                await self._persist(info)
                return

    async def _kill_after_grace(self, submission_id: str, proc: JobProcess) -> None:
        deadline = time.monotonic() + STOP_GRACE_S
        while time.monotonic() < deadline:
            if submission_id not in self._procs:
                return
            await asyncio.sleep(POLL_S)
        proc.signal_group(signal.SIGKILL)

    async def _finish_with_code(self, info: JobInfo, code: int, note: str = "") -> None:
        if code == 0:
            await self._finish(info, JobStatus.SUCCEEDED, 0, "Job finished successfully." + note)
        elif code == UNKNOWN_EXIT:
            await self._finish(info, JobStatus.FAILED, None,
                               "Job's process ended and its exit code is unknown." + note)
        else:
            await self._finish(info, JobStatus.FAILED, code,
                               f"Job entrypoint command failed with exit code {code}" + note
                               + f"; see its logs ({info.driver_log_path}).")

    async def _finish(self, info: JobInfo, status: JobStatus, code: int | None,
                      message: str) -> None:
        info.status, info.exit_code, info.message = status, code, message
        info.end_time = _now_ms()
        await self._persist(info)

    async def _persist(self, info: JobInfo) -> None:
        if info.submission_id not in self._jobs:
            return  # deleted meanwhile
        try:
            await self._gcs.call(self._store.put, dataclasses.replace(info))
        except RuntimeError as e:
            logger.warning("could not store job %s: %s", info.submission_id, e)

    async def _prepare_working_dir(self, info: JobInfo) -> str:
        src = info.runtime_env.get("working_dir")
        if not src:
            return self._session_dir
        if not os.path.isdir(src):
            raise ValueError(f"runtime_env.working_dir {src!r} is not a directory on the "
                             "dashboard's machine")
        dst = os.path.join(self._session_dir, "job_working_dirs", info.submission_id)
        await asyncio.get_running_loop().run_in_executor(
            None, lambda: shutil.copytree(src, dst, symlinks=True, dirs_exist_ok=True))
        return dst

    def _exit_file(self, submission_id: str) -> str:
        directory = os.path.join(self._session_dir, "job_exit_codes")
        os.makedirs(directory, exist_ok=True)
        return os.path.join(directory, submission_id)


def _job_env(env_vars: dict[str, str], gcs_address: str, submission_id: str) -> dict[str, str]:
    """The driver's environment: ours, the job's env_vars, the cluster address, and
    the comet package the dashboard runs on first on PYTHONPATH."""
    package_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = {**os.environ, **env_vars}
    paths = [package_root] + [os.path.abspath(p) for p in
                              env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env.update(COMET_ADDRESS=gcs_address, COMET_JOB_SUBMISSION_ID=submission_id,
               PYTHONUNBUFFERED="1", PYTHONPATH=os.pathsep.join(dict.fromkeys(paths)))
    return env


def _now_ms() -> int:
    return int(time.time() * 1000)
