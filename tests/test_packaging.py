"""The wheel in dist/ installs into a clean virtualenv and works there.

Builds nothing: ./build.sh puts the wheel in dist/ before running the tests.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
DIST_DIR = REPO_ROOT / "dist"
PY_TAG = f"cp{sys.version_info.major}{sys.version_info.minor}"
TIMEOUT_S = 180


def _run(args: list[str], timeout: float = TIMEOUT_S) -> subprocess.CompletedProcess[str]:
    # Run outside the repository so nothing imports comet from the source tree.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    result = subprocess.run(
        args, cwd="/", env=env, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, (
        f"{args} exited {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    )
    return result


@pytest.fixture(scope="module")
def wheel() -> Path:
    wheels = sorted(DIST_DIR.glob("comet-*.whl"), key=lambda p: p.stat().st_mtime)
    if not wheels:
        pytest.skip(f"no comet wheel in {DIST_DIR}: run ./build.sh first")
    newest = wheels[-1]
    if f"-{PY_TAG}-" not in newest.name:
        pytest.skip(f"{newest.name} was not built for this interpreter ({PY_TAG})")
    return newest


@pytest.fixture(scope="module")
def env_dir(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clean virtualenv (no system site-packages): the wheel and its dependencies,
    installed by pip as a user would (from PyPI or pip's cache)."""
    path = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(with_pip=True, system_site_packages=False, clear=True).create(path)
    _run([str(path / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel)], timeout=600)
    return path


def _python(env_dir: Path, code: str) -> str:
    return _run([str(env_dir / "bin" / "python"), "-c", code]).stdout.strip()


def _installed_package_dir(env_dir: Path) -> Path:
    return Path(_python(env_dir, "import comet, os; print(os.path.dirname(comet.__file__))"))


def test_wheel_is_platform_specific(wheel: Path) -> None:
    assert not wheel.name.endswith("-none-any.whl")
    with zipfile.ZipFile(wheel) as zf:
        info = zf.read("comet-%s.dist-info/WHEEL" % wheel.name.split("-")[1]).decode()
    assert "Root-Is-Purelib: false" in info


def test_wheel_carries_package_data(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    for required in ("comet/__init__.py", "comet/_raylet.so", "comet/py.typed"):
        assert required in names


def test_installed_in_clean_env(env_dir: Path, wheel: Path) -> None:
    out = _python(
        env_dir,
        "import json, sys, comet; "
        "print(json.dumps([comet.__version__, comet.__file__, sys.prefix]))",
    )
    version, module_file, prefix = json.loads(out)
    assert version == wheel.name.split("-")[1]
    assert Path(module_file).is_relative_to(env_dir)
    assert Path(prefix) == env_dir
    # Clean means clean: nothing from the outer interpreter's site-packages.
    assert _python(env_dir, "import importlib.util as u; print(u.find_spec('pytest'))") == "None"


def test_raylet_imports(env_dir: Path) -> None:
    out = _python(env_dir, "import comet._raylet as r; print(r.__file__)")
    assert Path(out).is_relative_to(env_dir)


def test_binaries_installed_executable(env_dir: Path, wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        names = [
            Path(n).name
            for n in zf.namelist()
            if n.startswith("comet/core/bin/") and not n.endswith("/")
        ]
    if not names:
        pytest.skip("the wheel carries no binaries yet (//:wheel_files lists none)")
    bin_dir = _installed_package_dir(env_dir) / "core" / "bin"
    for name in names:
        path = bin_dir / name
        assert path.is_file(), path
        assert os.access(path, os.X_OK), f"{path} is not executable"
        found = _python(
            env_dir, f"from comet._private.binaries import binary_path; print(binary_path({name!r}))"
        )
        assert Path(found) == path


def test_binary_path_missing_is_clear(env_dir: Path) -> None:
    out = _python(
        env_dir,
        "from comet._private.binaries import binary_path\n"
        "try:\n"
        "    binary_path('no_such_binary')\n"
        "except FileNotFoundError as e:\n"
        "    print(e)\n",
    )
    assert "no_such_binary" in out and "build.sh" in out


def test_console_script(env_dir: Path) -> None:
    out = _run([str(env_dir / "bin" / "comet"), "--version"]).stdout.strip()
    assert out == "comet, version " + _python(env_dir, "import comet; print(comet.__version__)")


def test_runs_a_task_in_clean_env(env_dir: Path, tmp_path: Path) -> None:
    code = (
        "import comet\n"
        f"comet.init(num_cpus=1, _temp_dir={str(tmp_path)!r})\n"
        "f = comet.remote(lambda x: x + 1)\n"
        "print(comet.get(f.remote(41)))\n"
        "comet.shutdown()\n"
    )
    assert _python(env_dir, code).splitlines()[-1] == "42"
