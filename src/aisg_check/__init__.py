"""aisg-check: preflight checks for AI Singapore's MLOps platform."""

# A literal, not importlib.metadata: reading the installed metadata costs ~25 ms at every start.
__version__ = "0.1.0"
