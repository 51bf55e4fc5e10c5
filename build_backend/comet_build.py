"""PEP 517 backend for Comet: Bazel builds the C++ core, setuptools packages it.

The hooks are setuptools' own (``setuptools.build_meta``), except that building
a wheel or an editable install first runs ``bazel build -c opt //:wheel_files``
and copies what that filegroup produced into the Python package:

* ``_raylet*.so`` (the pybind11 extension) goes to ``python/comet/``;
* every other file that is executable goes to ``python/comet/core/bin/``;
* anything else is an error, so that a new kind of output is placed on purpose.

A wheel also carries the web UI: ``dashboard/`` built by npm into
``python/comet/dashboard/static/`` (``package-data`` in pyproject.toml). The
backend builds it when it is missing or older than its sources (./build.sh
has built it already, so this is then a no-op) and fails when npm is missing.

The file list comes from ``bazel cquery`` on the filegroup, so adding a binary
to ``//:wheel_files`` in ``BUILD.bazel`` is all it takes to ship it.

Environment:
  COMET_BAZEL   the Bazel command, split like a shell would (default ``bazel``);
                startup options may follow it, e.g. ``bazel --output_user_root=/x``.
  COMET_PYTHON  set for Bazel to the interpreter running this backend, whose
                headers _raylet.so is compiled against.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Mapping, Sequence

from setuptools import build_meta as _setuptools

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_DIR = ROOT / "python" / "comet"
UI_DIR = ROOT / "dashboard"
UI_INDEX = PACKAGE_DIR / "dashboard" / "static" / "index.html"
BIN_DIR = PACKAGE_DIR / "core" / "bin"
WHEEL_TARGET = "//:wheel_files"
# ./build.sh builds and tests with the same flags. A fixed action PATH keeps
# Bazel's cache valid across callers whose PATH differs (pip, pyenv shims).
BAZEL_CONFIG = ["-c", "opt", "--incompatible_strict_action_env"]
# Debian's /etc/bazel/bazelrc turns on --sandbox_debug, which floods the log.
BAZEL_BUILD_FLAGS = BAZEL_CONFIG + ["--nosandbox_debug"]

# Every hook that needs no C++ build is setuptools' unchanged.
get_requires_for_build_wheel = _setuptools.get_requires_for_build_wheel
get_requires_for_build_sdist = _setuptools.get_requires_for_build_sdist
prepare_metadata_for_build_wheel = _setuptools.prepare_metadata_for_build_wheel
build_sdist = _setuptools.build_sdist
get_requires_for_build_editable = _setuptools.get_requires_for_build_editable
prepare_metadata_for_build_editable = _setuptools.prepare_metadata_for_build_editable


def build_wheel(
    wheel_directory: str,
    config_settings: Mapping[str, object] | None = None,
    metadata_directory: str | None = None,
) -> str:
    stage_native_files()
    build_dashboard_ui()
    _remove_stale_setuptools_output()
    return _setuptools.build_wheel(wheel_directory, config_settings, metadata_directory)


def build_editable(
    wheel_directory: str,
    config_settings: Mapping[str, object] | None = None,
    metadata_directory: str | None = None,
) -> str:
    # An editable install imports from python/, so the files staged there are
    # the ones it uses; rerun the build (or ./build.sh) after changing C++.
    stage_native_files()
    return _setuptools.build_editable(wheel_directory, config_settings, metadata_directory)


def stage_native_files() -> None:
    """Builds //:wheel_files and copies its outputs into python/comet."""
    bazel = _bazel_command()
    env = _bazel_env()
    _log(f"building {WHEEL_TARGET} with: {shlex.join(bazel)}")
    _run(bazel + ["build"] + BAZEL_BUILD_FLAGS + [WHEEL_TARGET], env)
    execroot = Path(_output(bazel + ["info"] + BAZEL_CONFIG + ["execution_root"], env).strip())
    outputs = [execroot / rel for rel in _wheel_file_paths(bazel, env)]
    if not outputs:
        raise RuntimeError(f"{WHEEL_TARGET} has no files")
    _copy_outputs(outputs)


def build_dashboard_ui() -> None:
    """Runs `npm run build` in dashboard/ unless its output is newer than every source."""
    if not (UI_DIR / "package.json").is_file():
        _log("no dashboard/ sources: the wheel carries whatever UI is staged")
        return
    if UI_INDEX.is_file() and not _ui_sources_newer_than(UI_INDEX.stat().st_mtime):
        _log(f"dashboard UI up to date ({UI_INDEX.relative_to(ROOT)})")
        return
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm not found: building the dashboard UI (dashboard/) needs "
                           "Node.js >= 20.19 with npm on PATH")
    if not (UI_DIR / "node_modules").is_dir():
        # Not `npm ci`: see setup_dashboard in build.sh.
        _run_in([npm, "install", "--no-save", "--no-audit", "--no-fund"], UI_DIR)
    _run_in([npm, "run", "build"], UI_DIR)


def _ui_sources_newer_than(mtime: float) -> bool:
    for dirpath, dirnames, filenames in os.walk(UI_DIR):
        dirnames[:] = [d for d in dirnames if d not in ("node_modules", "tests")]
        if any(os.stat(os.path.join(dirpath, f)).st_mtime > mtime for f in filenames):
            return True
    return False


def _run_in(command: list[str], cwd: Path) -> None:
    sys.stdout.flush()
    result = subprocess.run(command, cwd=cwd, stdout=sys.stderr)
    if result.returncode != 0:
        raise RuntimeError(f"{shlex.join(command)} (in {cwd}) failed with exit code "
                           f"{result.returncode}")


def _wheel_file_paths(bazel: list[str], env: Mapping[str, str]) -> list[str]:
    """The filegroup's files, relative to Bazel's execution root."""
    expr = '"\\n".join([f.path for f in target.files.to_list()])'
    out = _output(
        bazel + ["cquery"] + BAZEL_CONFIG
        + ["--output=starlark", "--starlark:expr=" + expr, WHEEL_TARGET],
        env,
    )
    return [line.strip() for line in out.splitlines() if line.strip()]


def _copy_outputs(outputs: Sequence[Path]) -> None:
    if BIN_DIR.exists():
        shutil.rmtree(BIN_DIR)  # drop binaries no longer in the filegroup
    BIN_DIR.mkdir(parents=True)
    misplaced = []
    for src in outputs:
        if not src.is_file():
            raise FileNotFoundError(f"Bazel reported {src} but it does not exist")
        if src.name.startswith("_raylet") and src.name.endswith(".so"):
            _install_file(src, PACKAGE_DIR / src.name)
        elif os.access(src, os.X_OK):
            _install_file(src, BIN_DIR / src.name)
        else:
            misplaced.append(str(src))
    if misplaced:
        raise RuntimeError(
            "comet_build.py does not know where these files of "
            f"{WHEEL_TARGET} belong in the package: {', '.join(misplaced)}"
        )


def _install_file(src: Path, dest: Path) -> None:
    """Copies src to dest atomically, writable and executable by the owner."""
    tmp = dest.with_name(f".{dest.name}.tmp")
    shutil.copyfile(src, tmp)
    tmp.chmod(0o755)
    os.replace(tmp, dest)
    _log(f"copied {src.name} -> {dest.relative_to(ROOT)}")


def _remove_stale_setuptools_output() -> None:
    # setuptools reuses build/lib*, which would keep files removed from the tree.
    build_dir = ROOT / "build"
    if build_dir.is_dir():
        for child in build_dir.iterdir():
            if child.name.startswith(("lib", "bdist")):
                shutil.rmtree(child)


def _bazel_command() -> list[str]:
    command = shlex.split(os.environ.get("COMET_BAZEL", "bazel"))
    if not command:
        raise RuntimeError("COMET_BAZEL is set but empty")
    if shutil.which(command[0]) is None:
        raise RuntimeError(
            f"Bazel ({command[0]}) not found on PATH; run ./build.sh to install "
            "it, or point COMET_BAZEL at it"
        )
    return command


def _bazel_env() -> dict[str, str]:
    """The environment for Bazel: this Python, pip's temporary entries removed.

    pip prepends temporary directories to PATH. Bazel keys its action cache and
    its local repositories on PATH, so passing them through would rebuild the
    whole tree on every `pip wheel`.
    """
    env = dict(os.environ)
    # The extension must be compiled against this interpreter's headers
    # (read by the local_python repository rule in bazel/system_libs.bzl).
    env["COMET_PYTHON"] = sys.executable
    path = [p for p in env.get("PATH", "").split(os.pathsep) if "pip-build-env-" not in p]
    env["PATH"] = os.pathsep.join(path)
    if "pip-build-env-" in env.get("PYTHONPATH", ""):
        del env["PYTHONPATH"]
    return env


def _run(command: list[str], env: Mapping[str, str]) -> None:
    # Bazel's progress goes to our stdout/stderr, which pip shows with -v or on failure.
    sys.stdout.flush()
    result = subprocess.run(command, cwd=ROOT, env=env, stdout=sys.stderr)
    if result.returncode != 0:
        raise RuntimeError(f"{shlex.join(command)} failed with exit code {result.returncode}")


def _output(command: list[str], env: Mapping[str, str]) -> str:
    result = subprocess.run(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{shlex.join(command)} failed with exit code {result.returncode}")
    return result.stdout


def _log(message: str) -> None:
    print(f"comet_build: {message}", file=sys.stderr, flush=True)
