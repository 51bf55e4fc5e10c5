"""The standard library's ``multiprocessing.Pool`` interface over Comet tasks.

    from comet.util.multiprocessing import Pool

    pool = Pool()
    squares = pool.map(lambda x: x * x, range(10_000))

See :class:`Pool`. ``TimeoutError`` is ``multiprocessing.TimeoutError``, what
``AsyncResult.get(timeout)`` raises.
"""

from __future__ import annotations

from multiprocessing import TimeoutError

from comet.util.multiprocessing.pool import Pool
from comet.util.multiprocessing.results import AsyncResult, IMapIterator, MapResult

__all__ = ["AsyncResult", "IMapIterator", "MapResult", "Pool", "TimeoutError"]
