"""JobSubmissionClient: Ray's job-submission SDK against a Comet dashboard.

Blocking methods use urllib; `tail_job_logs` is an async generator (aiohttp).
Every request carries the cluster token (``Authorization: Bearer``), found as
every Comet process finds it, unless the caller's ``headers`` bring their own
``Authorization``. A 401 raises AuthenticationError naming the token used and
where it was looked up; other HTTP errors raise RuntimeError with the server's
message; an unreachable dashboard raises ConnectionError.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, AsyncIterator

from comet._private import auth, session
from comet._private.session import DEFAULT_TEMP_DIR
from comet.exceptions import AuthenticationError
from comet.job_submission.common import JobInfo, JobStatus

DEFAULT_DASHBOARD_ADDRESS = "http://127.0.0.1:8265"


def resolve_dashboard_address(address: str | None = None) -> str:
    """The dashboard URL: `address`, else $COMET_DASHBOARD_ADDRESS, else the URL the
    newest session under $COMET_TEMP_DIR recorded, else http://127.0.0.1:8265."""
    address = address or os.environ.get("COMET_DASHBOARD_ADDRESS")
    if not address:
        temp_dir = os.environ.get("COMET_TEMP_DIR", DEFAULT_TEMP_DIR)
        info = session.read_info(os.path.join(temp_dir, session.LATEST))
        address = info.get("dashboard_url") or DEFAULT_DASHBOARD_ADDRESS
    if "://" not in address:
        address = "http://" + address
    return address.rstrip("/")


class JobSubmissionClient:
    """Submits and manages jobs through a Comet dashboard's job server.

    ``headers`` go with every request; an ``Authorization`` among them
    replaces the cluster token this process would otherwise send. Raises
    AuthenticationError when no token is found (and auth is not disabled)."""

    def __init__(self, address: str | None = None, timeout_s: float = 30.0,
                 headers: dict[str, str] | None = None) -> None:
        self.address = resolve_dashboard_address(address)
        self._timeout_s = timeout_s
        self._headers, self._credentials = _request_headers(headers)
        # HTTPS to a TLS cluster's dashboard trusts the cluster's CA (COMET_TLS_CA).
        self._ssl = auth.client_ssl_context() if self.address.startswith("https:") else None

    # -- Ray's API -----------------------------------------------------------------

    def submit_job(self, *, entrypoint: str, runtime_env: dict[str, Any] | None = None,
                   metadata: dict[str, str] | None = None, submission_id: str | None = None,
                   **unsupported: Any) -> str:
        """Submits a job; returns its submission id. A relative working_dir is made
        absolute here (the dashboard runs on this machine). Ray's other options
        (entrypoint_num_cpus, ...) raise TypeError unless None: the job server
        does not implement them."""
        runtime_env = _job_runtime_env("submit_job", runtime_env, unsupported)
        body: dict[str, Any] = {"entrypoint": entrypoint, "runtime_env": runtime_env,
                                "metadata": metadata or {}}
        if submission_id:
            body["submission_id"] = submission_id
        return self._request("POST", "/api/jobs/", body)["submission_id"]

    def get_job_info(self, job_id: str) -> JobInfo:
        return JobInfo.from_json(self._request("GET", f"/api/jobs/{job_id}"))

    def get_job_status(self, job_id: str) -> JobStatus:
        return self.get_job_info(job_id).status

    def list_jobs(self) -> list[JobInfo]:
        return [JobInfo.from_json(j) for j in self._request("GET", "/api/jobs/")]

    def get_job_logs(self, job_id: str) -> str:
        return self._request("GET", f"/api/jobs/{job_id}/logs")["logs"]

    def stop_job(self, job_id: str) -> bool:
        return bool(self._request("POST", f"/api/jobs/{job_id}/stop")["stopped"])

    def delete_job(self, job_id: str) -> bool:
        return bool(self._request("DELETE", f"/api/jobs/{job_id}")["deleted"])

    # -- schedules -----------------------------------------------------------------

    def create_schedule(self, name: str, cron: str, entrypoint: str, *,
                        timezone: str = "UTC", misfire_policy: str = "fire_once",
                        misfire_threshold_s: float = 60.0, max_catch_up: int = 10,
                        concurrency_policy: str = "allow",
                        start_deadline_s: float | None = None, jitter_s: float = 0.0,
                        runtime_env: dict[str, Any] | None = None,
                        metadata: dict[str, str] | None = None, paused: bool = False,
                        **unsupported: Any) -> dict[str, Any]:
        """Creates a schedule that submits `entrypoint` as a job at each time of
        `cron` (5 fields, or 6 with seconds first) in `timezone` (IANA).

        misfire_policy: what a run missed by more than misfire_threshold_s
        (the job server was down, the schedule paused) does: "fire_once" (one
        catch-up run), "skip", or "catch_up" (every missed time, oldest first,
        at most max_catch_up). concurrency_policy: when the previous run is
        still going, "allow" another, "forbid" (skip this one) or "replace"
        (stop it, then start). start_deadline_s: a run whose job has not
        started that long after its time is stopped and recorded as missed.
        jitter_s: each run starts up to that many seconds late (the same delay
        on every job server). Each scheduled time runs at most once, across
        restarts and job servers. Returns the schedule, with next_run_time.
        Bad input raises ValueError naming it. Ray's entrypoint resource
        options raise TypeError: entrypoints do not reserve resources here."""
        runtime_env = _job_runtime_env("create_schedule", runtime_env, unsupported)
        body = {"name": name, "cron": cron, "entrypoint": entrypoint, "timezone": timezone,
                "misfire_policy": misfire_policy, "misfire_threshold_s": misfire_threshold_s,
                "max_catch_up": max_catch_up, "concurrency_policy": concurrency_policy,
                "start_deadline_s": start_deadline_s, "jitter_s": jitter_s,
                "runtime_env": runtime_env, "metadata": metadata or {}, "paused": paused}
        return self._request("POST", "/api/schedules/", body, client_error=ValueError)

    def list_schedules(self) -> list[dict[str, Any]]:
        """Every schedule, by name, each with next_run_time (None while paused)."""
        return self._request("GET", "/api/schedules/")["schedules"]

    def get_schedule(self, name: str) -> dict[str, Any]:
        """The schedule, with next_run_time (epoch seconds; None while paused)."""
        return self._request("GET", f"/api/schedules/{_quote(name)}")

    def pause_schedule(self, name: str) -> dict[str, Any]:
        """Stops firing; the times that pass while paused never run."""
        return self._request("POST", f"/api/schedules/{_quote(name)}/pause")

    def resume_schedule(self, name: str) -> dict[str, Any]:
        return self._request("POST", f"/api/schedules/{_quote(name)}/resume")

    def delete_schedule(self, name: str) -> bool:
        """Removes the schedule and its run records (jobs it started stay)."""
        return bool(self._request("DELETE", f"/api/schedules/{_quote(name)}")["deleted"])

    def list_schedule_runs(self, name: str, limit: int = 100) -> list[dict[str, Any]]:
        """The schedule's runs, newest first: scheduled_time (and _iso), status
        (SUBMITTED, SKIPPED, MISSED, FAILED), submission_id, job_status, and
        the reason a run was skipped or missed."""
        return self._request("GET", f"/api/schedules/{_quote(name)}/runs?limit={int(limit)}")[
            "runs"]

    async def tail_job_logs(self, job_id: str) -> AsyncIterator[str]:
        """Yields the job's log as it is written, from the start, until the job ends."""
        import aiohttp

        timeout = aiohttp.ClientTimeout(total=None, sock_connect=self._timeout_s)
        async with aiohttp.ClientSession(timeout=timeout, headers=self._headers) as client:
            async with client.get(f"{self.address}/api/jobs/{job_id}/logs/tail",
                                  ssl=self._ssl or True) as resp:
                if resp.status == 401:
                    raise self._refused(await resp.read())
                if resp.status != 200:
                    raise RuntimeError(_error_message(resp.status, await resp.read()))
                decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
                async for chunk in resp.content.iter_any():
                    text = decoder.decode(chunk)
                    if text:
                        yield text
                rest = decoder.decode(b"", final=True)
                if rest:
                    yield rest

    # -- HTTP ----------------------------------------------------------------------

    def _request(self, method: str, path: str, body: Any = None,
                 client_error: type[Exception] = RuntimeError) -> Any:
        """`client_error` is raised for a 400 (the caller's input)."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.address + path, data=data, method=method,
                                     headers={**self._headers,
                                              "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=self._timeout_s, context=self._ssl) as resp:
                return json.loads(resp.read())
        except urllib.error.HTTPError as e:
            if e.code == 401:
                raise self._refused(e.read()) from None
            error = client_error if e.code == 400 else RuntimeError
            raise error(_error_message(e.code, e.read())) from None
        except urllib.error.URLError as e:
            raise ConnectionError(f"cannot reach the Comet dashboard at {self.address} "
                                  f"({e.reason}); is the cluster running (`comet start "
                                  "--head`)? --address/COMET_DASHBOARD_ADDRESS pick "
                                  "another") from None

    def _refused(self, body: bytes) -> AuthenticationError:
        from comet import _raylet

        return AuthenticationError(
            f"the Comet dashboard at {self.address} refused this client: "
            f"{_error_message(401, body)}. This client sent {self._credentials}; the "
            f"cluster token is looked up in {_raylet.token_lookup_order()} and must be "
            "the one of the user who started the head")


def _request_headers(headers: dict[str, str] | None) -> tuple[dict[str, str], str]:
    """(headers for every request, a description of the credentials in them)."""
    given = dict(headers or {})
    if any(k.lower() == "authorization" for k in given):
        return given, "the Authorization header passed in headers="
    creds = auth.load()
    if creds["mode"] == "disabled":
        return given, "no token (cluster auth is disabled here: COMET_AUTH_MODE=disabled)"
    fingerprint = hashlib.sha256(creds["token"].encode()).hexdigest()[:12]
    return ({"Authorization": f"Bearer {creds['token']}", **given},
            f"the cluster token from {creds['source']} (sha256 {fingerprint}...)")


def _job_runtime_env(what: str, runtime_env: dict[str, Any] | None,
                     unsupported: dict[str, Any]) -> dict[str, Any]:
    """The runtime_env to send, its working_dir made absolute (the dashboard
    runs on this machine); TypeError naming Ray's options that are given but
    not implemented by the job server."""
    given = sorted(k for k, v in unsupported.items() if v is not None)
    if given:
        raise TypeError(f"{what}: {', '.join(given)} not supported by Comet's job server")
    runtime_env = dict(runtime_env or {})
    if runtime_env.get("working_dir"):
        runtime_env["working_dir"] = os.path.abspath(runtime_env["working_dir"])
    return runtime_env


def _quote(name: str) -> str:
    return urllib.parse.quote(name, safe="")


def _error_message(status: int, body: bytes) -> str:
    try:
        return json.loads(body)["error"]
    except (ValueError, KeyError, TypeError):
        return f"HTTP {status}: {body.decode(errors='replace')[:200]}"

