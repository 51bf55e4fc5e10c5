"""A joblib backend that runs ``joblib.Parallel`` work as Comet tasks, as
Ray's ``ray.util.joblib`` does::

    import joblib
    from comet.util.joblib import register_comet

    register_comet()
    with joblib.parallel_backend("comet"):
        print(joblib.Parallel(n_jobs=4)(joblib.delayed(abs)(-i) for i in range(8)))

``register_ray()`` registers the same backend under the name ``"ray"``, so
code written for Ray runs unchanged. joblib itself is not a dependency of
Comet: install it to use this module.
"""

from __future__ import annotations

from typing import Any

from joblib._parallel_backends import MultiprocessingBackend
from joblib.parallel import register_parallel_backend

import comet
from comet.util.multiprocessing import Pool


class CometBackend(MultiprocessingBackend):
    """joblib's pool backend over :class:`comet.util.multiprocessing.Pool`.

    ``n_jobs=-1`` uses every CPU of the cluster (``-2`` all but one, as joblib
    counts); ``ray_remote_args`` are the chunk tasks' options.
    """

    def __init__(self, nesting_level: int | None = None,
                 inner_max_num_threads: int | None = None,
                 ray_remote_args: dict[str, Any] | None = None, **kwargs: Any) -> None:
        self._remote_args = dict(ray_remote_args or {})
        super().__init__(nesting_level=nesting_level,
                         inner_max_num_threads=inner_max_num_threads, **kwargs)

    def effective_n_jobs(self, n_jobs: int | None) -> int:
        if n_jobs == 0:
            raise ValueError("n_jobs == 0 in Parallel has no meaning")
        if n_jobs is None:
            return 1
        if n_jobs < 0:
            cpus = int(comet.cluster_resources().get("CPU", 1))
            return max(cpus + 1 + n_jobs, 1)
        return n_jobs

    def configure(self, n_jobs: int = 1, parallel: Any = None, prefer: Any = None,
                  require: Any = None, **pool_kwargs: Any) -> int:
        n_jobs = self.effective_n_jobs(n_jobs)
        self._pool = Pool(processes=n_jobs, ray_remote_args=self._remote_args or None)
        self.parallel = parallel
        return n_jobs


def register_comet() -> None:
    """Makes ``joblib.parallel_backend("comet")`` run work on Comet."""
    register_parallel_backend("comet", CometBackend)


def register_ray() -> None:
    """Ray's name: makes ``joblib.parallel_backend("ray")`` run work on Comet."""
    register_parallel_backend("ray", CometBackend)


__all__ = ["CometBackend", "register_comet", "register_ray"]
