"""Quickstart: tasks, objects and a numpy array through Comet.

    python examples/quickstart.py

Also a Ray Core program: replace `import comet` by `import ray` and it runs the same.
"""

from __future__ import annotations

import time

import numpy as np

import comet


@comet.remote
def square(x: int) -> int:
    return x * x


@comet.remote
def total(values: list[int]) -> int:
    return sum(values)


@comet.remote
def column_means(matrix: np.ndarray) -> np.ndarray:
    return matrix.mean(axis=0)


def main() -> None:
    start = time.perf_counter()
    comet.init(num_cpus=2)
    print(f"cluster up in {time.perf_counter() - start:.2f}s: {comet.cluster_resources()}")

    squares = [square.remote(i) for i in range(100)]
    print("sum of squares 0..99 =", comet.get(total.remote(comet.get(squares))))

    matrix = np.random.default_rng(0).random((2000, 500))
    ref = comet.put(matrix)  # 8 MB, stored once in shared memory
    means = comet.get(column_means.remote(ref))
    assert np.allclose(means, matrix.mean(axis=0))
    print("column means of an 8 MB matrix computed remotely:", means[:3], "...")

    start = time.perf_counter()
    comet.get([square.remote(i) for i in range(2000)])
    print(f"2000 tiny tasks in {time.perf_counter() - start:.2f}s")
    comet.shutdown()


if __name__ == "__main__":
    main()
