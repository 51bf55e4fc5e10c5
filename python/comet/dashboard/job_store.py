"""Job records in the GCS KV (namespace "job", key "submission/<id>"), so that
jobs outlive the dashboard that supervised them. Blocking calls: the job
manager runs them on the GCS thread."""

from __future__ import annotations

import json
import logging
from typing import Any

from comet.job_submission.common import JobInfo

NAMESPACE = "job"
_PREFIX = b"submission/"

logger = logging.getLogger(__name__)


class JobStore:
    def __init__(self, state_client: Any) -> None:
        self._kv = state_client

    def put(self, info: JobInfo) -> None:
        self._kv.kv_put(NAMESPACE, _key(info.submission_id),
                        json.dumps(info.to_record()).encode(), True)

    def get(self, submission_id: str) -> JobInfo | None:
        data = self._kv.kv_get(NAMESPACE, _key(submission_id))
        return None if data is None else JobInfo.from_json(json.loads(data))

    def delete(self, submission_id: str) -> None:
        self._kv.kv_del(NAMESPACE, _key(submission_id), False)

    def load_all(self) -> list[JobInfo]:
        """Every stored job, newest first; a corrupt record is logged and skipped."""
        jobs = []
        for key in self._kv.kv_keys(NAMESPACE, _PREFIX):
            data = self._kv.kv_get(NAMESPACE, key)
            if data is None:
                continue
            try:
                jobs.append(JobInfo.from_json(json.loads(data)))
            except (ValueError, TypeError) as e:
                logger.warning("skipping the unreadable job record %r: %s", key, e)
        jobs.sort(key=lambda j: j.start_time or 0, reverse=True)
        return jobs


def _key(submission_id: str) -> bytes:
    return _PREFIX + submission_id.encode()
