"""Running tasks in a worker process: load the function, resolve the
arguments, call it, store the returns, report the result."""

from __future__ import annotations

import ctypes
import os
import pickle
import threading
from typing import Any

from comet import exceptions
from comet._private import serialization, worker_context
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


def _error_result(task: Any, error: BaseException) -> tuple:
    if isinstance(error, exceptions.RayError) and not isinstance(error, exceptions.RayTaskError):
        wrapped: BaseException = error
    else:
        wrapped = exceptions.RayTaskError.from_exception(
            error, task.function_name, ip=worker_context.get().node_ip)
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
    index = 0
    try:
        for item in gen:
            oid = cw.generator_item_id(task.task_id, index)
            cw.report_generator_item(task, index, oid, store_value(item, object_id=oid))
            index += 1
    except Exception as error:  # noqa: BLE001 - the error is the stream's last item
        oid = cw.generator_item_id(task.task_id, index)
        cw.report_generator_item(task, index, oid, _error_result(task, error))
        index += 1
    return index


def execute(cw: Any, task: Any) -> None:
    """Runs one task and reports its result to the core worker."""
    local = worker_context.get().local
    local.gpu_ids = task.resource_ids().get("GPU", [])
    if local.gpu_ids:
        os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(str(i) for i in local.gpu_ids)
    local.task_id = task.task_id
    ctx = worker_context.get()
    ctx.running_task_id = task.task_id
    app_error = retryable = False
    streamed = 0
    try:
        fn = _load_function(cw, task.function_id)
        args, kwargs = _resolve_args(cw, task.args())
        result = fn(*args, **kwargs)
        if task.is_generator:
            streamed = _run_generator(cw, task, result)
            results: list[tuple] = []
        else:
            results = _store_returns(task, result)
    except _ArgumentError as e:
        app_error = True
        results = [_error_result(task, e.error)] * max(task.num_returns, 0)
        if task.is_generator:
            oid = cw.generator_item_id(task.task_id, 0)
            cw.report_generator_item(task, 0, oid, _error_result(task, e.error))
            streamed = 1
    except BaseException as error:  # noqa: BLE001 - reported to the owner
        if isinstance(error, (SystemExit,)) and not isinstance(error, exceptions.RayError):
            raise
        app_error = True
        retryable = _should_retry(task, error)
        results = [_error_result(task, error)] * max(task.num_returns, 0)
        if task.is_generator:
            oid = cw.generator_item_id(task.task_id, 0)
            cw.report_generator_item(task, 0, oid, _error_result(task, error))
            streamed = 1
    finally:
        local.task_id = None
        ctx.running_task_id = None
    cw.finish_task(task, results, app_error, retryable, streamed)


def install_interrupt_handler(cw: Any, main_thread: threading.Thread) -> None:
    """Cancellation raises TaskCancelledError inside the running task."""

    def interrupt(task_id: bytes) -> None:
        if worker_context.get().running_task_id != task_id:
            return
        ctypes.pythonapi.PyThreadState_SetAsyncExc(
            ctypes.c_ulong(main_thread.ident), ctypes.py_object(exceptions.TaskCancelledError))

    cw.set_interrupt_handler(interrupt)


__all__ = ["execute", "install_interrupt_handler", "pickle"]
