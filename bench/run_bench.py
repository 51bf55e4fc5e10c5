"""Runs every workload against Comet and Ray, interleaved, and rewrites RESULTS.md.

    python bench/run_bench.py [--rounds 3] [--scale 1.0] [--only NAME ...]
                              [--section TITLE] [--out FILE]

Comet runs in this interpreter with the staged build of this checkout
(PYTHONPATH=<repo>/python, set here; $COMET_BENCH_PYTHONPATH names another
copy); Ray in bench/.venv-ray (made with
`python -m venv bench/.venv-ray && bench/.venv-ray/bin/pip install ray numpy`).
Each round runs both systems in a fresh process each, alternating which goes
first, so that machine noise falls on both. A workload returns one value or a
list of samples (repetitions inside one process); the samples of all rounds
are pooled. Reports median [min-max] and the ratio Comet/Ray of the medians
(above 1: Comet is faster). Rewrites the section `## <--section>` of the
output (default "Comet vs Ray microbenchmarks") and leaves the others alone.

The cost of the cluster token (Comet with auth on, the default, against the
same build with COMET_AUTH_MODE=disabled; no Ray needed):

    python bench/run_bench.py --against comet-auth-disabled --rounds 3 \
        --section "Cluster token: auth on vs off" \
        --only single_client_tasks_sync single_client_tasks_async multi_client_tasks_async \
        actor_calls_sync_1_1 actor_calls_async_1_1 actor_calls_async_n_n \
        single_client_put_calls single_client_get_calls

runtime_env (issue 13; Ray's venv needs `pip install virtualenv` for pip envs):

    python bench/run_bench.py --rounds 3 --section "runtime_env: a worker in a cached pip env" \
        --only actor_start_with_cached_pip_env_s

Workers' output at the driver (issue 13):

    python bench/run_bench.py --rounds 3 --section "Workers' output at the driver" \
        --only single_client_tasks_async_printing single_client_tasks_async

Cross-node transfer and spilling (issues 5 and 6):

    python bench/run_bench.py --rounds 2 --section "Cross-node transfer and spilling" \
        --only cross_node_transfer_1gib_gbps spill_write_gbps spill_restore_gbps
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
RAY_PYTHON = HERE / ".venv-ray" / "bin" / "python"
sys.path.insert(0, str(HERE))
from workloads import WORKLOADS  # noqa: E402


# The staged build of this checkout, or a copy of it (so that editing the
# tree does not change a run in progress).
COMET_PYTHONPATH = os.environ.get("COMET_BENCH_PYTHONPATH", str(HERE.parent / "python"))


# The second system of a run: Ray, or Comet itself with the cluster token off.
AGAINST = {"ray": "Ray", "comet-auth-disabled": "Comet, auth disabled"}


def env_for(system: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    env.pop("RAY_TMPDIR", None)
    env.pop("COMET_AUTH_MODE", None)
    if system.startswith("comet"):
        env["PYTHONPATH"] = COMET_PYTHONPATH
    if system == "comet-auth-disabled":
        env["COMET_AUTH_MODE"] = "disabled"
    return env


def run_one(system: str, workload: str, scale: float) -> list[float]:
    python = sys.executable if system.startswith("comet") else str(RAY_PYTHON)
    driver = "comet" if system.startswith("comet") else system
    proc = subprocess.run(
        [python, str(HERE / "workloads.py"), "--system", driver, "--workload", workload,
         "--scale", str(scale)],
        capture_output=True, text=True, timeout=900, env=env_for(system), cwd="/tmp")
    if proc.returncode != 0:
        raise RuntimeError(f"{system} {workload} failed:\n{proc.stderr[-3000:]}")
    for line in proc.stderr.splitlines():
        if line.startswith("[bench]"):
            print(f"  {system}: {line}", flush=True)
    value = json.loads(proc.stdout.strip().splitlines()[-1])["value"]
    return [float(v) for v in value] if isinstance(value, list) else [float(value)]


def version_of(python: str, module: str, system: str) -> str:
    out = subprocess.run([python, "-c", f"import {module}; print({module}.__version__)"],
                         capture_output=True, text=True, cwd="/tmp", env=env_for(system))
    return out.stdout.strip() or "?"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--only", nargs="*")
    parser.add_argument("--out", default=str(HERE / "RESULTS.md"))
    parser.add_argument("--section", default="Comet vs Ray microbenchmarks",
                        help="title of the RESULTS.md section to rewrite")
    parser.add_argument("--against", choices=sorted(AGAINST), default="ray",
                        help="what Comet is compared with [default: ray]")
    args = parser.parse_args()
    args.load_before = os.getloadavg()
    other = args.against
    if other == "ray" and not RAY_PYTHON.exists():
        sys.exit(f"Ray's virtualenv is missing: python -m venv {HERE}/.venv-ray && "
                 f"{HERE}/.venv-ray/bin/pip install ray numpy")
    names = args.only or list(WORKLOADS)
    rows = []
    for name in names:
        samples: dict[str, list[float]] = {"comet": [], other: []}
        for r in range(args.rounds):
            order = ("comet", other) if r % 2 == 0 else (other, "comet")
            for system in order:
                samples[system].extend(run_one(system, name, args.scale))
        med = {s: statistics.median(v) for s, v in samples.items()}
        med["ray"] = med[other]
        samples["ray"] = samples[other]
        unit = WORKLOADS[name][1]
        # Ratios read "how many times better Comet is" for every metric.
        lower_is_better = "lower is better" in unit
        ratio = med["ray"] / med["comet"] if lower_is_better else med["comet"] / med["ray"]
        rows.append((name, unit, samples, med, ratio))
        print(f"{name:32s} comet {med['comet']:12.3f}  {other} {med['ray']:12.3f}  "
              f"ratio {ratio:.2f}", flush=True)
    write_results(args, rows)


def fmt(values: list[float], rounds: int) -> str:
    med = statistics.median(values)
    digits = 3 if med < 10 else 1
    n = f" n={len(values)}" if len(values) != rounds else ""
    return f"{med:,.{digits}f} [{min(values):,.{digits}f}–{max(values):,.{digits}f}]{n}"


def write_results(args: argparse.Namespace, rows: list) -> None:
    marker = f"## {args.section}"
    load_after = os.getloadavg()
    command = "python bench/run_bench.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    other = AGAINST[args.against]
    versions = (f"- versions: comet {version_of(sys.executable, 'comet', 'comet')}, "
                + (f"ray {version_of(str(RAY_PYTHON), 'ray', 'ray')}, "
                   if args.against == "ray" else "")
                + f"python {platform.python_version()}")
    lines = [
        marker,
        "",
        f"- date: {datetime.date.today()}",
        f"- machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB, "
        f"{platform.platform()}",
        versions,
        f"- command: `{command.strip()}`",
        f"- load average (1 min) before / after the run: {args.load_before[0]:.1f} / "
        f"{load_after[0]:.1f} (other work shares the machine)",
        f"- each figure: median [min–max] of the samples of {args.rounds} rounds (n = samples "
        "per system), each round a fresh process per system (`init(num_cpus=2)` unless the "
        "workload says otherwise); systems interleaved; ratio = how many times better Comet "
        f"is (Comet/{other} for rates, {other}/Comet for times and memory)",
        "",
        f"| workload | unit | Comet | {other} | ratio |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, unit, samples, med, ratio in rows:
        lines.append(f"| {name} | {unit} | {fmt(samples['comet'], args.rounds)} | "
                     f"{fmt(samples['ray'], args.rounds)} | {ratio:.2f} |")
    described = [(name, WORKLOADS[name][0].__doc__) for name, *_ in rows
                 if WORKLOADS[name][0].__doc__]
    if described:
        lines += ["", "Workloads:"]
        for name, doc in described:
            lines.append(f"- `{name}`: " + " ".join(doc.split()))
    out = Path(args.out)
    text = out.read_text() if out.exists() else "# Benchmark results\n"
    if marker in text:
        before, _, after = text.partition(marker)
        rest = after.split("\n## ", 1)
        text = before + "\n".join(lines) + ("\n\n## " + rest[1] if len(rest) > 1 else "\n")
    else:
        text = text.rstrip("\n") + "\n\n" + "\n".join(lines) + "\n"
    out.write_text(text)


if __name__ == "__main__":
    main()
