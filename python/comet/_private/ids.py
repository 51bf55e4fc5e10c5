"""Id objects with Ray's names (``JobID``, ``NodeID``, ``TaskID``, ``ActorID``,
``WorkerID``, and ``PlacementGroupID`` in comet.util.placement_group):
immutable wrappers of an id's bytes with ``hex()``, ``binary()``, equality
and hashing, as the runtime context returns them."""

from __future__ import annotations


class BaseID:
    """An id: its bytes, shown as hex."""

    __slots__ = ("_binary",)

    def __init__(self, binary: bytes) -> None:
        if not isinstance(binary, bytes):
            raise TypeError(f"{type(self).__name__} takes bytes, got {type(binary).__name__}")
        self._binary = binary

    @classmethod
    def from_hex(cls, hex_id: str) -> BaseID:
        """The id whose hex form is ``hex_id``."""
        return cls(bytes.fromhex(hex_id))

    def binary(self) -> bytes:
        """The id's bytes."""
        return self._binary

    def hex(self) -> str:
        """The id as a hex string."""
        return self._binary.hex()

    def is_nil(self) -> bool:
        """Whether the id is all 0xff bytes or empty (no such entity)."""
        return not self._binary or self._binary == b"\xff" * len(self._binary)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other._binary == self._binary  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._binary))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.hex()})"

    def __reduce__(self) -> tuple:
        return (type(self), (self._binary,))


class JobID(BaseID):
    __slots__ = ()


class NodeID(BaseID):
    __slots__ = ()


class TaskID(BaseID):
    __slots__ = ()


class ActorID(BaseID):
    __slots__ = ()


class WorkerID(BaseID):
    __slots__ = ()
