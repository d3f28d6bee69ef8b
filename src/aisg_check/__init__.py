"""aisg-check: preflight checks for AI Singapore's MLOps platform."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("aisg-check")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0+src"
