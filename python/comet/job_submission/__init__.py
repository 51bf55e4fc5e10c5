"""comet.job_submission: submit and manage jobs through the dashboard (Ray's
``ray.job_submission``)."""

from __future__ import annotations

from comet.job_submission.common import JobInfo, JobStatus
from comet.job_submission.sdk import JobSubmissionClient

JobDetails = JobInfo

__all__ = ["JobDetails", "JobInfo", "JobStatus", "JobSubmissionClient"]
