"""Tests of comet._private.serialization: round trips, zero-copy reads, nested
references, error values and messages for values that cannot be pickled."""

from __future__ import annotations

import collections
import dataclasses
import functools
import pickle
import struct
import sys
import threading
import types

import cloudpickle
import numpy as np
import pytest

from comet import exceptions
from comet._private import serialization as ser


def roundtrip(value, via="bytes"):
    so = ser.serialize(value)
    if via == "bytes":
        data = so.to_bytes()
    else:
        data = bytearray(so.total_bytes)
        so.write_to(memoryview(data))
    return ser.deserialize(data, so.metadata)


class Point:
    def __init__(self, x, y):
        self.x = x
        self.y = y

    def __eq__(self, other):
        return isinstance(other, Point) and (self.x, self.y) == (other.x, other.y)


@dataclasses.dataclass
class Record:
    name: str
    values: list


VALUES = [
    None, True, False, 0, -1, 2**100, 3.5, float("inf"), 1 + 2j, "", "héllo ☃",
    "x" * 100_000, b"", b"raw bytes", bytearray(b"abc"), (), (1, "a", 2.0),
    [1, [2, [3, [4]]]], {"a": 1, "b": [1, 2], 3: None}, {(1, 2): "tuple key"},
    {1, 2, 3}, frozenset({"a"}), list(range(1000)), {str(i): i for i in range(200)},
    Point(1, 2), Record("r", [1, 2]), collections.OrderedDict(a=1),
    collections.Counter("hello"), range(10), slice(1, 5), Exception("e").args,
]


@pytest.mark.parametrize("via", ["bytes", "write_to"])
@pytest.mark.parametrize("value", VALUES, ids=lambda v: type(v).__name__)
def test_roundtrip(value, via):
    out = roundtrip(value, via)
    assert out == value
    assert type(out) is type(value)


def test_bytes_use_raw_metadata_and_no_copy():
    value = b"some bytes"
    so = ser.serialize(value)
    assert so.metadata == ser.METADATA_RAW
    assert so.total_bytes == len(value)
    assert so.to_bytes() is value
    assert ser.deserialize(value, so.metadata) is value
    assert ser.deserialize(memoryview(value), so.metadata) == value


def test_other_values_use_pickle5_metadata():
    for value in (None, 1, "s", [1], Point(1, 2), np.zeros(3)):
        assert ser.serialize(value).metadata == ser.METADATA_PICKLE5
        assert not ser.is_error(ser.serialize(value).metadata)


def test_functions_lambdas_and_local_classes_roundtrip():
    offset = 10

    class Local:
        def get(self):
            return offset

    fn = lambda x: x + offset  # noqa: E731
    out_fn, out_cls = roundtrip((fn, Local))
    assert out_fn(1) == 11
    assert out_cls().get() == 10


def test_shared_references_are_kept():
    inner = [1, 2]
    out = roundtrip([inner, inner, {"again": inner}])
    assert out[0] is out[1] is out[2]["again"]


def test_write_to_writes_exactly_total_bytes_and_matches_to_bytes():
    value = {"a": np.arange(100), "b": np.ones((3, 3)), "c": "text"}
    so = ser.serialize(value)
    buf = bytearray(b"\xee" * (so.total_bytes + 100))
    so.write_to(memoryview(buf))
    assert bytes(buf[:so.total_bytes]) == so.to_bytes()
    assert buf[so.total_bytes:] == b"\xee" * 100
    assert len(so.to_bytes()) == so.total_bytes


def test_write_to_rejects_small_or_readonly_buffers():
    so = ser.serialize(np.arange(10))
    with pytest.raises(ValueError, match="too small"):
        so.write_to(memoryview(bytearray(so.total_bytes - 1)))
    with pytest.raises(ValueError, match="writable"):
        so.write_to(memoryview(bytes(so.total_bytes)))


def test_write_to_accepts_non_byte_formats():
    so = ser.serialize({"k": np.arange(5)})
    target = np.zeros(so.total_bytes // 8 + 1, dtype=np.int64)
    so.write_to(memoryview(target))
    out = ser.deserialize(memoryview(target), so.metadata)
    np.testing.assert_array_equal(out["k"], np.arange(5))


# --------------------------------------------------------------------------
# numpy and zero copy.


@pytest.mark.parametrize("array", [
    np.arange(12, dtype=np.int64).reshape(3, 4),
    np.asfortranarray(np.arange(12, dtype=np.float32).reshape(3, 4)),
    np.zeros((0,), dtype=np.uint8),
    np.array(3.5),
    np.array([b"ab", b"cd"]),
    np.array([(1, 2.0)], dtype=[("a", "i4"), ("b", "f8")]),
    np.arange(20)[::3],  # not contiguous: pickled in band
    np.array([1, "mixed", None], dtype=object),
], ids=["c", "fortran", "empty", "scalar", "bytes", "struct", "strided", "object"])
def test_numpy_roundtrip(array):
    out = roundtrip(array)
    assert out.dtype == array.dtype
    assert out.shape == array.shape
    np.testing.assert_array_equal(out, array)


def test_numpy_is_zero_copy_from_writable_buffer():
    array = np.random.rand(1000, 100)
    so = ser.serialize({"x": array, "y": [array[0].copy()]})
    buf = bytearray(so.total_bytes)
    so.write_to(memoryview(buf))
    out = ser.deserialize(memoryview(buf), so.metadata)
    backing = np.frombuffer(buf, dtype=np.uint8)
    assert np.shares_memory(out["x"], backing)
    assert np.shares_memory(out["y"][0], backing)
    assert out["x"].flags.writeable
    np.testing.assert_array_equal(out["x"], array)
    out["x"][0, 0] = -1.0  # writes land in the buffer
    assert ser.deserialize(memoryview(buf), so.metadata)["x"][0, 0] == -1.0


@pytest.mark.parametrize("readonly", ["bytes", "memoryview"])
def test_numpy_from_readonly_data_is_readonly_and_zero_copy(readonly):
    array = np.arange(10_000, dtype=np.int32)
    so = ser.serialize(array)
    data = so.to_bytes()
    view = memoryview(data) if readonly == "bytes" else memoryview(bytearray(data)).toreadonly()
    out = ser.deserialize(data if readonly == "bytes" else view, so.metadata)
    assert not out.flags.writeable
    assert np.shares_memory(out, np.frombuffer(view, dtype=np.uint8))
    with pytest.raises(ValueError):
        out[0] = 1


def test_out_of_band_buffers_are_64_byte_aligned():
    arrays = [np.arange(n, dtype=np.uint8) for n in (1, 3, 64, 65, 1000)]
    so = ser.serialize(arrays)
    storage = np.zeros(so.total_bytes + 64, dtype=np.uint8)
    start = -storage.ctypes.data % 64
    target = storage[start:start + so.total_bytes]
    so.write_to(memoryview(target))
    out = ser.deserialize(memoryview(target), so.metadata)
    for original, got in zip(arrays, out):
        np.testing.assert_array_equal(got, original)
        assert np.shares_memory(got, storage)
        assert got.ctypes.data % ser.ALIGNMENT == 0


def test_large_array_write_to_is_a_single_copy_and_read_is_zero_copy():
    array = np.random.rand(8 * 1024 * 1024 // 8)
    so = ser.serialize(array)
    assert so.total_bytes < array.nbytes + 4096
    buf = bytearray(so.total_bytes)
    so.write_to(memoryview(buf))
    out = ser.deserialize(memoryview(buf), so.metadata)
    assert np.shares_memory(out, np.frombuffer(buf, dtype=np.uint8))
    assert np.array_equal(out, array)


def test_bytearray_and_memoryview_values():
    assert roundtrip(bytearray(b"x" * 1000)) == bytearray(b"x" * 1000)
    assert roundtrip(memoryview(b"abc")) == b"abc"


# --------------------------------------------------------------------------
# Nested references.


class DummyRef:
    def __init__(self, object_id: bytes, owner: str = "owner"):
        self.object_id = object_id
        self.owner = owner

    def __eq__(self, other):
        return isinstance(other, DummyRef) and (self.object_id, self.owner) == (
            other.object_id, other.owner)

    def __hash__(self):
        return hash(self.object_id)

    def __reduce__(self):
        raise AssertionError("the pickler must not reduce refs itself")


class SubRef(DummyRef):
    pass


class UnregisteredRef:
    pass


restored_states: list[tuple] = []


def _from_state(state):
    restored_states.append(state)
    return DummyRef(*state)


ser.register_ref_type(DummyRef, lambda ref: (ref.object_id, ref.owner), _from_state)


def test_nested_refs_are_collected_and_restored():
    a, b = DummyRef(b"a" * 28), DummyRef(b"b" * 28, "other")
    value = {"refs": [a, (b, 1)], "n": np.arange(3), "same": a}
    so = ser.serialize(value)
    assert so.nested_refs == [a, b]
    assert so.nested_refs[0] is a
    restored_states.clear()
    out = ser.deserialize(so.to_bytes(), so.metadata)
    assert out["refs"] == [a, (b, 1)]
    assert out["same"] is out["refs"][0]
    assert restored_states == [(a.object_id, "owner"), (b.object_id, "other")]


def test_top_level_ref_and_ref_in_object_attribute_and_closure():
    ref = DummyRef(b"r" * 28)
    assert ser.serialize(ref).nested_refs == [ref]
    assert roundtrip(ref) == ref
    assert roundtrip(Point(ref, 1)).x == ref

    fn = lambda: ref  # noqa: E731
    so = ser.serialize(fn)
    assert so.nested_refs == [ref]
    assert ser.deserialize(so.to_bytes(), so.metadata)() == ref


def test_value_without_refs_has_empty_nested_refs():
    assert ser.serialize([1, 2, Point(1, 2)]).nested_refs == []


def test_subclass_of_registered_ref_type_uses_its_functions():
    ref = SubRef(b"s" * 28)
    so = ser.serialize([ref])
    assert so.nested_refs == [ref]
    assert type(ser.deserialize(so.to_bytes(), so.metadata)[0]) is DummyRef


def test_ref_hook_sees_refs_and_may_replace_state():
    a, b = DummyRef(b"a" * 28), DummyRef(b"b" * 28)
    seen = []

    def hook(ref):
        seen.append(ref)
        return (ref.object_id, "borrowed") if ref is b else None

    so = ser.serialize([a, b], ref_hook=hook)
    assert seen == [a, b]
    out = ser.deserialize(so.to_bytes(), so.metadata)
    assert out == [a, DummyRef(b.object_id, "borrowed")]


def test_ref_hook_errors_propagate_unchanged():
    class Refused(Exception):
        pass

    def hook(ref):
        raise Refused("no refs here")

    with pytest.raises(Refused, match="no refs here"):
        ser.serialize({"r": DummyRef(b"x" * 28)}, ref_hook=hook)


def test_unregistered_ref_type_at_load_time_is_an_error():
    class LaterRef:
        def __init__(self, n):
            self.n = n

    ser.register_ref_type(LaterRef, lambda r: (r.n,), lambda s: LaterRef(*s))
    so = ser.serialize([LaterRef(1)])
    data = so.to_bytes()
    key = ser._ref_types_by_class[LaterRef].key
    entry = ser._ref_types_by_key.pop(key)
    try:
        with pytest.raises(pickle.UnpicklingError, match="not registered"):
            ser.deserialize(data, so.metadata)
    finally:
        ser._ref_types_by_key[key] = entry
    assert ser.deserialize(data, so.metadata)[0].n == 1


def test_register_ref_type_checks_arguments():
    with pytest.raises(TypeError):
        ser.register_ref_type("not a class", tuple, tuple)
    with pytest.raises(TypeError):
        ser.register_ref_type(UnregisteredRef, None, tuple)


# --------------------------------------------------------------------------
# Values that cannot be serialized.


def test_lock_in_dict_names_type_and_path():
    with pytest.raises(TypeError) as info:
        ser.serialize({"lock": threading.Lock()})
    message = str(info.value)
    assert "_thread.lock" in message
    assert "value['lock']" in message
    assert isinstance(info.value, ser.SerializationError)
    assert info.value.path == "value['lock']"
    assert info.value.culprit_type == "_thread.lock"


def test_culprit_path_through_lists_attributes_and_tuples():
    holder = Point([1, (2, threading.Lock())], "ok")
    with pytest.raises(ser.SerializationError) as info:
        ser.serialize({"p": holder, "fine": 1})
    assert info.value.path == "value['p'].x[1][1]"


def test_top_level_unpicklable_value():
    with pytest.raises(ser.SerializationError) as info:
        ser.serialize(threading.Lock())
    assert info.value.path == "value"
    assert "Could not serialize value of type _thread.lock" in str(info.value)


def test_unpicklable_in_closure_of_function():
    lock = threading.RLock()

    def uses_lock():
        return lock

    with pytest.raises(ser.SerializationError) as info:
        ser.serialize([uses_lock])
    assert "closure variable 'lock'" in info.value.path
    assert "_thread.RLock" in str(info.value)


def test_generator_is_reported():
    gen = (i for i in range(3))
    with pytest.raises(TypeError, match="generator"):
        ser.serialize({"g": gen})


def test_object_whose_reduce_raises_is_reported():
    class Bad:
        def __reduce__(self):
            raise RuntimeError("refusing to pickle")

    with pytest.raises(ser.SerializationError) as info:
        ser.serialize([1, Bad()])
    assert info.value.path == "value[1]"
    assert "refusing to pickle" in str(info.value)


def test_partial_and_slots_are_walked():
    class Slotted:
        __slots__ = ("a", "b")

        def __init__(self):
            self.a = 1
            self.b = threading.Lock()

    with pytest.raises(ser.SerializationError) as info:
        ser.serialize(functools.partial(print, Slotted()))
    assert info.value.path == "value.args[0].b"


def test_self_referencing_structure_terminates():
    cycle: list = []
    cycle.append(cycle)
    cycle.append(threading.Lock())
    with pytest.raises(ser.SerializationError) as info:
        ser.serialize(cycle)
    assert info.value.path == "value[1]"


# --------------------------------------------------------------------------
# Errors as values.


def _raise(error):
    raise error


def test_error_values_roundtrip_as_exception_objects():
    try:
        _raise(ValueError("bad input"))
    except ValueError as e:
        task_error = exceptions.RayTaskError.from_exception(e, "f").as_instanceof_cause()
    so = ser.serialize_error(task_error)
    assert so.metadata == ser.METADATA_ERROR
    assert ser.is_error(so.metadata)
    out = ser.deserialize(so.to_bytes(), so.metadata)
    assert isinstance(out, exceptions.RayTaskError)
    assert isinstance(out, ValueError)
    assert "bad input" in str(out)


def test_unpicklable_exception_is_replaced_by_a_stand_in():
    class HoldsLock(Exception):
        def __init__(self, message):
            super().__init__(message)
            self.lock = threading.Lock()

    so = ser.serialize_error(HoldsLock("locked"))
    out = ser.deserialize(so.to_bytes(), so.metadata)
    assert isinstance(out, exceptions.UnserializableException)
    assert "HoldsLock" in str(out) and "locked" in str(out)


def test_task_error_with_unpicklable_cause_keeps_the_wrapper():
    class HoldsLock(Exception):
        pass

    cause = HoldsLock("locked")
    cause.lock = threading.Lock()
    error = exceptions.RayTaskError("f", "Traceback...\nHoldsLock: locked", cause)
    out = ser.deserialize(*_data_and_metadata(ser.serialize_error(error.as_instanceof_cause())))
    assert isinstance(out, exceptions.RayTaskError)
    assert isinstance(out, exceptions.UnserializableException)
    assert isinstance(out.cause, exceptions.UnserializableException)
    assert out.function_name == "f"


def test_error_that_fails_to_unpickle_becomes_a_system_error():
    so = ser.serialize_error(_FailsOnLoad())
    out = ser.deserialize(so.to_bytes(), so.metadata)
    assert isinstance(out, exceptions.RaySystemError)
    assert "cannot come back" in str(out)


class _FailsOnLoad(Exception):
    def __reduce__(self):
        return _refuse, ()


def _refuse():
    raise RuntimeError("cannot come back")


def _data_and_metadata(so):
    return so.to_bytes(), so.metadata


# --------------------------------------------------------------------------
# Bad input to deserialize.


def test_deserialize_rejects_bad_input():
    good = ser.serialize([1, 2, 3])
    data = good.to_bytes()
    with pytest.raises(ValueError, match="unknown serialization metadata"):
        ser.deserialize(data, b"NOPE")
    with pytest.raises(ValueError, match="not a Comet serialized value"):
        ser.deserialize(b"XXXX" + data[4:], good.metadata)
    with pytest.raises(ValueError, match="too short"):
        ser.deserialize(b"CM", good.metadata)
    with pytest.raises(ValueError, match="truncated"):
        ser.deserialize(data[:-3], good.metadata)
    array = ser.serialize(np.arange(100))
    with pytest.raises(ValueError, match="truncated"):
        ser.deserialize(array.to_bytes()[:-10], array.metadata)


def test_header_layout():
    so = ser.serialize(np.arange(4, dtype=np.uint8))
    data = so.to_bytes()
    magic, count, pickle_len = struct.unpack_from("<4sIQ", data)
    assert (magic, count) == (b"CMT1", 1)
    offset, length = struct.unpack_from("<QQ", data, 16)
    assert offset % 64 == 0 and length == 4
    assert offset >= 32 + pickle_len
    assert data[offset:offset + 4] == bytes([0, 1, 2, 3])


# --------------------------------------------------------------------------
# Functions.


def test_dumps_and_loads_function():
    base = 5

    def add(x):
        return x + base

    data = ser.dumps_function(add)
    assert isinstance(data, bytes)
    assert ser.loads_function(data)(1) == 6

    class Counter:
        def __init__(self):
            self.n = base

    assert ser.loads_function(ser.dumps_function(Counter))().n == 5


def test_function_id_is_28_bytes_and_stable():
    data = ser.dumps_function(lambda: 1)
    fid = ser.function_id(data)
    assert isinstance(fid, bytes) and len(fid) == ser.FUNCTION_ID_SIZE == 28
    assert ser.function_id(data) == fid
    assert ser.function_id(memoryview(data)) == fid
    assert ser.function_id(ser.dumps_function(lambda: 2)) != fid


def test_dumps_function_names_the_culprit():
    lock = threading.Lock()

    def task():
        return lock

    with pytest.raises(ser.SerializationError) as info:
        ser.dumps_function(task)
    assert "task <closure variable 'lock'>" in str(info.value)
    assert "_thread.lock" in str(info.value)


def test_register_pickle_by_value_is_honoured_after_caching():
    module = types.ModuleType("comet_test_byvalue_module")
    exec("def triple(x):\n    return 3 * x\n", module.__dict__)
    sys.modules[module.__name__] = module
    try:
        by_ref = ser.serialize(module.triple)
        assert len(by_ref.to_bytes()) < 200  # module and name only
        cloudpickle.register_pickle_by_value(module)
        try:
            by_value = ser.serialize(module.triple)
        finally:
            cloudpickle.unregister_pickle_by_value(module)
    finally:
        del sys.modules[module.__name__]
    # The module is gone: only the by-value pickle can be loaded.
    assert ser.deserialize(by_value.to_bytes(), by_value.metadata)(2) == 6
    with pytest.raises(ModuleNotFoundError):
        ser.deserialize(by_ref.to_bytes(), by_ref.metadata)
