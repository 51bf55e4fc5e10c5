"""What ``comet.init()`` returns: Ray's ``RayContext``, a read-only mapping of
the node's addresses that also ends the connection when used as a context
manager (``with comet.init(): ...``)."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from typing import Any


class CometContext(Mapping):
    """The connection ``comet.init()`` made.

    ``ctx["address"]`` (the GCS's HOST:PORT), ``ctx["node_id"]``,
    ``ctx["session_dir"]``... (see :attr:`address_info`); ``dashboard_url``
    (HOST:PORT, or None when the cluster runs no dashboard). ``with
    comet.init(...) as ctx:`` calls ``comet.shutdown()`` at the end.
    """

    def __init__(self, address_info: dict[str, Any], dashboard_url: str | None) -> None:
        self.address_info = dict(address_info)
        self.dashboard_url = dashboard_url
        self.python_version = "{}.{}.{}".format(*sys.version_info[:3])
        from comet import __version__

        self.comet_version = __version__

    def __getitem__(self, key: str) -> Any:
        return self.address_info[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.address_info)

    def __len__(self) -> int:
        return len(self.address_info)

    def disconnect(self) -> None:
        """Disconnects this process (``comet.shutdown()``)."""
        from comet._private.worker import shutdown

        shutdown()

    def __enter__(self) -> CometContext:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.disconnect()

    def __repr__(self) -> str:
        return f"CometContext(address={self.address_info.get('address')!r}, " \
               f"dashboard_url={self.dashboard_url!r})"


RayContext = CometContext
