"""Tests of comet.exceptions: the hierarchy, RayTaskError's dual classes,
messages and pickling (in process and across processes)."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys

import cloudpickle
import pytest

from comet import exceptions as ex
from comet._private import serialization as ser

PYTHON_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                          "python")


def failing_task(error):
    raise error


def task_error(error, name="failing_task", **kwargs):
    try:
        failing_task(error)
    except BaseException as e:  # noqa: B902 - the test raises what it wants
        return ex.RayTaskError.from_exception(e, name, **kwargs)
    raise AssertionError("unreachable")


class CustomError(Exception):
    def __init__(self, code, detail):
        super().__init__(f"code {code}: {detail}")
        self.code = code


class KeywordOnlyError(Exception):
    def __init__(self, *, reason):
        super().__init__(reason)
        self.reason = reason


class FinalError(Exception):
    def __init_subclass__(cls, **kwargs):
        raise TypeError("FinalError cannot be subclassed")


class OddNewError(Exception):
    def __new__(cls, a, b, *, flag):
        return super().__new__(cls, a, b)

    def __init__(self, a, b, *, flag):
        super().__init__(a, b)


# --------------------------------------------------------------------------
# Hierarchy.

ALL_ERRORS = [getattr(ex, name) for name in ex.__all__ if name != "CometError"]


def test_every_error_derives_from_ray_error_and_has_a_docstring():
    for cls in ALL_ERRORS:
        assert issubclass(cls, ex.RayError), cls
        assert cls.__doc__ and cls.__doc__.strip(), cls
    assert ex.CometError is ex.RayError
    assert issubclass(ex.RayError, Exception)


@pytest.mark.parametrize("child, parent", [
    (ex.ActorDiedError, ex.RayActorError),
    (ex.ActorUnavailableError, ex.RayActorError),
    (ex.OwnerDiedError, ex.ObjectLostError),
    (ex.ObjectReconstructionFailedError, ex.ObjectLostError),
    (ex.ObjectReconstructionFailedMaxAttemptsExceededError, ex.ObjectLostError),
    (ex.ObjectReconstructionFailedLineageEvictedError, ex.ObjectLostError),
    (ex.ObjectFetchTimedOutError, ex.ObjectLostError),
    (ex.ReferenceCountingAssertionError, ex.ObjectLostError),
    (ex.GetTimeoutError, TimeoutError),
])
def test_hierarchy(child, parent):
    assert issubclass(child, parent)


def test_get_timeout_error_is_caught_as_timeout_error():
    with pytest.raises(TimeoutError, match="took too long"):
        raise ex.GetTimeoutError("get took too long")


# --------------------------------------------------------------------------
# Messages and pickling of the simple errors.

INSTANCES = [
    ex.RayError("plain"),
    ex.RaySystemError("broken", "trace here"),
    ex.WorkerCrashedError(),
    ex.TaskCancelledError("ab12"),
    ex.TaskCancelledError(),
    ex.RayActorError(actor_id="cd34"),
    ex.ActorDiedError("killed by comet.kill", actor_id="cd34"),
    ex.ActorUnavailableError(actor_id="ef56"),
    ex.GetTimeoutError("timed out after 1s"),
    ex.ObjectLostError("0a" * 28, "127.0.0.1:1234", "f.remote() at x.py:3"),
    ex.OwnerDiedError("0b" * 28),
    ex.ObjectReconstructionFailedError("0c" * 28),
    ex.ObjectFetchTimedOutError("0d" * 28),
    ex.ObjectStoreFullError("store full"),
    ex.OutOfMemoryError("oom"),
    ex.NodeDiedError("node n1 died"),
    ex.RuntimeEnvSetupError("pip failed"),
    ex.TaskUnschedulableError("needs 100 GPUs"),
    ex.ActorUnschedulableError("needs 100 GPUs"),
    ex.PendingCallsLimitExceeded("too many calls"),
    ex.UnserializableException("m.E", "msg", "trace"),
]


@pytest.mark.parametrize("error", INSTANCES, ids=lambda e: type(e).__name__)
@pytest.mark.parametrize("dumps", [pickle.dumps, cloudpickle.dumps])
def test_simple_errors_pickle_roundtrip(error, dumps):
    out = pickle.loads(dumps(error))
    assert type(out) is type(error)
    assert str(out) == str(error)
    assert out.args == error.args
    assert vars(out) == vars(error)


def test_messages():
    assert "worker died unexpectedly" in str(ex.WorkerCrashedError())
    assert "ab12" in str(ex.TaskCancelledError("ab12"))
    assert "cancelled" in str(ex.TaskCancelledError())
    assert "died unexpectedly" in str(ex.ActorDiedError())
    assert "temporarily unavailable" in str(ex.ActorUnavailableError())
    lost = ex.ObjectLostError("0a" * 28, call_site="x.py:3")
    assert "0a" * 28 in str(lost) and "x.py:3" in str(lost)
    assert "owner" in str(ex.OwnerDiedError("0b" * 28))
    assert "System error: broken" in str(ex.RaySystemError("broken"))
    assert ex.RuntimeEnvSetupError().error_message is None
    assert "runtime environment" in str(ex.RuntimeEnvSetupError())


def test_actor_error_from_creation_task_failure():
    cause = task_error(ValueError("bad init"), "Actor.__init__")
    error = ex.ActorDiedError(actor_id="aa", cause=cause)
    assert error.cause is cause
    assert "creation task" in str(error) and "bad init" in str(error)
    out = pickle.loads(pickle.dumps(error))
    assert isinstance(out.cause, ex.RayTaskError)
    assert out.actor_id == "aa"


# --------------------------------------------------------------------------
# RayTaskError.


def test_from_exception_records_where_and_what():
    error = task_error(ValueError("boom"), ip="10.0.0.1")
    assert error.function_name == "failing_task"
    assert isinstance(error.cause, ValueError)
    assert error.pid == os.getpid()
    assert error.ip == "10.0.0.1"
    assert error.proctitle == "comet::failing_task()"
    assert 'raise error' in error.traceback_str
    assert "ValueError: boom" in error.traceback_str


def test_str_shows_location_and_remote_traceback():
    error = task_error(ValueError("boom"), ip="10.0.0.1")
    text = str(error)
    first, *rest = text.split("\n")
    assert first == f"comet::failing_task() (pid={os.getpid()}, ip=10.0.0.1)"
    assert "Traceback (most recent call last)" not in text
    assert any("in failing_task" in line for line in rest)
    assert rest[-1] == "ValueError: boom"


def test_str_for_actor_methods_and_hides_internal_frames():
    internal = os.path.join("site", "comet", "_private", "worker.py")
    trace = ("Traceback (most recent call last):\n"
             f'  File "{internal}", line 10, in execute\n'
             "    result = fn(*args)\n"
             '  File "user.py", line 3, in method\n'
             "    raise KeyError('k')\n"
             "KeyError: 'k'\n")
    error = ex.RayTaskError("A.method", trace, KeyError("k"), pid=7, ip="1.2.3.4",
                            actor_repr="A(1)", actor_id="ff00")
    assert str(error) == (
        "comet::A.method() (pid=7, ip=1.2.3.4, actor_id=ff00, repr=A(1))\n"
        '  File "user.py", line 3, in method\n'
        "    raise KeyError('k')\n"
        "KeyError: 'k'")
    # str of the dual class is the same (not KeyError's repr of its key).
    assert str(error.as_instanceof_cause()) == str(error)


def test_as_instanceof_cause_is_caught_as_the_cause_type():
    dual = task_error(ValueError("boom")).as_instanceof_cause()
    assert isinstance(dual, ValueError)
    assert isinstance(dual, ex.RayTaskError)
    assert type(dual).__name__ == "RayTaskError(ValueError)"
    assert type(dual).__module__ == "comet.exceptions"
    with pytest.raises(ValueError) as info:
        raise dual
    assert info.value is dual
    assert dual.args == ("boom",)
    assert dual.cause.args == ("boom",)


def test_dual_class_is_cached_and_delegates_attributes():
    first = task_error(CustomError(404, "missing")).as_instanceof_cause()
    second = task_error(CustomError(500, "server")).as_instanceof_cause()
    assert type(first) is type(second)
    assert first.code == 404 and second.code == 500
    with pytest.raises(AttributeError):
        first.no_such_attribute  # noqa: B018


def test_as_instanceof_cause_for_os_errors_keeps_errno():
    dual = task_error(FileNotFoundError(2, "No such file", "/x")).as_instanceof_cause()
    assert isinstance(dual, FileNotFoundError) and isinstance(dual, OSError)
    assert dual.errno == 2 and dual.filename == "/x"
    assert dual.strerror == "No such file"
    out = pickle.loads(pickle.dumps(dual))
    assert out.errno == 2 and out.filename == "/x"


class SlottedError(Exception):
    __slots__ = ("token",)

    def __init__(self, token, extra):
        super().__init__(f"token {token}")
        self.token = token


@pytest.mark.parametrize("cause", [
    UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"),
    SyntaxError("bad", ("f.py", 1, 2, "x y", 1, 3)),
    StopIteration(5),
    SystemExit(3),
    ImportError("nope", name="mod", path="/p"),
    SlottedError("abc", None),
], ids=lambda e: type(e).__name__)
def test_builtin_and_slot_fields_are_kept(cause):
    dual = task_error(cause).as_instanceof_cause()
    for out in (dual, pickle.loads(pickle.dumps(dual))):
        assert isinstance(out, type(cause))
        for name in ("encoding", "object", "start", "end", "reason", "lineno",
                     "offset", "text", "value", "code", "name", "path", "token"):
            if hasattr(cause, name):
                assert getattr(out, name) == getattr(cause, name), name
                assert getattr(out.cause, name) == getattr(cause, name), name


def test_as_instanceof_cause_returns_self_when_impossible_or_needless():
    plain = task_error(Exception("generic"))
    assert plain.as_instanceof_cause() is plain  # already an Exception
    no_cause = ex.RayTaskError("f", "trace", None)
    assert no_cause.as_instanceof_cause() is no_cause
    final = task_error(FinalError("no subclasses"))
    assert final.as_instanceof_cause() is final
    odd = task_error(OddNewError(1, 2, flag=True))
    result = odd.as_instanceof_cause()
    assert isinstance(result, ex.RayTaskError)
    dual = result.as_instanceof_cause()
    assert dual is result  # idempotent


def test_base_exception_causes():
    dual = task_error(KeyboardInterrupt()).as_instanceof_cause()
    assert isinstance(dual, KeyboardInterrupt)


def test_nested_task_errors_keep_innermost_cause():
    inner = task_error(ValueError("deep"), "inner").as_instanceof_cause()
    outer = task_error(inner, "outer").as_instanceof_cause()
    assert isinstance(outer.cause, ValueError) and not isinstance(outer.cause, ex.RayTaskError)
    assert isinstance(outer, ValueError)
    assert "comet::inner()" in str(outer)
    assert str(outer).startswith("comet::outer()")


CAUSES = [
    ValueError("boom"),
    KeyError("key"),
    CustomError(7, "detail"),
    KeywordOnlyError(reason="kw"),
    FileNotFoundError(2, "No such file", "/x"),
    ex.ObjectLostError("0a" * 28),
    FinalError("final"),
]


@pytest.mark.parametrize("cause", CAUSES, ids=lambda e: type(e).__name__)
@pytest.mark.parametrize("dumps", [pickle.dumps, cloudpickle.dumps])
def test_dual_error_pickle_roundtrip(cause, dumps):
    error = task_error(cause, ip="1.1.1.1")
    dual = error.as_instanceof_cause()
    out = pickle.loads(dumps(dual))
    assert type(out) is type(dual)
    assert isinstance(out, type(cause)) == (cause_type_is_usable := not isinstance(
        cause, FinalError))
    assert cause_type_is_usable or type(out) is ex.RayTaskError
    assert out.traceback_str == error.traceback_str
    assert str(out) == str(dual)
    assert type(out.cause) is type(cause)
    assert out.cause.args == cause.args
    assert vars(out.cause) == vars(cause)
    assert (out.function_name, out.pid, out.ip) == ("failing_task", os.getpid(), "1.1.1.1")
    plain = pickle.loads(dumps(error))
    assert type(plain) is ex.RayTaskError


def test_dual_error_through_comet_serialization():
    dual = task_error(CustomError(1, "x")).as_instanceof_cause()
    so = ser.serialize_error(dual)
    out = ser.deserialize(so.to_bytes(), so.metadata)
    assert isinstance(out, CustomError) and out.code == 1
    with pytest.raises(CustomError):
        raise out


def test_with_cause_keeps_kind():
    error = task_error(ValueError("v"))
    replaced = error.as_instanceof_cause().with_cause(KeyError("k"))
    assert isinstance(replaced, KeyError)
    assert replaced.traceback_str == error.traceback_str
    assert type(error.with_cause(KeyError("k"))) is ex.RayTaskError


CHILD_SCRIPT = """
import pickle, sys
from comet import exceptions as ex
try:
    raise ValueError("from the child")
except ValueError as e:
    err = ex.RayTaskError.from_exception(e, "child_task", ip="127.0.0.1")
sys.stdout.buffer.write(pickle.dumps(err.as_instanceof_cause()))
"""


def test_pickled_in_another_process(tmp_path):
    script = tmp_path / "child.py"
    script.write_text(CHILD_SCRIPT)
    env = dict(os.environ, PYTHONPATH=PYTHON_DIR)
    data = subprocess.run([sys.executable, str(script)], env=env,
                          capture_output=True, check=True, timeout=60).stdout
    error = pickle.loads(data)
    assert type(error).__name__ == "RayTaskError(ValueError)"
    assert error.pid != os.getpid()
    assert "from the child" in str(error)
    assert 'raise ValueError("from the child")' in error.traceback_str
    with pytest.raises(ValueError, match="from the child"):
        raise error


def test_unserializable_exception_from_exception():
    stand_in = ex.UnserializableException.from_exception(task_error(ValueError("v")).cause)
    assert stand_in.type_name == "builtins.ValueError"
    assert stand_in.message == "v"
    assert "ValueError: v" in stand_in.original_stack_trace
