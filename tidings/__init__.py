"""tidings: living topic digests that cite every sentence and check their own facts."""

__version__ = "0.1.0"
