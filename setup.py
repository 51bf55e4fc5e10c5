"""Marks the wheel as platform-specific: it carries _raylet.so and C++ binaries.

Everything else is in pyproject.toml; the native files are staged by
build_backend/comet_build.py before setuptools runs.
"""

from __future__ import annotations

from setuptools import setup
from setuptools.dist import Distribution

try:
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # setuptools < 70.1 ships it in the wheel package
    from wheel.bdist_wheel import bdist_wheel


class BinaryDistribution(Distribution):
    def has_ext_modules(self) -> bool:
        return True


class PlatformWheel(bdist_wheel):
    def finalize_options(self) -> None:
        super().finalize_options()
        self.root_is_pure = False


setup(distclass=BinaryDistribution, cmdclass={"bdist_wheel": PlatformWheel})
