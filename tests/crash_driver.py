"""Runs the pipeline once in its own process, for tests/test_crash_safety.py, which kills it with SIGKILL.

    python tests/crash_driver.py CONFIG NOW [CRASH_AT]

CONFIG is a tidings.toml, NOW an ISO datetime (the run's fixed "now"). It prints, flushed, one line per event so
the test knows how far the run got: `ready` once everything is imported, `stage NAME TOTAL` as each stage starts,
`end NAME` as it ends, `finished` when `run` returned (then `publish_error ...` if the site could not be written).

CRASH_AT, for a crash at one exact point instead of at a random moment, is `module:attribute@N` (the process
kills itself with SIGKILL as the Nth call of that function starts) or `module:attribute@N+` (as it returns), e.g.
`tidings.store.store:Store.save_claims@1+`.
"""

from __future__ import annotations

import functools
import importlib
import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from tidings.config import load_config
from tidings.pipeline import Reporter, StageProgress, run


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class PrintingReporter(Reporter):
    @contextmanager
    def stage(self, name: str, total: int) -> Iterator[StageProgress]:
        say(f"stage {name} {total}")
        try:
            yield StageProgress()
        finally:
            say(f"end {name}")


def die(spec: str) -> None:
    say(f"crash {spec}")
    os.kill(os.getpid(), signal.SIGKILL)


def arm(spec: str) -> None:
    """Make the function named by `spec` kill this process at its Nth call (see the module's docstring)."""
    target, _, when = spec.partition("@")
    after = when.endswith("+")
    nth = int(when.rstrip("+") or 1)
    module_name, _, path = target.partition(":")
    owner = importlib.import_module(module_name)
    *parents, name = path.split(".")
    for parent in parents:
        owner = getattr(owner, parent)
    original = getattr(owner, name)
    calls = 0

    @functools.wraps(original)
    def wrapper(*args, **kwargs):
        nonlocal calls
        calls += 1
        if calls == nth and not after:
            die(spec)
        result = original(*args, **kwargs)
        if calls == nth and after:
            die(spec)
        return result

    setattr(owner, name, wrapper)


def main(argv: list[str]) -> int:
    config = load_config(argv[0])
    now = datetime.fromisoformat(argv[1])
    if len(argv) > 2:
        arm(argv[2])
    say("ready")
    stats = run(config, now=now, reporter=PrintingReporter())
    say("finished")
    if stats.publish_error:
        say(f"publish_error {stats.publish_error}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
