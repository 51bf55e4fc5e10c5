"""Remote functions: what ``@comet.remote`` makes of a function."""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable

from comet._private import options as opts
from comet._private import runtime_env, serialization, worker_context
from comet._private.generator import ObjectRefGenerator
from comet._private.signature import ArgChecker, param_spec
from comet._private.task_args import build_args, placement_resources
from comet._private.worker import warn_if_infeasible


class RemoteFunction:
    """A function that runs as a Comet task: call ``f.remote(*args)``.

    ``f.options(**overrides)`` returns a copy with other options (resources,
    ``num_returns``, retries, scheduling strategy, ...). Calling ``f(...)``
    directly is an error, as in Ray.
    """

    def __init__(self, function: Callable[..., Any], options: dict[str, Any]) -> None:
        if not callable(function):
            raise TypeError(f"@remote expects a function or a class, got {type(function).__name__}")
        if inspect.iscoroutinefunction(function) or inspect.isasyncgenfunction(function):
            raise ValueError(
                f"'async def' should not be used for remote tasks ({function.__qualname__}): "
                f"call an async function inside a task with asyncio.run(), or make it a "
                f"method of an actor (async actors run it on their event loop)")
        self._function = function
        self._options = opts.validate_task_options(options)
        self._name = f"{function.__module__}.{getattr(function, '__qualname__', function.__name__)}"
        self._pickled: bytes | None = None
        self._function_id: bytes | None = None
        self._is_generator_fn = inspect.isgeneratorfunction(function)
        self._args = ArgChecker(getattr(function, "__qualname__", self._name),
                                param_spec(function))
        self._prepare()
        functools.update_wrapper(self, function)

    def _prepare(self) -> None:
        merged = opts.merge_options(opts.DEFAULT_TASK_OPTIONS, self._options)
        num_returns = merged.get("num_returns", 1)
        self._streaming = num_returns in ("streaming", "dynamic") or (
            self._is_generator_fn and "num_returns" not in self._options)
        self._dynamic = num_returns == "dynamic"
        self._num_returns = 0 if self._streaming else int(num_returns)
        self._resources = opts.resources_from_options(merged)
        self._max_retries = int(merged.get("max_retries", 3))
        retry = merged.get("retry_exceptions", False)
        self._retry_exceptions = bool(retry)
        self._retry_allowlist = (serialization.dumps_function(tuple(retry))
                                 if isinstance(retry, (list, tuple)) else b"")
        strategy = merged.get("scheduling_strategy")
        self._spread = strategy == "SPREAD"
        self._task_name = merged.get("name") or ""
        self._task_events = merged.get("enable_task_events", True)
        self._max_calls = int(merged.get("max_calls") or 0)
        backpressure = merged.get("_generator_backpressure_num_objects")
        self._backpressure = -1 if backpressure is None else int(backpressure)
        opts.check_dynamic_backpressure(num_returns, backpressure)
        self._merged = merged
        # Placement groups and node affinity rename the demand (checked now,
        # so a bad bundle index fails here).
        self._plain_strategy = (strategy in (None, "DEFAULT", "SPREAD")
                                and "placement_group" not in merged)
        if not self._plain_strategy:
            placement_resources(self._resources, merged)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(f"Remote functions cannot be called directly. Instead of running "
                        f"'{self._name}()', try '{self._name}.remote()'.")

    def options(self, **overrides: Any) -> RemoteFunction:
        """A copy of this remote function with some options changed."""
        validated = opts.validate_task_options(overrides)
        copy = object.__new__(RemoteFunction)
        copy.__dict__.update(self.__dict__)
        copy._options = opts.merge_options(self._options, validated)
        copy._prepare()
        return copy

    def _export(self, cw: Any) -> bytes:
        ctx = worker_context.get()
        if self._function_id is None:
            self._pickled = serialization.dumps_function(self._function)
            serialization.check_function_size("remote function", self._name, self._pickled)
            self._function_id = serialization.function_id(self._pickled)
        if self._function_id not in ctx.exported:
            cw.kv_put("fun", self._function_id, self._pickled, False)
            ctx.exported.add(self._function_id)
            ctx.functions.setdefault(self._function_id, self._function)
        return self._function_id

    def remote(self, *args: Any, **kwargs: Any) -> Any:
        """Submits the function as a task; returns ObjectRef(s) of its result."""
        self._args.check(args, kwargs)
        cw = worker_context.core_worker(auto_init=True)
        function_id = self._export(cw)
        task_args = build_args(args, kwargs)
        resources, placement = self._resources, None
        if not self._plain_strategy or worker_context.get().capturing_placement_group:
            resources, placement = placement_resources(self._resources, self._merged)
        elif resources:
            warn_if_infeasible(resources)
        task_id, refs = cw.submit_task(
            function_id, self._name, task_args, self._num_returns, resources,
            self._max_retries, self._retry_exceptions, self._spread, self._task_name,
            self._streaming, self._retry_allowlist, placement or None,
            runtime_env.for_submission(cw, self._options.get("runtime_env")),
            self._backpressure, self._dynamic, self._task_events, self._max_calls)
        if self._dynamic:
            return refs[0]
        if self._streaming:
            return ObjectRefGenerator(task_id)
        if self._num_returns == 1:
            return refs[0]
        if self._num_returns == 0:
            return None
        return refs

    def bind(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("Comet has no DAG API yet; use .remote()")
