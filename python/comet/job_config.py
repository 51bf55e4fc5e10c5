"""``comet.job_config.JobConfig``: settings of the job a driver starts, passed
as ``comet.init(job_config=...)``, as in Ray."""

from __future__ import annotations

from typing import Any

_LIFETIMES = ("detached", "non_detached")


class JobConfig:
    """What ``init(job_config=...)`` applies to this driver's job.

    ``ray_namespace``: the namespace of its named actors and placement groups
    (as ``init(namespace=...)``). ``default_actor_lifetime``: ``"detached"``
    or ``"non_detached"`` (the default), for actors that do not set
    ``lifetime``. ``runtime_env``: the job's, under ``init(runtime_env=...)``
    (see comet._private.runtime_env). ``metadata`` and ``code_search_path``
    are not supported yet: giving a non-empty one raises ValueError here
    rather than being dropped.
    """

    def __init__(self, jvm_options: list[str] | None = None,
                 code_search_path: list[str] | None = None,
                 runtime_env: dict[str, Any] | None = None,
                 _client_job: bool = False,
                 metadata: dict[str, str] | None = None,
                 ray_namespace: str | None = None,
                 default_actor_lifetime: str = "non_detached",
                 _py_driver_sys_path: list[str] | None = None) -> None:
        for name, value in (("jvm_options", jvm_options), ("code_search_path", code_search_path),
                            ("metadata", metadata),
                            ("_py_driver_sys_path", _py_driver_sys_path)):
            if value:
                raise ValueError(f"JobConfig({name}=...) is not supported by Comet yet")
        if ray_namespace is not None and not isinstance(ray_namespace, str):
            raise TypeError(f"JobConfig(ray_namespace=...) must be a string, "
                            f"got {type(ray_namespace).__name__}")
        if default_actor_lifetime not in _LIFETIMES:
            raise ValueError(f"JobConfig(default_actor_lifetime=...) must be one of "
                             f"{_LIFETIMES}, got {default_actor_lifetime!r}")
        self.ray_namespace = ray_namespace
        self.default_actor_lifetime = default_actor_lifetime
        from comet._private.runtime_env import validate

        self.runtime_env: dict[str, Any] = validate(runtime_env, "JobConfig.runtime_env") or {}
        self.metadata: dict[str, str] = {}

    def set_ray_namespace(self, ray_namespace: str) -> None:
        """Sets the job's namespace."""
        self.ray_namespace = ray_namespace

    def set_default_actor_lifetime(self, default_actor_lifetime: str) -> None:
        """Sets the lifetime of actors that do not set one."""
        if default_actor_lifetime not in _LIFETIMES:
            raise ValueError(f"default_actor_lifetime must be one of {_LIFETIMES}, "
                             f"got {default_actor_lifetime!r}")
        self.default_actor_lifetime = default_actor_lifetime

    def __repr__(self) -> str:
        return (f"JobConfig(ray_namespace={self.ray_namespace!r}, "
                f"default_actor_lifetime={self.default_actor_lifetime!r})")
