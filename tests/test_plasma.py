"""The plasma store through the Python binding, across real processes.

Each test starts a real `plasma_store` process; writers and readers are
separate Python processes that map the same shared memory.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from comet._private.plasma_store import PlasmaStoreProcess
from comet._raylet import (
    PlasmaClient,
    PlasmaObjectExists,
    PlasmaObjectNotFound,
    PlasmaStoreFull,
)

MiB = 1 << 20


@pytest.fixture
def store():
    with PlasmaStoreProcess(64 * MiB) as s:
        yield s
        assert s.poll() is None, "the store died during the test"
    assert s.poll() is not None


def run_python(code: str, *args: str, timeout: float = 60) -> str:
    """Runs `code` in a fresh interpreter and returns its stdout."""
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def wait_until(cond, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.01)
    return cond()


WRITER = """
import sys
import numpy as np
from comet._raylet import PlasmaClient
client = PlasmaClient(sys.argv[1], "writer")
oid = bytes.fromhex(sys.argv[2])
n = int(sys.argv[3])
view = client.create(oid, n * 8, 4)
arr = np.frombuffer(view, dtype=np.int64)
arr[:] = np.arange(n, dtype=np.int64)
client.seal(oid)
print("sealed")
"""


def test_numpy_array_written_by_one_process_is_read_zero_copy_by_another(store):
    oid = os.urandom(28)
    n = 2 * MiB  # 16 MiB of int64
    assert "sealed" in run_python(WRITER, store.socket_path, oid.hex(), str(n))
    client = PlasmaClient(store.socket_path, "reader")
    [view] = client.get([oid], timeout_ms=5000)
    assert view is not None and view.readonly
    arr = np.frombuffer(view, dtype=np.int64)
    assert not arr.flags.writeable
    np.testing.assert_array_equal(arr, np.arange(n, dtype=np.int64))
    # A second get maps the same shared memory: same address, no copy.
    [again] = client.get([oid], timeout_ms=0)
    assert np.frombuffer(again, dtype=np.int64).ctypes.data == arr.ctypes.data
    with pytest.raises((TypeError, ValueError)):
        arr[0] = 1


def test_reader_in_another_process_sees_parent_put(store):
    client = PlasmaClient(store.socket_path)
    oid = os.urandom(28)
    payload = np.random.default_rng(0).bytes(3 * MiB + 17)
    client.put(oid, payload, b"meta")
    out = run_python(
        """
        import hashlib, sys
        from comet._raylet import PlasmaClient
        c = PlasmaClient(sys.argv[1])
        [v] = c.get([bytes.fromhex(sys.argv[2])], 5000)
        print(hashlib.sha256(v).hexdigest(), v.obj.metadata.decode(), len(v))
        """,
        store.socket_path,
        oid.hex(),
    )
    import hashlib

    assert out.split() == [hashlib.sha256(payload).hexdigest(), "meta", str(len(payload))]


def test_get_blocks_until_sealed_and_times_out_otherwise(store):
    client = PlasmaClient(store.socket_path)
    missing = os.urandom(28)
    start = time.monotonic()
    assert client.get([missing], timeout_ms=100) == [None]
    assert time.monotonic() - start >= 0.09
    oid = os.urandom(28)
    writer = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(0.3)\n" + WRITER,
         store.socket_path, oid.hex(), "10"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        [view] = client.get([oid], timeout_ms=30000)
        assert list(np.frombuffer(view, dtype=np.int64)) == list(range(10))
    finally:
        assert writer.wait(timeout=30) == 0


def test_references_are_released_when_views_are_collected(store):
    client = PlasmaClient(store.socket_path)
    oid = os.urandom(28)
    client.put(oid, b"x" * 1000)
    views = client.get([oid, oid], timeout_ms=0)
    assert client.list()[0]["ref_count"] == 2
    del views
    assert client.list()[0]["ref_count"] == 0
    # A deleted object is gone once unreferenced.
    client.delete([oid])
    assert not client.contains(oid)
    assert client.stats()["used_bytes"] == 0


def test_bad_input_gets_clear_errors(store):
    client = PlasmaClient(store.socket_path)
    with pytest.raises(ValueError, match="28 bytes"):
        client.get([b"too short"])
    with pytest.raises(ValueError, match="negative"):
        client.create(os.urandom(28), -1)
    oid = os.urandom(28)
    client.put(oid, b"once")
    with pytest.raises(PlasmaObjectExists, match="already exists"):
        client.put(oid, b"twice")
    with pytest.raises(PlasmaObjectNotFound):
        client.seal(os.urandom(28))
    with pytest.raises(PlasmaObjectNotFound):
        client.delete([os.urandom(28)])
    with pytest.raises(PlasmaStoreFull, match="exceeds the object store capacity"):
        client.create(os.urandom(28), 65 * MiB)
    with pytest.raises(ConnectionError, match="cannot connect"):
        PlasmaClient(store.socket_path + ".nothing-here")
    # The original object is intact after all of that.
    [view] = client.get([oid], 0)
    assert bytes(view) == b"once"


def test_killed_client_releases_what_it_held(store):
    observer = PlasmaClient(store.socket_path)
    held, unsealed = os.urandom(28), os.urandom(28)
    observer.put(held, b"shared")
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                """
                import sys, time
                from comet._raylet import PlasmaClient
                c = PlasmaClient(sys.argv[1])
                views = c.get([bytes.fromhex(sys.argv[2])] * 3, 5000)
                buf = c.create(bytes.fromhex(sys.argv[3]), 4096)
                print("holding", flush=True)
                time.sleep(600)
                """
            ),
            store.socket_path,
            held.hex(),
            unsealed.hex(),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout.readline().strip() == "holding"
        refs = {o["object_id"]: o for o in observer.list()}
        assert refs[held]["ref_count"] == 3 and not refs[unsealed]["sealed"]
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        child.stdout.close()

    def cleaned() -> bool:
        objs = {o["object_id"]: o for o in observer.list()}
        return unsealed not in objs and objs[held]["ref_count"] == 0

    assert wait_until(cleaned)


def test_full_store_evicts_unreferenced_objects():
    with PlasmaStoreProcess(8 * MiB) as s:
        client = PlasmaClient(s.socket_path)
        ids = [os.urandom(28) for _ in range(6)]
        for oid in ids:
            client.put(oid, b"\1" * (2 * MiB))
        stats = client.stats()
        # Four objects fill the store; each later one evicts the oldest.
        assert stats["num_evictions"] == 2
        assert stats["bytes_evicted"] == 4 * MiB
        assert stats["used_bytes"] == 8 * MiB
        assert [client.contains(oid) for oid in ids] == [False, False] + [True] * 4


def test_full_store_falls_back_to_a_file_mapping(tmp_path):
    spill = tmp_path / "spill"
    spill.mkdir()
    env = {"COMET_plasma_create_fallback_timeout_ms": "200"}
    with PlasmaStoreProcess(4 * MiB, fallback_dir=str(spill), env=env) as s:
        pinner = PlasmaClient(s.socket_path)
        pinned = pinner.create(os.urandom(28), 3 * MiB)  # Held, unsealed: not evictable.
        client = PlasmaClient(s.socket_path)
        oid = os.urandom(28)
        view = client.create(oid, 2 * MiB)
        view[:] = b"\7" * (2 * MiB)
        client.seal(oid)
        del view
        stats = client.stats()
        assert stats["num_fallback_allocations"] == 1
        assert stats["fallback_bytes"] >= 2 * MiB
        assert [o["fallback"] for o in client.list() if o["object_id"] == oid] == [True]
        out = run_python(
            """
            import sys
            from comet._raylet import PlasmaClient
            c = PlasmaClient(sys.argv[1])
            [v] = c.get([bytes.fromhex(sys.argv[2])], 5000)
            print(len(v), set(bytes(v)))
            """,
            s.socket_path,
            oid.hex(),
        )
        assert out.strip() == f"{2 * MiB} {{7}}"
        client.delete([oid])
        assert client.stats()["fallback_bytes"] == 0
        del pinned
    assert list(spill.iterdir()) == []  # Fallback files never outlive the store.


def test_fallback_disabled_fails_with_store_full(tmp_path):
    env = {
        "COMET_plasma_create_fallback_timeout_ms": "100",
        "COMET_plasma_fallback_allocation": "false",
    }
    with PlasmaStoreProcess(4 * MiB, env=env) as s:
        pinner = PlasmaClient(s.socket_path)
        pinned = pinner.create(os.urandom(28), 3 * MiB)
        client = PlasmaClient(s.socket_path)
        with pytest.raises(PlasmaStoreFull, match="fallback allocation is disabled"):
            client.create(os.urandom(28), 2 * MiB)
        del pinned


def test_garbage_on_the_socket_does_not_disturb_other_clients(store):
    good = PlasmaClient(store.socket_path)
    oid = os.urandom(28)
    good.put(oid, b"keep me")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as raw:
        raw.connect(store.socket_path)
        raw.sendall(b"\x00garbage that is not a plasma message" * 10)
        raw.settimeout(10)
        reply = raw.recv(4096)
        assert b"bad message magic" in reply
    [view] = good.get([oid], 0)
    assert bytes(view) == b"keep me"
    assert store.poll() is None


def test_second_store_on_the_same_socket_is_refused(store):
    with pytest.raises(RuntimeError, match="already serving"):
        PlasmaStoreProcess(MiB, socket_path=store.socket_path)
