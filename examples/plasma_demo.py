"""Demo: two processes share a 100 MiB numpy array through the plasma store.

A plasma store process is started; a child process writes an array into shared
memory; this process reads it back without copying and checks it.

    python examples/plasma_demo.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import numpy as np

from comet._private.plasma_store import PlasmaStoreProcess
from comet._raylet import PlasmaClient

WRITER = """
import sys
import numpy as np
from comet._raylet import PlasmaClient
client = PlasmaClient(sys.argv[1], "writer")
oid = bytes.fromhex(sys.argv[2])
n = int(sys.argv[3])
view = client.create(oid, n * 8)
np.frombuffer(view, dtype=np.float64)[:] = np.arange(n, dtype=np.float64)
client.seal(oid)
"""


def main() -> None:
    n = 100 * 2**20 // 8
    with PlasmaStoreProcess(512 * 2**20) as store:
        oid = os.urandom(28)
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-c", WRITER, store.socket_path, oid.hex(), str(n)], check=True
        )
        client = PlasmaClient(store.socket_path, "demo")
        [view] = client.get([oid], timeout_ms=10_000)
        array = np.frombuffer(view, dtype=np.float64)
        elapsed = time.perf_counter() - start
        assert array[-1] == n - 1 and not array.flags.writeable
        print(f"read {array.nbytes / 2**20:.0f} MiB written by another process "
              f"(zero-copy, read-only) in {elapsed:.2f}s; sum={array.sum():.0f}")
        print("store stats:", client.stats())


if __name__ == "__main__":
    main()
