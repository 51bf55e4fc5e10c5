"""``runtime_env``: what a task's or actor's worker runs with, as in Ray.

Supported fields:

- ``env_vars``: ``{name: value}``, set in the worker's environment when the
  raylet starts it.
- ``working_dir``: a local folder or ``.zip`` file. The driver zips it once
  (``excludes`` left out), names it by the hash of its content and stores it
  in the GCS's KV; each node unpacks it once under
  ``<session>/runtime_resources/``; the worker runs with that copy as its
  current directory and first ``sys.path`` entry.
- ``py_modules``: local folders (packages), ``.py`` files, ``.zip`` files or
  imported module objects, shipped the same way and put on ``sys.path``.
- ``pip``: a list of requirements, a requirements file (read on the
  driver), or ``{"packages": list-or-file, "pip_check": bool}``. Each node
  makes one virtualenv per distinct spec (``--system-site-packages``, so the
  node's packages, Comet's included, stay visible), pip-installs the
  packages into it once from the configured index, and starts that env's
  workers with its interpreter. A failed install fails the task with
  RuntimeEnvSetupError carrying pip's output. Local paths in the list must
  exist on every node.
- ``excludes``: gitignore-style patterns left out of ``working_dir`` and
  ``py_modules`` (a pattern with a ``/`` matches paths from the folder's top,
  one without matches any file or folder name).
- ``config``: ``{"setup_timeout_seconds": int, "eager_install": bool}``.
  The worker's setup (pip included) is bounded by the timeout (600 s by
  default; the raylet waits that long, plus a margin, for such a worker to
  register). ``eager_install`` (True by default, as in Ray) applies to the
  job's env (``init()``, ``JobConfig``, a submitted job): ``init()`` sends a
  zero-CPU task to every alive node, whose worker sets the env up and stays
  pooled for the job's tasks (comet/_private/eager_install.py); False: each
  node sets it up when the job's first task reaches it. A task's or actor's
  own env is always set up when it first runs.

Any other field (``conda``, ``uv``, ``container``, ``image_uri``, ...)
raises ValueError at the call site: none is ever silently dropped.

Merging (Ray's rules): a task's or actor's ``runtime_env`` is laid over its
parent's (the job's, from ``init(runtime_env=...)`` or ``comet job submit``,
or the env of the worker that submits it): its fields replace the parent's,
except ``env_vars``, which are merged name by name. Workers are started for
one env and pooled by its hash, so tasks with different envs never share a
process.
"""

from __future__ import annotations

import fnmatch
import functools
import hashlib
import io
import json
import os
import sys
import types
import zipfile
from pathlib import Path
from typing import Any

SUPPORTED_FIELDS = ("env_vars", "working_dir", "py_modules", "excludes", "pip", "config")
_CONFIG_FIELDS = ("setup_timeout_seconds", "eager_install")
_NOT_SUPPORTED = {
    "uv": "use 'pip' (Comet installs it with pip into a virtualenv per spec)",
    "conda": "Comet does not manage conda environments",
    "container": "Comet does not run workers in containers",
    "image_uri": "Comet does not run workers in containers",
}
KV_NAMESPACE = "runtime_env"
URI_PREFIX = "kv://"
DEFAULT_SETUP_TIMEOUT_S = 600
# Set by the raylet in a worker started for an env (see child_process_spawner.h).
ENV_VARIABLE = "COMET_RUNTIME_ENV"
# Set by the job server for a submitted job's driver: the job's env.
JOB_ENV_VARIABLE = "COMET_JOB_RUNTIME_ENV"


def validate(env: Any, where: str = "runtime_env") -> dict[str, Any] | None:
    """Checks a user's runtime_env; returns a copy. ValueError/TypeError name
    the bad field."""
    if env is None:
        return None
    if not isinstance(env, dict):
        raise TypeError(f"Invalid option '{where}': expected a dict or None, "
                        f"got {type(env).__name__}.")
    for key in env:
        if not isinstance(key, str):
            raise ValueError(f"Invalid field {key!r} in option '{where}': field names are strs.")
        if key in _NOT_SUPPORTED:
            if env[key] in (None, [], {}, ""):
                continue
            raise ValueError(f"runtime_env field '{key}' is not supported: {_NOT_SUPPORTED[key]}.")
        if key not in SUPPORTED_FIELDS:
            raise ValueError(f"Unknown runtime_env field '{key}' in option '{where}'; Comet "
                             f"supports {', '.join(SUPPORTED_FIELDS)}.")
    out = {k: v for k, v in env.items() if v is not None and k in SUPPORTED_FIELDS}
    env_vars = out.get("env_vars")
    if env_vars is not None and (not isinstance(env_vars, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in env_vars.items())):
        raise ValueError(f"Invalid 'env_vars' in option '{where}': expected a dict from str "
                         f"to str, got {env_vars!r}.")
    if "working_dir" in out and not isinstance(out["working_dir"], (str, os.PathLike)):
        raise ValueError(f"Invalid 'working_dir' in option '{where}': expected a path, got "
                         f"{out['working_dir']!r}.")
    for field in ("py_modules", "excludes"):
        if field in out and not isinstance(out[field], (list, tuple)):
            raise ValueError(f"Invalid '{field}' in option '{where}': expected a list, got "
                             f"{out[field]!r}.")
    if not all(isinstance(p, str) for p in out.get("excludes", [])):
        raise ValueError(f"Invalid 'excludes' in option '{where}': expected a list of str.")
    if "pip" in out:
        out["pip"] = _check_pip(out["pip"], where)
    config = out.get("config")
    if config is not None:
        if not isinstance(config, dict):
            raise ValueError(f"Invalid 'config' in option '{where}': expected a dict, got "
                             f"{config!r}.")
        for key, value in config.items():
            if key not in _CONFIG_FIELDS:
                raise ValueError(f"Unknown runtime_env config field '{key}'; Comet supports "
                                 f"{', '.join(_CONFIG_FIELDS)}.")
        timeout = config.get("setup_timeout_seconds")
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int)
                                    or (timeout <= 0 and timeout != -1)):
            raise ValueError("runtime_env config 'setup_timeout_seconds' must be a positive "
                             f"int or -1, got {timeout!r}.")
        if "eager_install" in config and not isinstance(config["eager_install"], bool):
            raise ValueError("runtime_env config 'eager_install' must be a bool, got "
                             f"{config['eager_install']!r}.")
    return out


def _check_pip(spec: Any, where: str) -> Any:
    packages = spec.get("packages") if isinstance(spec, dict) else spec
    if isinstance(spec, dict):
        unknown = set(spec) - {"packages", "pip_check"}
        if unknown:
            raise ValueError(f"Unknown 'pip' field(s) {sorted(unknown)} in option '{where}'; "
                             f"Comet supports packages and pip_check.")
        if not isinstance(spec.get("pip_check", False), bool):
            raise ValueError(f"Invalid 'pip.pip_check' in option '{where}': expected a bool.")
    if isinstance(packages, (str, os.PathLike)):
        return spec
    if not isinstance(packages, (list, tuple)) or not all(isinstance(p, str) for p in packages):
        raise ValueError(f"Invalid 'pip' in option '{where}': expected a list of requirements, "
                         f"a requirements file or a dict with 'packages', got {spec!r}.")
    return spec


def _pip_spec(spec: Any) -> dict[str, Any]:
    """{"packages": [...], "pip_check": bool}, a requirements file read here."""
    check = spec.get("pip_check", False) if isinstance(spec, dict) else False
    packages = spec.get("packages", []) if isinstance(spec, dict) else spec
    if isinstance(packages, (str, os.PathLike)):
        path = Path(os.fspath(packages)).expanduser()
        if not path.is_file():
            raise ValueError(f"runtime_env pip requirements file {str(path)!r} does not exist")
        packages = [line.split("#", 1)[0].strip() for line in path.read_text().splitlines()]
    return {"packages": [p for p in packages if p], "pip_check": check}


def merge(parent: dict[str, Any] | None, child: dict[str, Any] | None) -> dict[str, Any]:
    """``child`` over ``parent``: fields replace, ``env_vars`` merge."""
    merged = dict(parent or {})
    for key, value in (child or {}).items():
        if key == "env_vars":
            merged["env_vars"] = {**merged.get("env_vars", {}), **value}
        else:
            merged[key] = value
    return merged


# -- packing (driver side) ---------------------------------------------------------------


def _excluded(rel: str, is_dir: bool, patterns: list[str]) -> bool:
    name = rel.rsplit("/", 1)[-1]
    for pattern in patterns:
        dir_only = pattern.endswith("/")
        pattern = pattern.rstrip("/")
        if dir_only and not is_dir:
            continue
        if "/" in pattern:
            if fnmatch.fnmatch(rel, pattern.lstrip("/")):
                return True
        elif fnmatch.fnmatch(name, pattern):
            return True
    return False


def _zip_folder(root: Path, patterns: list[str], prefix: str, limit: int, what: str) -> bytes:
    """A zip of `root` (under `prefix/` inside), files sorted and dated
    alike so that the same content always gives the same bytes."""
    buffer = io.BytesIO()
    total = 0
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for dirpath, dirnames, filenames in os.walk(root):
            base = Path(dirpath)
            rel_dir = base.relative_to(root).as_posix()
            rel_dir = "" if rel_dir == "." else rel_dir + "/"
            dirnames[:] = sorted(d for d in dirnames
                                 if d != "__pycache__"
                                 and not _excluded(rel_dir + d, True, patterns))
            for filename in sorted(filenames):
                rel = rel_dir + filename
                path = base / filename
                if _excluded(rel, False, patterns) or not path.is_file():
                    continue
                total += path.stat().st_size
                if total > limit:
                    raise ValueError(
                        f"runtime_env {what} {str(root)!r} is larger than "
                        f"{limit // (1 << 20)} MiB (config runtime_env_max_package_bytes): "
                        f"leave big files out with 'excludes' or ship them another way")
                info = zipfile.ZipInfo(prefix + rel, date_time=(1980, 1, 1, 0, 0, 0))
                info.external_attr = (path.stat().st_mode & 0o777) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, path.read_bytes())
    return buffer.getvalue()


def _package(path: Any, patterns: list[str], what: str, keep_name: bool, limit: int) -> bytes:
    if isinstance(path, types.ModuleType):
        origin = getattr(path, "__file__", None)
        if not origin:
            raise ValueError(f"runtime_env {what}: module {path.__name__!r} has no file")
        path = Path(origin).parent if Path(origin).name == "__init__.py" else Path(origin)
    path = Path(os.fspath(path)).expanduser()
    if not path.exists():
        raise ValueError(f"runtime_env {what} {str(path)!r} does not exist on this machine")
    if path.is_file() and path.suffix == ".zip":
        data = path.read_bytes()
        if len(data) > limit:
            raise ValueError(f"runtime_env {what} {str(path)!r} is larger than "
                             f"{limit // (1 << 20)} MiB (config runtime_env_max_package_bytes)")
        return data
    if path.is_file():
        if what != "py_modules" or path.suffix != ".py":
            raise ValueError(f"runtime_env {what} {str(path)!r} must be a folder or a .zip file")
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            info = zipfile.ZipInfo(path.name, date_time=(1980, 1, 1, 0, 0, 0))
            archive.writestr(info, path.read_bytes())
        return buffer.getvalue()
    return _zip_folder(path.resolve(), patterns, path.resolve().name + "/" if keep_name else "",
                       limit, what)


def upload(cw: Any, data: bytes) -> str:
    """Stores a package in the GCS's KV under its content hash; its URI."""
    digest = hashlib.sha256(data).hexdigest()[:32]
    cw.kv_put(KV_NAMESPACE, digest.encode(), data, False)
    return f"{URI_PREFIX}{digest}.zip"


def prepare(cw: Any, env: dict[str, Any] | None,
            limit: int) -> tuple[str, str, dict, int] | None:
    """Packs and uploads the local folders of a merged env; returns what a
    task spec carries: (hash, serialized JSON, env_vars, setup timeout in
    seconds, -1 for none), or None for an empty env."""
    if not env:
        return None
    prepared = dict(env)
    patterns = list(env.get("excludes", []))
    working_dir = env.get("working_dir")
    if working_dir is not None and not str(working_dir).startswith(URI_PREFIX):
        prepared["working_dir"] = upload(
            cw, _package(working_dir, patterns, "working_dir", False, limit))
    if env.get("py_modules"):
        prepared["py_modules"] = [
            m if isinstance(m, str) and m.startswith(URI_PREFIX)
            else upload(cw, _package(m, patterns, "py_modules", True, limit))
            for m in env["py_modules"]]
    prepared.pop("excludes", None)
    if "pip" in env:
        prepared["pip"] = _pip_spec(env["pip"])
        if not prepared["pip"]["packages"]:
            del prepared["pip"]
    serialized = json.dumps(prepared, sort_keys=True)
    digest = hashlib.sha256(serialized.encode()).hexdigest()[:32]
    timeout = setup_timeout_s(prepared)
    return digest, serialized, dict(prepared.get("env_vars", {})), \
        -1 if timeout is None else int(timeout)


@functools.cache
def current() -> dict[str, Any]:
    """The env a worker was started in ({} for none, and in drivers)."""
    raw = os.environ.get(ENV_VARIABLE)
    return json.loads(raw) if raw else {}


def for_submission(cw: Any, own: dict[str, Any] | None) -> tuple[str, str, dict, int] | None:
    """What a task or actor created here runs in: `own` (its option) over
    the job's env (in a driver) or this worker's, prepared once per distinct
    env and connection."""
    from comet._private import worker_context

    ctx = worker_context.get()
    parent = ctx.job_runtime_env if ctx.mode == "driver" else current()
    if not own and not parent:
        return None
    merged = merge(parent, own)
    key = json.dumps(merged, sort_keys=True, default=repr)
    prepared = ctx.runtime_envs.get(key)
    if prepared is None:
        from comet import _raylet

        limit = (ctx.config or _raylet.config())["runtime_env_max_package_bytes"]
        prepared = ctx.runtime_envs[key] = prepare(cw, merged, limit) or ()
    return prepared or None


def setup_timeout_s(env: dict[str, Any]) -> float | None:
    timeout = (env.get("config") or {}).get("setup_timeout_seconds", DEFAULT_SETUP_TIMEOUT_S)
    return None if timeout == -1 else float(timeout)


# -- setup (worker side) -----------------------------------------------------------------


def _unpacked(state: Any, uri: str, cache: Path) -> Path:
    """The folder where package `uri` is unpacked on this node (once: the
    first worker unpacks into a temporary folder and renames it)."""
    digest = uri[len(URI_PREFIX):].removesuffix(".zip")
    target = cache / digest
    if target.is_dir():
        return target
    data = state.kv_get(KV_NAMESPACE, digest.encode())
    if data is None:
        raise RuntimeError(f"package {uri} is not in the cluster's KV store (was it "
                           f"uploaded by a driver of this cluster?)")
    cache.mkdir(parents=True, exist_ok=True)
    staging = cache / f".{digest}.{os.getpid()}"
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        archive.extractall(staging)
    try:
        os.rename(staging, target)
    except OSError:  # another worker won the race: use its copy
        import shutil

        shutil.rmtree(staging, ignore_errors=True)
    return target


def pip_interpreter(env: dict[str, Any], session_dir: str,
                    timeout_s: float | None) -> str | None:
    """The python of the env's virtualenv on this node, made (once per spec,
    under a lock) if needed; None when the env has no pip packages or this
    process already runs in it."""
    spec = env.get("pip")
    if not spec or not spec.get("packages"):
        return None
    key = json.dumps([spec, sys.version], sort_keys=True)
    root = Path(session_dir or "/tmp/comet") / "runtime_resources" / "pip"
    venv = root / hashlib.sha256(key.encode()).hexdigest()[:32]
    python = venv / "bin" / "python"
    if Path(sys.prefix).resolve() == venv.resolve():
        return None
    ready = venv / ".comet_ready"
    if ready.exists():
        return str(python)
    import fcntl
    import shutil
    import subprocess

    root.mkdir(parents=True, exist_ok=True)
    with open(root / f"{venv.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another worker may be making it
        if ready.exists():
            return str(python)
        shutil.rmtree(venv, ignore_errors=True)  # a broken earlier attempt
        steps = [("python -m venv", [sys.executable, "-m", "venv", "--without-pip",
                                     "--system-site-packages", str(venv)]),
                 ("pip install", [str(python), "-m", "pip", "install",
                                  "--disable-pip-version-check", "--no-input",
                                  *spec["packages"]])]
        if spec.get("pip_check"):
            steps.append(("pip check", [str(python), "-m", "pip", "check",
                                        "--disable-pip-version-check"]))
        for what, command in steps:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s)
            if done.returncode != 0:
                output = (done.stdout + done.stderr).strip()[-4000:]
                raise RuntimeError(f"{what} failed (exit {done.returncode}):\n{output}")
        ready.write_text(key)
    return str(python)


def driver_virtualenv(env: dict[str, Any], session_dir: str) -> str | None:
    """For a submitted job whose env has ``pip``: the virtualenv its driver
    runs in (the one the job's workers on this node use, made here if
    needed), or None when there are no packages. Raises RuntimeError with
    pip's output."""
    if not env.get("pip"):
        return None
    python = pip_interpreter({"pip": _pip_spec(env["pip"])}, session_dir, setup_timeout_s(env))
    return None if python is None else str(Path(python).parent.parent)


def apply_in_worker(env: dict[str, Any], gcs_address: str, session_dir: str) -> None:
    """Sets this worker up in `env` (env_vars are set already, by the
    raylet). Raises with a message for the task's RuntimeEnvSetupError."""
    if not env.get("working_dir") and not env.get("py_modules"):
        return
    from comet import _raylet

    state = _raylet.StateClient(gcs_address)
    cache = Path(session_dir or "/tmp/comet") / "runtime_resources"
    for uri in reversed(env.get("py_modules") or []):
        sys.path.insert(0, str(_unpacked(state, uri, cache / "py_modules")))
    if env.get("working_dir"):
        folder = _unpacked(state, env["working_dir"], cache / "working_dir")
        os.chdir(folder)
        sys.path.insert(0, str(folder))
