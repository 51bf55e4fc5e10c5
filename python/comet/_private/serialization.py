"""Values to bytes and back, for task arguments, return values and ``put``.

A serialized value is a pair ``(metadata, data)``. The metadata is a short tag
that says how to read the data:

``PICKLE5`` (:data:`METADATA_PICKLE5`)
    cloudpickle with pickle protocol 5 and out-of-band buffers. ``data`` is::

        header    "CMT1", buffer count (u32), pickle length (u64)
        entries   one (offset u64, length u64) per out-of-band buffer
        pickle    the pickle stream, right after the entries
        buffers   each buffer at an offset that is a multiple of 64

    Offsets are relative to the start of ``data``. Reading hands the unpickler
    slices of the given buffer, so a numpy array read from shared memory is a
    view of that memory, not a copy.
``RAW`` (:data:`METADATA_RAW`)
    a ``bytes`` value stored as is.
``ERROR`` (:data:`METADATA_ERROR`)
    an exception raised by a task, in the ``PICKLE5`` layout. :func:`deserialize`
    returns the exception object; the caller decides when to raise it.

Object references inside a value are not pickled as ordinary objects: the
runtime registers its reference class with :func:`register_ref_type`, and the
pickler replaces each reference by the state that class's ``to_state`` gives,
collects it into :attr:`SerializedObject.nested_refs`, and rebuilds it with
``from_state`` when the value is read.

Thread safety: every function here may be called from any thread;
:func:`register_ref_type` is meant to run once at import time.
"""

from __future__ import annotations

import copyreg
import functools
import hashlib
import io
import pickle
import struct
import warnings
import types
from types import FunctionType, MethodType
from typing import Any, Callable, Iterator, NamedTuple, Union

import cloudpickle

__all__ = [
    "ALIGNMENT",
    "FUNCTION_ID_SIZE",
    "METADATA_ERROR",
    "METADATA_PICKLE5",
    "METADATA_RAW",
    "SerializationError",
    "SerializedObject",
    "deserialize",
    "dumps_function",
    "function_id",
    "is_error",
    "loads_function",
    "register_ref_type",
    "serialize",
    "serialize_error",
]

METADATA_PICKLE5 = b"PICKLE5"
METADATA_RAW = b"RAW"
METADATA_ERROR = b"ERROR"

ALIGNMENT = 64
"""Out-of-band buffers start at offsets that are multiples of this."""

FUNCTION_ID_SIZE = 28
"""Length in bytes of the ids returned by :func:`function_id`."""

_MAGIC = b"CMT1"
_HEADER = struct.Struct("<4sIQ")  # magic, buffer count, pickle length
_ENTRY = struct.Struct("<QQ")  # buffer offset, buffer length
_PROTOCOL = 5

# Values of these exact types are pickled by the C pickler directly: they hold
# no functions and no references, and skipping cloudpickle's Python-level
# setup makes them several times cheaper.
_SCALAR_TYPES = frozenset({type(None), bool, int, float, complex, str})

_CONTAINER_TYPES = frozenset({tuple, list, dict})
_PLAIN_TYPES = _SCALAR_TYPES | {bytes}
_PLAIN_BUDGET = 64  # most items a container may hold to take the fast path

Buffer = Union[bytes, bytearray, memoryview]


class SerializationError(TypeError):
    """A value could not be serialized.

    Attributes:
        path: where the offending object sits inside the value, as Python
            syntax relative to the value (``"value['lock']"``), or ``None``.
        culprit_type: the offending object's type name (``"_thread.lock"``).
    """

    def __init__(self, message: str, path: str | None = None,
                 culprit_type: str | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.culprit_type = culprit_type


# --------------------------------------------------------------------------
# Reference types.


class _RefType(NamedTuple):
    key: str
    to_state: Callable[[Any], tuple]
    from_state: Callable[[tuple], Any]


_ref_types_by_class: dict[type, _RefType] = {}
_ref_types_by_key: dict[str, _RefType] = {}
_ref_classes: tuple[type, ...] = ()


def register_ref_type(cls: type, to_state: Callable[[Any], tuple],
                      from_state: Callable[[tuple], Any]) -> None:
    """Registers ``cls`` as an object reference type.

    Instances of ``cls`` (and of its subclasses) found inside a serialized value
    are stored as ``to_state(ref)``, a picklable tuple, and listed in
    :attr:`SerializedObject.nested_refs`; reading the value calls
    ``from_state(state)`` to rebuild them. Registering a class again replaces
    its functions.
    """
    global _ref_classes
    if not isinstance(cls, type):
        raise TypeError(f"register_ref_type expects a class, got {cls!r}")
    if not callable(to_state) or not callable(from_state):
        raise TypeError("to_state and from_state must be callable")
    entry = _RefType(f"{cls.__module__}.{cls.__qualname__}", to_state, from_state)
    _ref_types_by_class[cls] = entry
    _ref_types_by_key[entry.key] = entry
    _ref_classes = tuple(_ref_types_by_class)


def _ref_entry(obj: Any) -> _RefType:
    entry = _ref_types_by_class.get(type(obj))
    if entry is None:  # a subclass of a registered class
        for cls in type(obj).__mro__:
            if cls in _ref_types_by_class:
                return _ref_types_by_class[cls]
    return entry  # type: ignore[return-value]


def _restore_ref(key: str, state: tuple) -> Any:
    """Called by the unpickler for every reference in the value."""
    entry = _ref_types_by_key.get(key)
    if entry is None:
        raise pickle.UnpicklingError(
            f"the value holds a reference of type {key}, which is not "
            "registered in this process (see register_ref_type)")
    return entry.from_state(state)


class _HookError(Exception):
    """Carries an exception raised by a ref_hook through the pickler."""


class _Pickler(cloudpickle.Pickler):
    """cloudpickle's pickler, plus the replacement of references.

    References are handled in ``reducer_override`` rather than in
    ``persistent_id``: the C pickler calls ``persistent_id`` for every object,
    ints and strs included, which made a list of 1,000 ints four times slower
    to pickle, while ``reducer_override`` is only called for objects that are
    not of a builtin type, and cloudpickle already pays that call.
    """

    def __init__(self, file: io.BytesIO, buffer_callback: Callable[[Any], Any] | None,
                 ref_hook: Callable[[Any], tuple | None] | None) -> None:
        # Read by the C pickler's __init__, so it must be set before.
        self.dispatch_table = _dispatch_table()
        super().__init__(file, protocol=_PROTOCOL, buffer_callback=buffer_callback)
        self.nested_refs: list[Any] = []
        self._ref_hook = ref_hook

    def reducer_override(self, obj: Any) -> Any:
        if _ref_classes and isinstance(obj, _ref_classes):
            entry = _ref_entry(obj)
            state = None
            if self._ref_hook is not None:
                try:
                    state = self._ref_hook(obj)
                except Exception as e:
                    raise _HookError() from e
            if state is None:
                state = entry.to_state(obj)
            self.nested_refs.append(obj)
            return _restore_ref, (entry.key, state)
        if not isinstance(obj, (FunctionType, type)):
            return NotImplemented  # cloudpickle only handles these two kinds
        if id(obj) in _by_reference:
            return NotImplemented
        reduced = super().reducer_override(obj)
        if reduced is NotImplemented:
            _by_reference[id(obj)] = obj
        return reduced


# Functions and classes that cloudpickle pickles by reference (by module and
# name), keyed by id; the value keeps the object alive so that its id is not
# reused. Deciding that takes cloudpickle several microseconds per object
# (a numpy array pickles its dtype class and a module function), so the
# answer is remembered until the set of modules registered with
# cloudpickle.register_pickle_by_value changes. (A function replaced by
# importlib.reload keeps being pickled by reference, which loads the new one.)
_by_reference: dict[int, Any] = {}
_by_value_modules: Any = getattr(getattr(cloudpickle, "cloudpickle", None),
                                 "_PICKLE_BY_VALUE_MODULES", None)
_by_value_snapshot: frozenset[str] = frozenset()


# cloudpickle's dispatch table is a ChainMap over copyreg's, which costs a
# Python-level lookup per object of a non-builtin type; this plain dict holds
# the same entries and is rebuilt when copyreg's table grows or shrinks.
_merged_dispatch: dict[type, Any] = {}
_merged_from_size = -1


def _dispatch_table() -> dict[type, Any]:
    global _merged_dispatch, _merged_from_size
    if len(copyreg.dispatch_table) != _merged_from_size:
        merged = dict(copyreg.dispatch_table)
        merged.update(getattr(cloudpickle.Pickler, "_dispatch_table", {}))
        cloudpickle_code = merged.get(types.CodeType)
        if cloudpickle_code is not None:
            merged[types.CodeType] = functools.partial(_code_keeping_filename, cloudpickle_code)
        _merged_dispatch, _merged_from_size = merged, len(copyreg.dispatch_table)
    return _merged_dispatch


# What cloudpickle (>= 3.1.3) puts in place of a pickled code object's file.
_DYNAMIC_FILENAME = "<dynamic-code>"


def _code_keeping_filename(reduce: Callable[[Any], tuple], code: types.CodeType) -> tuple:
    """cloudpickle's reduction of a code object (a function pickled by value),
    with the real file name kept: tracebacks of a task then show its source
    lines, read on the worker's machine when the file is there too."""
    constructor, args = reduce(code)[:2]
    args = tuple(code.co_filename if a == _DYNAMIC_FILENAME and isinstance(a, str) else a
                 for a in args)
    return constructor, args


def _check_by_reference_cache() -> None:
    global _by_value_snapshot
    if _by_value_modules is None:
        _by_reference.clear()  # cannot tell when it goes stale: no caching
    elif _by_value_modules != _by_value_snapshot:
        _by_value_snapshot = frozenset(_by_value_modules)
        _by_reference.clear()


# --------------------------------------------------------------------------
# Serializing.


class SerializedObject:
    """A value serialized but not yet written anywhere.

    It holds views of the value's out-of-band buffers (numpy arrays' memory),
    not copies: write it out before the value is modified.

    Attributes:
        metadata: the tag that tells :func:`deserialize` how to read the data.
        total_bytes: the size of the data; :meth:`write_to` writes exactly
            this many bytes.
        nested_refs: the object references found inside the value, in the
            order the pickler met them; a reference object that appears several
            times is listed once (pickle's memo shares the repeats).
    """

    __slots__ = ("metadata", "total_bytes", "nested_refs", "_header", "_pickled",
                 "_buffers", "_offsets")

    def __init__(self, metadata: bytes, header: bytes, pickled: bytes,
                 buffers: list[memoryview], offsets: list[int], total_bytes: int,
                 nested_refs: list[Any]) -> None:
        self.metadata = metadata
        self.total_bytes = total_bytes
        self.nested_refs = nested_refs
        self._header = header
        self._pickled = pickled
        self._buffers = buffers
        self._offsets = offsets

    def __repr__(self) -> str:
        return (f"SerializedObject(metadata={self.metadata!r}, total_bytes="
                f"{self.total_bytes}, buffers={len(self._buffers)}, "
                f"nested_refs={len(self.nested_refs)})")

    def write_to(self, buf: memoryview) -> None:
        """Writes the data into ``buf``, which must be writable and hold at
        least :attr:`total_bytes` bytes; bytes past that are left alone.

        Each part is copied once, so writing into shared memory costs one copy
        of the value's buffers.
        """
        mv = memoryview(buf)
        if mv.readonly:
            raise ValueError("write_to needs a writable buffer")
        if mv.format != "B" or mv.ndim != 1:
            mv = mv.cast("B")
        if mv.nbytes < self.total_bytes:
            raise ValueError(f"buffer of {mv.nbytes} bytes is too small for "
                             f"{self.total_bytes} bytes")
        pos = len(self._header)
        mv[:pos] = self._header
        end = pos + len(self._pickled)
        mv[pos:end] = self._pickled
        for offset, buffer in zip(self._offsets, self._buffers):
            if offset > end:
                mv[end:offset] = bytes(offset - end)  # zeroed alignment padding
            end = offset + buffer.nbytes
            mv[offset:end] = buffer

    def to_bytes(self) -> bytes:
        """Returns the data as one ``bytes`` object (one copy of each part)."""
        if not self._buffers:
            if not self._header:
                return self._pickled
            return self._header + self._pickled
        parts: list[Any] = [self._header, self._pickled]
        end = len(self._header) + len(self._pickled)
        for offset, buffer in zip(self._offsets, self._buffers):
            parts.append(bytes(offset - end))
            parts.append(buffer)
            end = offset + buffer.nbytes
        return b"".join(parts)


def serialize(value: Any, ref_hook: Callable[[Any], tuple | None] | None = None,
              ) -> SerializedObject:
    """Serializes ``value`` for a task argument, a return value or ``put``.

    ``ref_hook``, if given, is called with every object reference found inside
    the value, while pickling; it may return a state tuple to store instead of
    the registered ``to_state(ref)``, or ``None`` to keep it. Exceptions it
    raises propagate unchanged.

    Raises:
        SerializationError: (a ``TypeError``) the value cannot be pickled; the
            message names the offending object, its type and its path inside
            the value.
    """
    value_type = type(value)
    if value_type is bytes:
        return SerializedObject(METADATA_RAW, b"", value, [], [], len(value), [])
    if value_type in _SCALAR_TYPES or (value_type in _CONTAINER_TYPES
                                       and _is_plain(value, _PLAIN_BUDGET) >= 0):
        pickled = pickle.dumps(value, _PROTOCOL)
        header = _HEADER.pack(_MAGIC, 0, len(pickled))
        return SerializedObject(METADATA_PICKLE5, header, pickled, [], [],
                                len(header) + len(pickled), [])
    return _serialize_pickle(value, METADATA_PICKLE5, ref_hook)


def _is_plain(value: Any, budget: int) -> int:
    """Checks that a small container holds only scalars, bytes and small
    containers of them, so the C pickler can take it as is. Returns the budget
    left, negative when the check fails or runs out of budget."""
    items = value.items() if type(value) is dict else value
    budget -= len(value)
    if budget < 0:
        return -1
    for item in items:
        if type(item) is tuple and type(value) is dict:  # a (key, value) pair
            key, item = item
            if type(key) not in _PLAIN_TYPES:
                return -1
        item_type = type(item)
        if item_type in _PLAIN_TYPES:
            continue
        if item_type not in _CONTAINER_TYPES:
            return -1
        budget = _is_plain(item, budget)
        if budget < 0:
            return -1
    return budget


def serialize_error(error: BaseException,
                    ref_hook: Callable[[Any], tuple | None] | None = None,
                    ) -> SerializedObject:
    """Serializes an exception raised by a task, tagged :data:`METADATA_ERROR`.

    If the exception cannot be pickled, a stand-in that keeps its type name,
    message and traceback text is stored instead (for a
    :class:`~comet.exceptions.RayTaskError`, its cause is replaced).
    """
    try:
        return _serialize_pickle(error, METADATA_ERROR, ref_hook)
    except SerializationError:
        from comet.exceptions import RayTaskError, UnserializableException

        if isinstance(error, RayTaskError):
            stand_in: BaseException = error.with_cause(
                UnserializableException.from_exception(error.cause))
        else:
            stand_in = UnserializableException.from_exception(error)
        return _serialize_pickle(stand_in, METADATA_ERROR, ref_hook)


def _serialize_pickle(value: Any, metadata: bytes,
                      ref_hook: Callable[[Any], tuple | None] | None,
                      ) -> SerializedObject:
    _check_by_reference_cache()
    buffers: list[memoryview] = []

    def buffer_callback(pickle_buffer: pickle.PickleBuffer) -> bool:
        buffers.append(pickle_buffer.raw())  # BufferError if not contiguous
        return False  # out of band

    file = io.BytesIO()
    pickler = _Pickler(file, buffer_callback, ref_hook)
    try:
        pickler.dump(value)
    except _HookError as e:
        raise e.__cause__ from None  # type: ignore[misc]
    except Exception as e:
        raise _serialization_error(value, e) from e
    pickled = file.getvalue()

    count = len(buffers)
    start = _HEADER.size + count * _ENTRY.size
    end = start + len(pickled)
    offsets = []
    entries = []
    for buffer in buffers:
        offset = -(-end // ALIGNMENT) * ALIGNMENT
        offsets.append(offset)
        entries.append(_ENTRY.pack(offset, buffer.nbytes))
        end = offset + buffer.nbytes
    header = _HEADER.pack(_MAGIC, count, len(pickled)) + b"".join(entries)
    return SerializedObject(metadata, header, pickled, buffers, offsets, end,
                            pickler.nested_refs)


# --------------------------------------------------------------------------
# Deserializing.


def is_error(metadata: bytes) -> bool:
    """Whether data with this metadata holds an exception raised by a task."""
    return metadata == METADATA_ERROR


def deserialize(data: Buffer, metadata: bytes) -> Any:
    """Reads a value written by :func:`serialize` or :func:`serialize_error`.

    Out-of-band buffers are not copied: a numpy array in the value is a view of
    ``data``, read-only when ``data`` is (``bytes``, or a read-only memoryview
    of shared memory). The caller must keep the memory behind ``data`` valid
    while the value is in use (a memoryview of a plasma buffer keeps it
    pinned). For error metadata the exception object is returned, not raised;
    if it cannot be read, a :class:`~comet.exceptions.RaySystemError`
    describing why is returned instead.

    Raises:
        ValueError: unknown metadata or data not in the expected layout.
    """
    if metadata == METADATA_RAW:
        return data if type(data) is bytes else bytes(data)
    if metadata == METADATA_PICKLE5:
        pickled, buffers = _split(data)
        return pickle.loads(pickled, buffers=buffers)
    if metadata == METADATA_ERROR:
        pickled, buffers = _split(data)
        try:
            return pickle.loads(pickled, buffers=buffers)
        except Exception as e:
            from comet.exceptions import RaySystemError

            return RaySystemError(f"Failed to deserialize an exception raised "
                                  f"by a task: {type(e).__name__}: {e}")
    raise ValueError(f"unknown serialization metadata {bytes(metadata)!r}")


def _split(data: Buffer) -> tuple[Buffer, list[memoryview] | None]:
    """Returns the pickle stream and the out-of-band buffers of ``data``."""
    try:
        magic, count, pickle_len = _HEADER.unpack_from(data)
    except struct.error:
        raise ValueError("data too short for a Comet serialized value") from None
    if magic != _MAGIC:
        raise ValueError(f"not a Comet serialized value (magic {magic!r})")
    start = _HEADER.size + count * _ENTRY.size
    end = start + pickle_len
    mv = memoryview(data)
    if mv.format != "B" or mv.ndim != 1:
        mv = mv.cast("B")
    total = mv.nbytes
    if end > total:
        raise ValueError("truncated Comet serialized value")
    if count == 0:
        return mv[start:end], None
    buffers = []
    for offset, length in _ENTRY.iter_unpack(mv[_HEADER.size:start]):
        if offset + length > total:
            raise ValueError("truncated Comet serialized value")
        buffers.append(mv[offset:offset + length])
    return mv[start:end], buffers


# --------------------------------------------------------------------------
# Functions and classes.


def dumps_function(fn: Any) -> bytes:
    """Pickles a function or class with cloudpickle (by value when it is not
    importable, e.g. defined in ``__main__`` or inside another function).

    Raises:
        SerializationError: ``fn`` (or something it captures) cannot be
            pickled; the message names the offending object.
    """
    file = io.BytesIO()
    try:
        _Pickler(file, None, None).dump(fn)
    except Exception as e:
        raise _serialization_error(fn, e, root=getattr(fn, "__name__", "value")) from e
    return file.getvalue()


# A pickled function or class this big probably captured data by accident
# (a closure over a large array): warn, and refuse past the error size, as
# Ray does. Data belongs in the object store (comet.put) instead.
FUNCTION_SIZE_WARN_BYTES = 10**7
FUNCTION_SIZE_ERROR_BYTES = 10**8


def check_function_size(kind: str, name: str, pickled: bytes) -> None:
    """Warns about, or (ValueError) refuses, an oversized pickled ``kind``
    ("remote function", "actor class") named ``name``."""
    size = len(pickled)
    if size <= FUNCTION_SIZE_WARN_BYTES:
        return
    advice = (f"Check that its definition does not capture a large object from its scope "
              f"(a closure over an array, a global it uses); put such data in the object "
              f"store with comet.put() and pass the ref instead.")
    if size > FUNCTION_SIZE_ERROR_BYTES:
        raise ValueError(f"The {kind} {name} is too large: {size / 2**20:.1f} MiB pickled, "
                         f"over the limit of {FUNCTION_SIZE_ERROR_BYTES / 2**20:.0f} MiB. "
                         f"{advice}")
    warnings.warn(f"The {kind} {name} is {size / 2**20:.1f} MiB pickled, which is large "
                  f"(warning above {FUNCTION_SIZE_WARN_BYTES / 2**20:.0f} MiB). {advice}",
                  UserWarning, stacklevel=4)


def loads_function(data: Buffer) -> Any:
    """Reads a function or class pickled by :func:`dumps_function`."""
    return pickle.loads(data)


def function_id(fn_bytes: Buffer) -> bytes:
    """A 28-byte id of a pickled function: the truncated SHA-256 of its bytes."""
    return hashlib.sha256(fn_bytes).digest()[:FUNCTION_ID_SIZE]


# --------------------------------------------------------------------------
# Finding what cannot be pickled.

_MAX_DEPTH = 30
_MAX_CHILDREN = 1000


def _serialization_error(value: Any, error: Exception,
                         root: str = "value") -> SerializationError:
    path, culprit = _find_culprit(value, root)
    culprit_type = _type_name(culprit)
    reason = f"{type(error).__name__}: {error}"
    if culprit is value:
        message = f"Could not serialize {root} of type {culprit_type} ({reason})."
    else:
        message = (f"Could not serialize {root} of type {_type_name(value)}: "
                   f"{path} of type {culprit_type} cannot be serialized ({reason}).")
    return SerializationError(message, path=path, culprit_type=culprit_type)


def _type_name(obj: Any) -> str:
    cls = type(obj)
    module = getattr(cls, "__module__", None)
    if module in (None, "builtins"):
        return cls.__qualname__
    return f"{module}.{cls.__qualname__}"


def _fails_to_pickle(obj: Any) -> bool:
    try:
        _Pickler(io.BytesIO(), _discard_buffer, None).dump(obj)
    except Exception:
        return True
    return False


def _discard_buffer(_: Any) -> bool:
    return False  # out of band, so large buffers are not copied while probing


def _find_culprit(value: Any, root: str) -> tuple[str, Any]:
    """Walks down the parts of ``value`` that fail to pickle, best effort.

    Returns the path and object of the deepest part that fails while none of
    its own parts does.
    """
    path, obj = root, value
    seen: set[int] = set()
    for _ in range(_MAX_DEPTH):
        seen.add(id(obj))
        for suffix, child in _children(obj):
            if id(child) not in seen and _fails_to_pickle(child):
                path, obj = path + suffix, child
                break
        else:
            break
    return path, obj


def _children(obj: Any) -> Iterator[tuple[str, Any]]:
    try:
        yield from _children_unchecked(obj)
    except Exception:  # a part that fails to be listed is not reported
        return


def _children_unchecked(obj: Any) -> Iterator[tuple[str, Any]]:
    count = 0
    if isinstance(obj, dict):
        for key, item in obj.items():
            yield f"[{_short_repr(key)}]", item
            yield f".keys() <{_short_repr(key)}>", key
            count += 1
            if count >= _MAX_CHILDREN:
                return
    elif isinstance(obj, (list, tuple)):
        for index, item in enumerate(obj[:_MAX_CHILDREN]):
            yield f"[{index}]", item
    elif isinstance(obj, (set, frozenset)):
        for item in obj:
            yield f" <element {_short_repr(item)}>", item
            count += 1
            if count >= _MAX_CHILDREN:
                return
    elif isinstance(obj, FunctionType):
        yield from _function_children(obj)
    elif isinstance(obj, MethodType):
        yield ".__self__", obj.__self__
        yield ".__func__", obj.__func__
    elif isinstance(obj, type):
        for name, item in list(vars(obj).items())[:_MAX_CHILDREN]:
            if not name.startswith("__"):
                yield f".{name}", item
    else:
        yield from _attribute_children(obj)


def _function_children(fn: FunctionType) -> Iterator[tuple[str, Any]]:
    if fn.__closure__:
        for name, cell in zip(fn.__code__.co_freevars, fn.__closure__):
            try:
                content = cell.cell_contents
            except ValueError:  # empty cell
                continue
            yield f" <closure variable {name!r}>", content
    for name in _global_names(fn.__code__):
        if name in fn.__globals__:
            yield f" <global {name!r}>", fn.__globals__[name]
    for index, default in enumerate(fn.__defaults__ or ()):
        yield f".__defaults__[{index}]", default
    for name, default in (fn.__kwdefaults__ or {}).items():
        yield f".__kwdefaults__[{name!r}]", default


def _global_names(code: Any) -> Iterator[str]:
    yield from code.co_names
    for const in code.co_consts:
        if hasattr(const, "co_names"):
            yield from _global_names(const)


def _attribute_children(obj: Any) -> Iterator[tuple[str, Any]]:
    attributes = getattr(obj, "__dict__", None)
    if isinstance(attributes, dict):
        for name, item in list(attributes.items())[:_MAX_CHILDREN]:
            yield f".{name}", item
    for cls in type(obj).__mro__:
        slots = cls.__dict__.get("__slots__", ())
        for name in (slots,) if isinstance(slots, str) else slots:
            if name not in ("__dict__", "__weakref__") and hasattr(obj, name):
                yield f".{name}", getattr(obj, name)
    if hasattr(obj, "func") and hasattr(obj, "args") and hasattr(obj, "keywords"):
        # functools.partial and the like
        yield ".func", obj.func
        yield ".args", obj.args
        yield ".keywords", obj.keywords


def _short_repr(obj: Any) -> str:
    try:
        text = repr(obj)
    except Exception:
        text = f"<{_type_name(obj)} object>"
    return text if len(text) <= 60 else text[:57] + "..."
