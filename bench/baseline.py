"""An earlier revision of one of tidings' modules, read from git and loaded beside the current code, for the
benchmarks that time the code a module replaced in the same run."""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def module_at(rev: str, path: str, name: str) -> types.ModuleType | None:
    """The module at `path` (relative to the repository) as it was at `rev`, loaded as `name`; None when git or
    that revision is not there."""
    try:
        source = subprocess.run(["git", "show", f"{rev}:{path}"], cwd=ROOT, check=True, capture_output=True,
                                text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    module = types.ModuleType(name)
    sys.modules[name] = module  # dataclasses look their module up while a class is made
    exec(compile(source, f"{rev}:{path}", "exec"), module.__dict__)
    return module
