"""Runs every workload against Comet and Ray, interleaved, and rewrites RESULTS.md.

    python bench/run_bench.py [--rounds 3] [--scale 1.0] [--only NAME ...]

Comet runs in this interpreter's environment; Ray in bench/.venv-ray (made
with `python -m venv bench/.venv-ray && bench/.venv-ray/bin/pip install ray numpy`).
Each round runs both systems in a fresh process each, alternating which goes
first, so that machine noise falls on both. Reports median [min-max] and the
ratio Comet/Ray of the medians (above 1: Comet is faster).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
RAY_PYTHON = HERE / ".venv-ray" / "bin" / "python"
sys.path.insert(0, str(HERE))
from workloads import WORKLOADS  # noqa: E402


def run_one(system: str, workload: str, scale: float) -> float:
    python = sys.executable if system == "comet" else str(RAY_PYTHON)
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    proc = subprocess.run(
        [python, str(HERE / "workloads.py"), "--system", system, "--workload", workload,
         "--scale", str(scale)],
        capture_output=True, text=True, timeout=900, env=env, cwd="/tmp")
    if proc.returncode != 0:
        raise RuntimeError(f"{system} {workload} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])["value"]


def version_of(python: str, module: str) -> str:
    out = subprocess.run([python, "-c", f"import {module}; print({module}.__version__)"],
                         capture_output=True, text=True, cwd="/tmp")
    return out.stdout.strip() or "?"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--only", nargs="*")
    parser.add_argument("--out", default=str(HERE / "RESULTS.md"))
    args = parser.parse_args()
    if not RAY_PYTHON.exists():
        sys.exit(f"Ray's virtualenv is missing: python -m venv {HERE}/.venv-ray && "
                 f"{HERE}/.venv-ray/bin/pip install ray numpy")
    names = args.only or list(WORKLOADS)
    rows = []
    for name in names:
        samples: dict[str, list[float]] = {"comet": [], "ray": []}
        for r in range(args.rounds):
            order = ("comet", "ray") if r % 2 == 0 else ("ray", "comet")
            for system in order:
                samples[system].append(run_one(system, name, args.scale))
        med = {s: statistics.median(v) for s, v in samples.items()}
        unit = WORKLOADS[name][1]
        # Ratios read "how many times better Comet is" for every metric.
        lower_is_better = "lower is better" in unit
        ratio = med["ray"] / med["comet"] if lower_is_better else med["comet"] / med["ray"]
        rows.append((name, unit, samples, med, ratio))
        print(f"{name:32s} comet {med['comet']:12.1f}  ray {med['ray']:12.1f}  "
              f"ratio {ratio:.2f}", flush=True)
    write_results(args, rows)


def fmt(values: list[float]) -> str:
    med = statistics.median(values)
    digits = 3 if med < 10 else 1
    return f"{med:,.{digits}f} [{min(values):,.{digits}f}–{max(values):,.{digits}f}]"


def write_results(args: argparse.Namespace, rows: list) -> None:
    lines = [
        "## Comet vs Ray microbenchmarks",
        "",
        f"- date: {datetime.date.today()}",
        f"- machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB, "
        f"{platform.platform()}",
        f"- versions: comet {version_of(sys.executable, 'comet')}, "
        f"ray {version_of(str(RAY_PYTHON), 'ray')}, python {platform.python_version()}",
        f"- command: `python bench/run_bench.py --rounds {args.rounds} --scale {args.scale}`",
        f"- each figure: median [min–max] of {args.rounds} runs, each in a fresh process with "
        "`init(num_cpus=2)`; systems interleaved; ratio = how many times better Comet is (Comet/Ray for rates, Ray/Comet for times and memory)",
        "",
        "| workload | unit | Comet | Ray | ratio |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, unit, samples, med, ratio in rows:
        lines.append(f"| {name} | {unit} | {fmt(samples['comet'])} | {fmt(samples['ray'])} | "
                     f"{ratio:.2f} |")
    out = Path(args.out)
    text = out.read_text() if out.exists() else "# Benchmark results\n"
    marker = "## Comet vs Ray microbenchmarks"
    if marker in text:
        before, _, after = text.partition(marker)
        rest = after.split("\n## ", 1)
        text = before + "\n".join(lines) + ("\n\n## " + rest[1] if len(rest) > 1 else "\n")
    else:
        text = text.rstrip("\n") + "\n\n" + "\n".join(lines) + "\n"
    out.write_text(text)


if __name__ == "__main__":
    main()
