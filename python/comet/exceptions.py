"""Exceptions raised by Comet, named after and behaving like Ray Core's.

Every error that reports a remote failure derives from :class:`RayError`
(also available as :data:`CometError`). The most common one is
:class:`RayTaskError`: a task or actor method raised, and ``comet.get`` raises
it again in the caller, with the remote traceback in its message and the
original exception's type among its bases, so ``except ValueError`` catches a
remote ``ValueError``.

All of these exceptions can be pickled, so they cross process boundaries as
task results.
"""

from __future__ import annotations

import os
import threading
import traceback
from types import FunctionType, GetSetDescriptorType, MemberDescriptorType
from typing import Any

__all__ = [
    "ActorDiedError",
    "ActorPlacementGroupRemoved",
    "ActorUnavailableError",
    "ActorUnschedulableError",
    "AsyncioActorExit",
    "AuthenticationError",
    "CometError",
    "GetTimeoutError",
    "LocalRayletDiedError",
    "NodeDiedError",
    "ObjectFetchTimedOutError",
    "ObjectLostError",
    "ObjectReconstructionFailedError",
    "ObjectReconstructionFailedLineageEvictedError",
    "ObjectReconstructionFailedMaxAttemptsExceededError",
    "ObjectStoreFullError",
    "OutOfDiskError",
    "OutOfMemoryError",
    "OwnerDiedError",
    "PendingCallsLimitExceeded",
    "RayActorError",
    "RayError",
    "RaySystemError",
    "RayTaskError",
    "ReferenceCountingAssertionError",
    "RuntimeEnvSetupError",
    "TaskCancelledError",
    "TaskPlacementGroupRemoved",
    "TaskUnschedulableError",
    "UnserializableException",
    "WorkerCrashedError",
]


def _rebuild_error(cls: type, args: tuple, state: dict) -> BaseException:
    """Unpickles a :class:`RayError` without calling its ``__init__``."""
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class RayError(Exception):
    """Base class of the errors Comet raises for failures in the cluster."""

    def __reduce__(self) -> Any:
        # Subclasses take different constructor arguments; pickling the
        # attributes rather than the arguments works for all of them.
        return _rebuild_error, (type(self), self.args, dict(self.__dict__))

    def __reduce_ex__(self, protocol: Any) -> Any:
        # Defined so that a class mixed in after this one (the cause's class of
        # a RayTaskError(...)) cannot take over pickling with its own.
        return self.__reduce__()


CometError = RayError
"""Comet's own name for :class:`RayError`."""


class AuthenticationError(RayError, ConnectionError):
    """A Comet process, the dashboard or the job server refused this process's
    cluster token (missing or different), or no token was found. The message
    says where this process looked: ``$COMET_AUTH_TOKEN``,
    ``$COMET_AUTH_TOKEN_PATH``, then ``~/.comet/auth_token``."""


class RaySystemError(RayError):
    """An internal error of the runtime, or a value that could not be read.

    Attributes:
        client_exc: the underlying error or its description.
        traceback_str: its traceback, if known.
    """

    def __init__(self, client_exc: Any, traceback_str: str | None = None) -> None:
        super().__init__(client_exc)
        self.client_exc = client_exc
        self.traceback_str = traceback_str

    def __str__(self) -> str:
        text = f"System error: {self.client_exc}"
        if self.traceback_str:
            text += f"\ntraceback: {self.traceback_str}"
        return text


# --------------------------------------------------------------------------
# Errors raised by user code.

_TRACEBACK_HEADER = "Traceback (most recent call last):"
_INTERNAL_FRAME_MARK = f"{os.sep}comet{os.sep}_private{os.sep}"


class RayTaskError(RayError):
    """A task or actor method raised an exception.

    ``comet.get`` raises the instance returned by :meth:`as_instanceof_cause`,
    which is also an instance of the original exception's class, so code that
    catches the original type keeps working::

        try:
            comet.get(f.remote())
        except ValueError as e:   # e is a RayTaskError(ValueError)
            print(e.cause)

    ``str(e)`` shows where the task ran and its traceback.

    Attributes:
        function_name: the task's function (or ``Class.method``).
        traceback_str: the formatted remote traceback.
        cause: the exception the task raised.
        proctitle: the remote process's title, e.g. ``comet::f()``.
        pid: the remote worker's process id.
        ip: the remote node's address.
        actor_repr: ``repr`` of the actor, for actor methods.
        actor_id: the actor's id (hex), for actor methods.
    """

    def __init__(self, function_name: str, traceback_str: str,
                 cause: BaseException | None, proctitle: str | None = None,
                 pid: int | None = None, ip: str | None = None,
                 actor_repr: str | None = None, actor_id: str | None = None) -> None:
        self.function_name = function_name
        self.traceback_str = traceback_str
        self.cause = cause
        self.proctitle = proctitle or f"comet::{function_name}()"
        self.pid = os.getpid() if pid is None else pid
        self.ip = ip
        self.actor_repr = actor_repr
        self.actor_id = actor_id
        super().__init__(function_name, traceback_str, cause, self.proctitle,
                         self.pid, ip, actor_repr, actor_id)

    @classmethod
    def from_exception(cls, error: BaseException, function_name: str, *,
                       proctitle: str | None = None, pid: int | None = None,
                       ip: str | None = None, actor_repr: str | None = None,
                       actor_id: str | None = None) -> RayTaskError:
        """Wraps an exception that user code raised in a task.

        The traceback is taken from ``error.__traceback__``. If ``error`` is
        itself a :class:`RayTaskError` (the task got the result of another
        failed task), the new error keeps the innermost cause, and its
        traceback text includes the inner one.
        """
        cause = error.cause if isinstance(error, RayTaskError) else error
        text = "".join(traceback.format_exception(type(error), error,
                                                  error.__traceback__))
        return cls(function_name, text, cause, proctitle=proctitle, pid=pid,
                   ip=ip, actor_repr=actor_repr, actor_id=actor_id)

    def _fields(self) -> dict[str, Any]:
        return {
            "function_name": self.function_name,
            "traceback_str": self.traceback_str,
            "cause": self.cause,
            "proctitle": self.proctitle,
            "pid": self.pid,
            "ip": self.ip,
            "actor_repr": self.actor_repr,
            "actor_id": self.actor_id,
        }

    def with_cause(self, cause: BaseException | None) -> RayTaskError:
        """Returns a copy with another cause (of the same kind: plain, or an
        instance of the cause's class if this one was)."""
        fields = self._fields()
        fields["cause"] = cause
        copy = RayTaskError(**fields)
        return copy if type(self) is RayTaskError else copy.as_instanceof_cause()

    def as_instanceof_cause(self) -> RayTaskError:
        """Returns this error as an instance of both RayTaskError and the
        cause's class (``RayTaskError(ValueError)``).

        Returns ``self`` when that is already so, when there is no cause, or
        when the cause's class cannot be combined with RayTaskError (it refuses
        subclasses, or its constructor cannot be called).
        """
        cause = self.cause
        if cause is None or isinstance(self, type(cause)):
            return self
        dual_class = _dual_class(type(cause))
        if dual_class is None:
            return self
        error = _new_instance(dual_class, cause.args)
        if error is None:
            return self
        error.__dict__.update(self.__dict__)
        error.args = cause.args
        _set_fields(error, _slot_fields(cause))
        return error

    def __reduce__(self) -> Any:
        fields = self._fields()
        cause = fields.pop("cause")
        return _rebuild_task_error, (fields, _cause_state(cause),
                                     type(self) is not RayTaskError)

    def __str__(self) -> str:
        location = f"{self.proctitle} (pid={self.pid}, ip={self.ip}"
        if self.actor_id is not None:
            location += f", actor_id={self.actor_id}"
        if self.actor_repr is not None:
            location += f", repr={self.actor_repr}"
        location += ")"
        lines = []
        skipping_frame = False
        for line in self.traceback_str.rstrip("\n").split("\n"):
            if line == _TRACEBACK_HEADER:
                lines.append(location)
                skipping_frame = False
            elif line.startswith("  File ") and _INTERNAL_FRAME_MARK in line:
                skipping_frame = True  # Comet's own frames: not the user's concern
            elif skipping_frame and line.startswith("    "):
                continue
            else:
                skipping_frame = False
                lines.append(line)
        if not lines or lines[0] != location:
            lines.insert(0, location)
        return "\n".join(lines)


def _rebuild_task_error(fields: dict[str, Any], cause_state: tuple,
                        as_cause: bool) -> RayTaskError:
    error = RayTaskError(cause=_rebuild_cause(*cause_state), **fields)
    return error.as_instanceof_cause() if as_cause else error


def _cause_state(cause: BaseException | None) -> tuple:
    """How to pickle a cause: as itself if its class chose how to be pickled,
    else as (class, args, attributes), so that unpickling does not call an
    ``__init__`` whose parameters differ from ``args`` (a common pattern in
    user exceptions, which plain pickling of exceptions cannot handle)."""
    cls = type(cause)
    if (cause is None or cls.__reduce__ is not BaseException.__reduce__
            or cls.__reduce_ex__ is not object.__reduce_ex__
            or not isinstance(cls.__init__, FunctionType)):
        return (cause,)
    return (None, cls, cause.args, dict(cause.__dict__), _slot_fields(cause))


def _rebuild_cause(cause: Any, cls: type | None = None, args: tuple = (),
                   state: dict | None = None, fields: dict | None = None) -> Any:
    if cls is None:
        return cause
    rebuilt = _new_instance(cls, args)
    if rebuilt is None:
        raise TypeError(f"cannot create an instance of {cls.__qualname__}")
    rebuilt.args = args
    rebuilt.__dict__.update(state or {})
    _set_fields(rebuilt, fields or {})
    return rebuilt


def _slot_fields(error: BaseException) -> dict[str, Any]:
    """Values of an exception's fields stored outside its ``__dict__``: the
    C-level ones of builtin exceptions (``OSError.errno``, ``filename``...)
    and ``__slots__`` of user classes."""
    fields = {}
    for cls in type(error).__mro__:
        if cls in (BaseException, object):
            continue
        for name, attribute in vars(cls).items():
            if name.startswith("__") or not isinstance(
                    attribute, (MemberDescriptorType, GetSetDescriptorType)):
                continue
            try:
                fields.setdefault(name, getattr(error, name))
            except AttributeError:  # an unset slot
                continue
    return fields


def _set_fields(error: BaseException, fields: dict[str, Any]) -> None:
    for name, value in fields.items():
        try:
            setattr(error, name, value)
        except (AttributeError, TypeError, ValueError):  # read-only or refused
            continue


_dual_classes: dict[type, type | None] = {}
_dual_classes_lock = threading.Lock()


def _dual_class(cause_class: type) -> type | None:
    """The class deriving from RayTaskError and ``cause_class``, or None."""
    with _dual_classes_lock:
        if cause_class in _dual_classes:
            return _dual_classes[cause_class]
        name = f"RayTaskError({cause_class.__name__})"
        namespace = {
            "__module__": __name__,
            "__qualname__": name,
            "__doc__": f"A RayTaskError whose cause is a {cause_class.__name__}.",
            "__getattr__": _cause_attribute,
        }
        try:
            dual_class: type | None = type(name, (RayTaskError, cause_class), namespace)
        except Exception:  # final classes, layout or MRO conflicts, metaclasses
            dual_class = None
        _dual_classes[cause_class] = dual_class
        return dual_class


def _cause_attribute(self: RayTaskError, name: str) -> Any:
    """Attributes not found on the error are looked up on its cause."""
    if name.startswith("__") or name == "cause":
        raise AttributeError(name)
    cause = self.__dict__.get("cause")
    if cause is None:
        raise AttributeError(name)
    return getattr(cause, name)


def _new_instance(cls: type, args: tuple) -> Any:
    """Creates an instance without ``__init__``: with the cause's arguments if
    its ``__new__`` accepts them (so C-level fields like ``errno`` are set),
    else with none."""
    for new_args in (args, ()):
        try:
            return cls.__new__(cls, *new_args)
        except Exception:  # a __new__ with an unusual signature
            continue
    return None


class UnserializableException(RayError):
    """Stands in for an exception that could not be pickled or unpickled.

    Attributes:
        type_name: the original exception's class, as ``module.Name``.
        message: ``str()`` of the original exception.
        original_stack_trace: its formatted traceback.
    """

    def __init__(self, type_name: str, message: str,
                 original_stack_trace: str = "") -> None:
        super().__init__(type_name, message, original_stack_trace)
        self.type_name = type_name
        self.message = message
        self.original_stack_trace = original_stack_trace

    @classmethod
    def from_exception(cls, error: BaseException | None) -> UnserializableException:
        """Describes ``error`` by its type, message and traceback."""
        error_type = type(error)
        type_name = f"{error_type.__module__}.{error_type.__qualname__}"
        try:
            message = str(error)
        except Exception:
            message = f"<str() of {type_name} failed>"
        trace = ""
        if error is not None:
            trace = "".join(traceback.format_exception(error_type, error,
                                                       error.__traceback__))
        return cls(type_name, message, trace)

    def __str__(self) -> str:
        return (f"An exception of type {self.type_name} could not be serialized; "
                f"its message was: {self.message}")


# --------------------------------------------------------------------------
# Workers and actors.


class WorkerCrashedError(RayError):
    """The worker process died while running the task."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or "The worker died unexpectedly while executing "
                         "this task. Check the worker logs in the session's logs "
                         "directory for more information.")


class TaskCancelledError(RayError):
    """The task, or a task it depended on, was cancelled (``comet.cancel``).

    Attributes:
        task_id: the cancelled task's id (hex), if known.
    """

    def __init__(self, task_id: str | None = None,
                 error_message: str | None = None) -> None:
        if error_message is None:
            error_message = ("This task or its dependency was cancelled"
                             if task_id is None else f"Task {task_id} was cancelled.")
        super().__init__(error_message)
        self.task_id = task_id


class RayActorError(RayError):
    """An actor cannot run the method call: it died or cannot be reached.

    Attributes:
        actor_id: the actor's id (hex), if known.
        error_msg: why.
        cause: the error raised by the actor's constructor, when that killed it.
        actor_init_failed: whether the constructor raised (``cause``).
        preempted: whether its node was taken away (always False in Comet,
            which has no autoscaler to drain nodes).
    """

    _default_message = "The actor died unexpectedly before finishing this task."

    def __init__(self, error_msg: str | None = None, actor_id: str | None = None,
                 cause: BaseException | None = None) -> None:
        if error_msg is None:
            if cause is not None:
                error_msg = ("The actor died because of an error raised in its "
                             f"creation task, {cause}")
            else:
                error_msg = self._default_message
        super().__init__(error_msg)
        self.error_msg = error_msg
        self.actor_id = actor_id
        self.cause = cause
        self.actor_init_failed = cause is not None
        self.preempted = False


class ActorDiedError(RayActorError):
    """The actor is dead: killed, crashed, out of restarts, or its
    constructor raised. Calls to it fail with this error."""


class ActorUnavailableError(RayActorError):
    """The actor is temporarily unreachable (e.g. restarting or its node is
    slow to answer). The call may or may not have run; retrying may succeed."""

    _default_message = "The actor is temporarily unavailable."


class AsyncioActorExit(RayError):
    """Raised inside an async actor to make it exit (``exit_actor``)."""


class PendingCallsLimitExceeded(RayError):
    """Too many calls to an actor are waiting: the caller hit the actor's
    ``max_pending_calls``."""


class ActorUnschedulableError(RayError):
    """The actor cannot be scheduled, e.g. it asks for resources no node has
    or its placement group was removed."""


class ActorPlacementGroupRemoved(RayError):
    """The actor's placement group was removed."""


# --------------------------------------------------------------------------
# Scheduling, nodes and resources.


class GetTimeoutError(RayError, TimeoutError):
    """``comet.get`` (or another wait) ran past its ``timeout``. It is also a
    :class:`TimeoutError`."""


class TaskUnschedulableError(RayError):
    """The task cannot be scheduled, e.g. it asks for resources no node has."""


class TaskPlacementGroupRemoved(RayError):
    """The task's placement group was removed."""


class NodeDiedError(RayError):
    """The node running the task or holding the object died."""


class LocalRayletDiedError(RayError):
    """The raylet of the worker's node died."""


class RuntimeEnvSetupError(RayError):
    """The task's or actor's ``runtime_env`` could not be set up.

    Attributes:
        error_message: what went wrong, if known.
    """

    def __init__(self, error_message: str | None = None) -> None:
        super().__init__(error_message or "Failed to set up the runtime environment.")
        self.error_message = error_message


class OutOfMemoryError(RayError):
    """The node ran low on memory and its memory monitor killed the worker."""


class OutOfDiskError(RayError):
    """The node ran out of local disk space (e.g. for spilling objects)."""


class ObjectStoreFullError(RayError):
    """The object store has no room for the object, even after evicting and
    spilling what it could."""


# --------------------------------------------------------------------------
# Objects.


class ObjectLostError(RayError):
    """An object's value is lost (every copy is gone) and cannot be recovered.

    Attributes:
        object_ref_hex: the object's id (hex).
        owner_address: the address of the process owning it, if known.
        call_site: where the object was created, if recorded.
    """

    _explanation = ("All copies of the object were lost and it could not be "
                    "recovered.")

    def __init__(self, object_ref_hex: str, owner_address: str | None = None,
                 call_site: str | None = None) -> None:
        message = f"Failed to retrieve object {object_ref_hex}. {self._explanation}"
        if call_site:
            message += f"\n\nThe object was created at: {call_site}"
        super().__init__(message)
        self.object_ref_hex = object_ref_hex
        self.owner_address = owner_address
        self.call_site = call_site


class OwnerDiedError(ObjectLostError):
    """The process that owned the object (the one that created its reference)
    died, so the object's location and lineage are lost."""

    _explanation = ("The object's owner died. The owner is the process that "
                    "created the reference (a comet.put or a .remote() call).")


class ObjectReconstructionFailedError(ObjectLostError):
    """The object was lost and recomputing it from its lineage failed."""

    _explanation = ("The object was lost and could not be reconstructed, e.g. "
                    "because it was created by comet.put or by an actor task.")


class ObjectReconstructionFailedMaxAttemptsExceededError(ObjectLostError):
    """The object was lost and its creating task ran out of retries."""

    _explanation = ("The object was lost and the task that creates it has no "
                    "retries left (max_retries).")


class ObjectReconstructionFailedLineageEvictedError(ObjectLostError):
    """The object was lost and its lineage was evicted to save memory."""

    _explanation = ("The object was lost and its lineage had been evicted, so it "
                    "cannot be reconstructed.")


class ObjectFetchTimedOutError(ObjectLostError):
    """Fetching the object from a remote node did not finish in time."""

    _explanation = "Fetching the object from a remote node timed out."


class ReferenceCountingAssertionError(ObjectLostError):
    """The object was freed while a reference to it was still in use (an
    internal reference counting error)."""

    _explanation = ("The object has already been deleted by the reference "
                    "counting protocol.")
