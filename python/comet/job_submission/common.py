"""Job-submission types shared by the dashboard's job server and its clients:
the job status enum, the job record, and validation of a submit request."""

from __future__ import annotations

import dataclasses
import enum
import re
import secrets
from typing import Any

from comet._private.runtime_env import validate as validate_runtime_env


class JobStatus(str, enum.Enum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    STOPPED = "STOPPED"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"

    def __str__(self) -> str:
        return self.value

    def is_terminal(self) -> bool:
        return self in (JobStatus.STOPPED, JobStatus.SUCCEEDED, JobStatus.FAILED)


@dataclasses.dataclass
class JobInfo:
    """One submitted job, as the job server stores and reports it (times in ms)."""

    submission_id: str
    entrypoint: str
    status: JobStatus = JobStatus.PENDING
    message: str = "Job is waiting to start."
    job_id: str | None = None
    start_time: int | None = None
    end_time: int | None = None
    exit_code: int | None = None
    driver_pid: int | None = None
    driver_create_time: float | None = None  # psutil create_time, against pid reuse
    metadata: dict[str, str] = dataclasses.field(default_factory=dict)
    runtime_env: dict[str, Any] = dataclasses.field(default_factory=dict)
    driver_log_path: str = ""
    type: str = "SUBMISSION"

    def to_json(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["status"] = self.status.value
        del out["driver_create_time"]
        return out

    def to_record(self) -> dict[str, Any]:
        """What the job server persists (to_json plus supervisor bookkeeping)."""
        out = self.to_json()
        out["driver_create_time"] = self.driver_create_time
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> JobInfo:
        names = {f.name for f in dataclasses.fields(cls)}
        fields = {k: v for k, v in data.items() if k in names}
        fields["status"] = JobStatus(fields.get("status", "PENDING"))
        return cls(**fields)


_SUBMISSION_ID = re.compile(r"^[A-Za-z0-9_.\-]{1,128}$")
# Ray's submit fields that a single-machine job server accepts and ignores.
_IGNORED_FIELDS = {"entrypoint_num_cpus", "entrypoint_num_gpus", "entrypoint_memory",
                   "entrypoint_resources", "job_id"}
_FIELDS = {"entrypoint", "runtime_env", "metadata", "submission_id"}


@dataclasses.dataclass
class SubmitRequest:
    entrypoint: str
    submission_id: str
    runtime_env: dict[str, Any]
    metadata: dict[str, str]


def new_submission_id() -> str:
    return f"cometsubmit_{secrets.token_hex(8)}"


def parse_submit_request(body: Any) -> SubmitRequest:
    """Validates a POST /api/jobs/ body; ValueError with a message when it is bad."""
    if not isinstance(body, dict):
        raise ValueError("the request body must be a JSON object")
    unknown = set(body) - _FIELDS - _IGNORED_FIELDS
    if unknown:
        raise ValueError(f"unknown fields: {sorted(unknown)}")
    entrypoint = body.get("entrypoint")
    if not isinstance(entrypoint, str) or not entrypoint.strip():
        raise ValueError("'entrypoint' must be a non-empty string")
    submission_id = body.get("submission_id") or new_submission_id()
    if not isinstance(submission_id, str) or not _SUBMISSION_ID.match(submission_id):
        raise ValueError("'submission_id' must be 1-128 characters of [A-Za-z0-9_.-]")
    runtime_env = body.get("runtime_env") or {}
    if not isinstance(runtime_env, dict):
        raise ValueError("'runtime_env' must be an object")
    try:
        runtime_env = validate_runtime_env(runtime_env, "runtime_env") or {}
    except TypeError as e:
        raise ValueError(str(e)) from None
    if runtime_env.get("py_modules") and not all(
            isinstance(m, str) for m in runtime_env["py_modules"]):
        raise ValueError("'runtime_env.py_modules' must be a list of paths")
    metadata = body.get("metadata") or {}
    if not _is_str_map(metadata):
        raise ValueError("'metadata' must map strings to strings")
    return SubmitRequest(entrypoint, submission_id, dict(runtime_env), dict(metadata))


def _is_str_map(value: Any) -> bool:
    return isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items())
