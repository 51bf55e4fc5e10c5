"""Running tasks in a worker process: load the function, resolve the
arguments, call it, store the returns, report the result."""

from __future__ import annotations

import asyncio
import ctypes
import functools
import inspect
import os
import sys
import threading
from typing import Any

from comet import exceptions
from comet._private import placement, serialization, worker_context
from comet._private.generator import DynamicObjectRefGenerator
from comet._private.worker import (
    KWARGS_METADATA,
    is_error_value,
    store_value,
    value_of,
)


class _ArgumentError(Exception):
    """An argument is an error value: the task fails with it unchanged."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


def _load_function(cw: Any, function_id: bytes) -> Any:
    ctx = worker_context.get()
    fn = ctx.functions.get(function_id)
    if fn is None:
        pickled = cw.kv_get("fun", function_id)
        if pickled is None:
            raise exceptions.RaySystemError(f"function {function_id.hex()} was never exported")
        fn = serialization.loads_function(pickled)
        ctx.functions[function_id] = fn
    return fn


def _resolve_args(cw: Any, raw: list[tuple]) -> tuple[list[Any], dict[str, Any]]:
    refs = [item[1] for item in raw if item[0] == "ref"]
    fetched = iter(cw.get_objects(refs, -1.0) if refs else [])
    values: list[Any] = []
    kwargs_keys: tuple = ()
    for kind, a, b in (item if len(item) == 3 else (*item, None) for item in raw):
        if kind == "ref":
            value = value_of(*next(fetched))
        elif bytes(b).startswith(KWARGS_METADATA):
            kwargs_keys = serialization.deserialize(a, bytes(b)[len(KWARGS_METADATA):])
            continue
        else:
            value = value_of(a, b)
        if is_error_value(value):
            raise _ArgumentError(value)
        values.append(value)
    if kwargs_keys:
        n = len(kwargs_keys)
        return values[:-n], dict(zip(kwargs_keys, values[-n:]))
    return values, {}


def _should_retry(task: Any, error: BaseException) -> bool:
    if not task.retry_exceptions:
        return False
    allow = task.retry_exception_allowlist
    if not allow:
        return True
    classes = serialization.loads_function(allow)
    return isinstance(error, tuple(classes))


#: How much of a failed task's error text its task event keeps (the end, where
#: the exception's own line is).
TASK_EVENT_ERROR_CHARS = 8000


def _wrapped_error(task: Any, error: BaseException) -> BaseException:
    """What the task's callers get: Comet's own errors as they are, anything
    else as a RayTaskError with the traceback."""
    if isinstance(error, exceptions.RayError) and not isinstance(error, exceptions.RayTaskError):
        return error
    return exceptions.RayTaskError.from_exception(
        error, task.function_name, ip=worker_context.get().node_ip)


def _event_error(wrapped: BaseException) -> str:
    """A failed task's error for its task event, as Ray's error_message: where it
    ran and the traceback, ending with the exception's own line."""
    text = str(wrapped) if isinstance(wrapped, exceptions.RayTaskError) else (
        f"{type(wrapped).__name__}: {wrapped}")
    return text if len(text) <= TASK_EVENT_ERROR_CHARS else "…" + text[-TASK_EVENT_ERROR_CHARS:]


def _error_result(wrapped: BaseException) -> tuple:
    ser = serialization.serialize_error(wrapped)
    data = ser.to_bytes()
    return (ser.metadata, data, len(data))


def _store_returns(task: Any, result: Any) -> list[tuple]:
    ids = task.return_ids()
    n = task.num_returns
    if n == 0:
        return []
    if n == 1:
        values = [result]
    else:
        try:
            values = list(result)
        except TypeError:
            raise ValueError(f"task {task.function_name} declared num_returns={n} but returned "
                             f"a non-iterable {type(result).__name__}") from None
        if len(values) != n:
            raise ValueError(f"task {task.function_name} declared num_returns={n} but returned "
                             f"{len(values)} values")
    return [store_value(v, object_id=oid) for oid, v in zip(ids, values)]


def _run_generator(cw: Any, task: Any, gen: Any) -> int:
    """Reports each item of a generator task's (or method's) generator, or of
    an async generator run off its actor's event loop; returns how many."""
    if inspect.isasyncgen(gen):
        gen = _iterate_on_actor_loop(gen)
    index = 0
    try:
        for item in gen:
            _report_item(cw, task, index, item)
            index += 1
    except KeyboardInterrupt:
        if not _was_cancelled(task):
            raise
        # cancel(): the stream ends with the cancellation. The interrupt may
        # have struck between a report and `index += 1`: the core counts.
        index = task.num_streamed
        _report_item(cw, task, index, error=exceptions.TaskCancelledError(task.task_id.hex()))
        index += 1
    except Exception as error:  # noqa: BLE001 - the error is the stream's last item
        _report_item(cw, task, index, error=error)
        index += 1
    return index


async def _run_async_generator(cw: Any, task: Any, agen: Any) -> int:
    """An async actor's async generator method, on its event loop: each
    report (which can wait for the caller to catch up) runs on a thread of
    the loop's executor, so other calls go on meanwhile."""
    loop = asyncio.get_running_loop()
    index = 0
    try:
        async for item in agen:
            await loop.run_in_executor(None, _report_item, cw, task, index, item)
            index += 1
    except (Exception, asyncio.CancelledError) as error:  # the stream's last item
        if isinstance(error, asyncio.CancelledError):
            if task.task_id not in worker_context.get().cancelled_calls:
                raise
            error = exceptions.TaskCancelledError(task.task_id.hex())
        await loop.run_in_executor(None, functools.partial(_report_item, cw, task, index,
                                                           error=error))
        index += 1
    return index


def _report_item(cw: Any, task: Any, index: int, item: Any = None,
                 error: BaseException | None = None) -> None:
    oid = cw.generator_item_id(task.task_id, index)
    value = (_error_result(_wrapped_error(task, error)) if error is not None
             else store_value(item, object_id=oid))
    cw.report_generator_item(task, index, oid, value)


def _iterate_on_actor_loop(agen: Any) -> Any:
    """Steps an async generator from a thread that is not its loop's."""
    while True:
        try:
            yield _run_coroutine(agen.__anext__())
        except StopAsyncIteration:
            return


NORMAL_TASK, ACTOR_CREATION_TASK, ACTOR_TASK = 0, 1, 2


def _callable_for(cw: Any, task: Any) -> tuple[Any, str]:
    """The function to run for a task, and its name for error messages."""
    ctx = worker_context.get()
    if task.task_type == ACTOR_TASK:
        instance = ctx.actor_instance
        if instance is None:
            raise exceptions.RaySystemError("actor task sent to a worker that holds no actor")
        if task.method_name == "__comet_terminate__":
            return _terminate, "__comet_terminate__"
        if task.method_name == "__ray_ready__":
            return (lambda: True), "__ray_ready__"
        if task.method_name == "__ray_call__":
            return (lambda fn, *a, **kw: fn(instance, *a, **kw)), "__ray_call__"
        return getattr(instance, task.method_name), f"{type(instance).__name__}.{task.method_name}"
    return _load_function(cw, task.function_id), task.function_name


def _terminate() -> None:
    """Graceful exit: the calls made before this one have run (calls run in
    order); later ones are refused and fail with ActorDiedError."""
    ctx = worker_context.get()
    cw = worker_context.core_worker()
    cw.kill_actor(ctx.actor_id, False, True)
    cw.stop_receiving()


def _announce(marker: str) -> None:
    """Writes a marker line to this worker's stdout and stderr files: the
    raylet's log monitor names the lines that follow with it when it
    streams them to the driver (see src/comet/raylet/worker_log_parser.h)."""
    data = marker.replace("\n", " ").encode("utf-8", "replace") + b"\n"
    for stream, fd in ((sys.__stdout__, 1), (sys.__stderr__, 2)):
        try:
            if stream is not None:
                stream.flush()  # what the task printed before keeps its name
            os.write(fd, data)
        except (OSError, ValueError):
            pass


def _announce_task(ctx: worker_context.WorkerContext, task: Any) -> None:
    key = (task.function_name, task.name)
    if key != ctx.announced_task:
        ctx.announced_task = key
        _announce(":task_name:" + (key[1] or key[0].rsplit(".", 1)[-1]))


def _announce_actor(instance_or_class: Any) -> None:
    """Ray names an actor's lines by its class, or by its repr() when the
    class defines __repr__."""
    if isinstance(instance_or_class, type):
        name = instance_or_class.__qualname__
    else:
        try:
            name = repr(instance_or_class)
        except Exception:  # noqa: BLE001 - a broken __repr__ keeps the class name
            return
    _announce(":actor_name:" + name)


def _begin(task: Any) -> None:
    ctx = worker_context.get()
    if ctx.mode == "worker" and task.task_type == NORMAL_TASK:
        _announce_task(ctx, task)
    local = ctx.local.begin()
    local.task = task  # names and resources are read from it when asked (runtime context)
    if task.task_type == ACTOR_TASK:
        # Method calls run on the GPUs of the actor's lease (its creation's).
        local.gpu_ids = ctx.actor_gpu_ids
    else:
        local.resource_ids = task.resource_ids()
        local.gpu_ids = local.resource_ids.get("GPU", [])
        local.task_resources = placement.unrenamed(task.required_resources)
        if task.task_type == ACTOR_CREATION_TASK:
            ctx.actor_gpu_ids = local.gpu_ids
            ctx.actor_resources = local.task_resources
            ctx.actor_resource_ids = local.resource_ids
        _set_omp_threads(local.task_resources.get("CPU", 0.0))
    if local.gpu_ids:
        os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(str(i) for i in local.gpu_ids)
    local.task_id = task.task_id
    local.placement_group_id = task.placement_group_id or None
    local.placement_group_capture_child_tasks = task.placement_group_capture_child_tasks
    if local.placement_group_capture_child_tasks:
        ctx.capturing_placement_group = True
    ctx.running_task_id = task.task_id


def task_names(task: Any) -> tuple[str, str]:
    """(name, function name) of a running task, as Ray's runtime context gives
    them: ``f`` / ``mod.f``, ``Actor.method`` / ``mod.Actor.method``,
    ``Actor.__init__`` / ``mod.Actor.__init__``; ``options(name=...)`` wins
    for the name."""
    if task.task_type == ACTOR_TASK:
        cls = type(worker_context.get().actor_instance)
        return (task.name or f"{cls.__qualname__}.{task.method_name}",
                f"{cls.__module__}.{cls.__qualname__}.{task.method_name}")
    qualname = task.function_name.rsplit(".", 1)[-1]
    if task.task_type == ACTOR_CREATION_TASK:
        return task.name or f"{qualname}.__init__", f"{task.function_name}.__init__"
    return task.name or qualname, task.function_name


def held_resources() -> tuple[dict[str, float], dict[str, list[int]]]:
    """(quantities, instance ids) of what the running task holds: an actor's
    methods hold what its creation asked for."""
    ctx = worker_context.get()
    task = getattr(ctx.local, "task", None)
    if task is None:
        return {}, {}
    if task.task_type == ACTOR_TASK:
        return ctx.actor_resources, ctx.actor_resource_ids
    return ctx.local.task_resources, ctx.local.resource_ids


# OMP_NUM_THREADS as the worker was started with it (the user's, if any).
_USER_OMP_THREADS = os.environ.get("OMP_NUM_THREADS")


def _set_omp_threads(num_cpus: float) -> None:
    """As Ray does: unless the user set OMP_NUM_THREADS, a task or actor runs
    with it set to its whole CPUs (at least 1), so that OpenMP libraries
    loaded from then on stay within what the task holds."""
    if _USER_OMP_THREADS is not None:
        return
    value = str(max(1, int(num_cpus)))
    if os.environ.get("OMP_NUM_THREADS") != value:
        os.environ["OMP_NUM_THREADS"] = value


def _end() -> None:
    local = worker_context.get().local
    local.task_id = None
    local.task = None
    worker_context.get().running_task_id = None


def _outcome(cw: Any, task: Any, run: Any) -> tuple[list[tuple], bool, bool, int]:
    """Calls `run()` (which returns the task's result) and turns what happens
    into (results, application error?, retryable?, items streamed)."""
    try:
        result = run()
        if _was_cancelled(task):  # it caught the KeyboardInterrupt: still cancelled
            raise KeyboardInterrupt
        if task.task_type == ACTOR_CREATION_TASK:
            return [store_value(None, object_id=task.return_ids()[0])], False, False, 0
        if task.is_generator:
            count = (result.count if isinstance(result, _Streamed)
                     else _run_generator(cw, task, result))
            return _dynamic_returns(cw, task, count), False, False, count
        return _store_returns(task, result), False, False, 0
    except _ArgumentError as e:
        return _failure(cw, task, e.error), True, False, _streamed(task)
    except BaseException as error:  # noqa: BLE001 - reported to the owner
        if isinstance(error, SystemExit) and task.task_type == ACTOR_TASK:
            # exit_actor(): as in Ray, the call that exits fails with ActorDiedError.
            died = exceptions.ActorDiedError(
                f"The actor exited: {task.method_name}() called exit_actor() (or raised "
                f"SystemExit), so the actor is gone and this call has no result.")
            return _failure(cw, task, died), True, False, _streamed(task)
        if isinstance(error, KeyboardInterrupt):
            if not _was_cancelled(task):
                raise
            error = exceptions.TaskCancelledError(task.task_id.hex())
            return _failure(cw, task, error), True, False, _streamed(task)
        if (isinstance(error, asyncio.CancelledError)
                and task.task_id in worker_context.get().cancelled_calls):
            error = exceptions.TaskCancelledError(task.task_id.hex())
            return _failure(cw, task, error), True, False, _streamed(task)
        return _failure(cw, task, error), True, _should_retry(task, error), _streamed(task)


def _dynamic_returns(cw: Any, task: Any, count: int) -> list[tuple]:
    """A num_returns="dynamic" task's one return: a DynamicObjectRefGenerator
    of refs to the `count` items it streamed (owned by its caller)."""
    if not task.dynamic_returns:
        return []
    refs = [cw.make_ref(cw.generator_item_id(task.task_id, i), task.caller_address)
            for i in range(count)]
    return [store_value(DynamicObjectRefGenerator(refs), object_id=task.return_ids()[0])]


def _streamed(task: Any) -> int:
    """How many items a generator task has reported (0 for other tasks)."""
    return task.num_streamed if task.is_generator else 0


def _was_cancelled(task: Any) -> bool:
    return worker_context.get().cancelled_task_id == task.task_id


def _failure(cw: Any, task: Any, error: BaseException) -> list[tuple]:
    wrapped = _wrapped_error(task, error)
    task.set_error(_event_error(wrapped))
    result = _error_result(wrapped)
    if task.dynamic_returns:
        return [result]  # its one ref raises the error
    if task.is_generator:
        # After the items already streamed (the core counts them).
        index = task.num_streamed
        cw.report_generator_item(task, index, cw.generator_item_id(task.task_id, index), result)
        return []
    return [result] * max(task.num_returns, 0)


def _prepare(cw: Any, task: Any) -> tuple[Any, list[Any], dict[str, Any]]:
    fn, _ = _callable_for(cw, task)
    args, kwargs = _resolve_args(cw, task.args())
    return fn, args, kwargs


def execute(cw: Any, task: Any) -> None:
    """Runs one task (a function, an actor's constructor or one of its
    methods) and reports its result to the core worker."""
    _begin(task)
    try:
        def run() -> Any:
            fn, args, kwargs = _prepare(cw, task)
            if task.task_type == ACTOR_CREATION_TASK:
                _create_actor(task, fn, args, kwargs)
                return None
            result = fn(*args, **kwargs)
            if inspect.iscoroutine(result):
                result = _run_coroutine(result)
            return result

        results, app_error, retryable, streamed = _outcome(cw, task, run)
    finally:
        _end()
        worker_context.get().cancelled_calls.discard(task.task_id)
    cw.finish_task(task, results, app_error, retryable, streamed)


async def execute_async(cw: Any, task: Any, semaphore: asyncio.Semaphore | None) -> None:
    """Runs a task of an async actor on the actor's event loop: its
    constructor (``semaphore`` None), an async method (awaited, up to
    max_concurrency at once) or a sync one (blocks the loop while it runs,
    as in Ray)."""
    if semaphore is None:
        execute(cw, task)
        return
    ctx = worker_context.get()
    task_id = task.task_id  # `task` is gone once its result is sent
    with ctx.lock:
        ctx.async_calls[task_id] = asyncio.current_task()
    try:
        await _execute_on_loop(cw, task, semaphore)
    finally:
        with ctx.lock:
            ctx.async_calls.pop(task_id, None)
            ctx.cancelled_calls.discard(task_id)


async def _execute_on_loop(cw: Any, task: Any, semaphore: asyncio.Semaphore) -> None:
    async with semaphore:
        _begin(task)
        try:
            fn, args, kwargs = _prepare(cw, task)
            value: Any = fn(*args, **kwargs)
            if inspect.isawaitable(value):
                value = await value
            if task.is_generator and inspect.isasyncgen(value):
                streamed = await _run_async_generator(cw, task, value)
                outcome = _outcome(cw, task, lambda: _Streamed(streamed))
            else:
                outcome = _outcome(cw, task, lambda: value)
        except BaseException as error:  # noqa: BLE001 - reported to the owner
            outcome = _outcome(cw, task, lambda e=error: _raise(e))
        finally:
            _end()
        cw.finish_task(task, *outcome)


class _Streamed:
    """A generator whose items were already reported (on the actor's loop)."""

    def __init__(self, count: int) -> None:
        self.count = count


def _raise(error: BaseException) -> Any:
    raise error


def _run_coroutine(coro: Any) -> Any:
    loop = worker_context.get().actor_loop
    if loop is not None:
        return asyncio.run_coroutine_threadsafe(coro, loop).result()
    return asyncio.run(coro)


def _create_actor(task: Any, cls: Any, args: list[Any], kwargs: dict[str, Any]) -> None:
    ctx = worker_context.get()
    _announce_actor(cls)
    ctx.actor_instance = cls(*args, **kwargs)
    if type(ctx.actor_instance).__repr__ is not object.__repr__:
        _announce_actor(ctx.actor_instance)
    ctx.actor_id = task.actor_id
    ctx.actor_options = task.actor_creation


def install_interrupt_handler(cw: Any, main_thread: threading.Thread) -> None:
    """Cancellation (``cancel(force=False)``) raises KeyboardInterrupt inside
    the running task, as in Ray; its caller's ``get`` raises
    TaskCancelledError, even if the task caught the interrupt."""

    def interrupt(task_id: bytes) -> None:
        ctx = worker_context.get()
        if ctx.actor_instance is not None:
            # As in Ray, an actor's running call is not interrupted: a sync
            # actor's sees get_runtime_context().is_canceled(), an async
            # actor's asyncio task is cancelled.
            with ctx.lock:
                call = ctx.async_calls.get(task_id)
                if ctx.actor_loop is None or call is not None:
                    ctx.cancelled_calls.add(task_id)
            if call is not None:
                ctx.actor_loop.call_soon_threadsafe(call.cancel)
            return
        if ctx.running_task_id != task_id:
            return
        ctx.cancelled_task_id = task_id
        ctypes.pythonapi.PyThreadState_SetAsyncExc(
            ctypes.c_ulong(main_thread.ident), ctypes.py_object(KeyboardInterrupt))

    cw.set_interrupt_handler(interrupt)

