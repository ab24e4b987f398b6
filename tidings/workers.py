"""Pure work spread over processes: one function over many inputs, answers in input order.

Threads cannot share Python's interpreter lock, so work that is all Python (reading claims out of thousands of
items) runs on one processor however many threads ask for it. Worker processes each take a share. They are
started from a clean server process ("forkserver", where the system has it) rather than forked from this one,
which may hold locks in other threads (a web server's, an HTTP pool's) at the moment of the fork.

Starting a worker costs a few tenths of a second (an interpreter and the modules the function needs), so small
batches are done here, in this process. If the workers cannot be started or one dies, what they had not answered
is done here too: the run is slower, never wrong.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from itertools import islice
from typing import Any, TypeVar

__all__ = ["available", "in_processes", "starting_worker", "warm"]

log = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")

MIN_TASKS = 400  # fewer inputs than this are done in this process: starting workers would cost more than it saves
AHEAD = 3  # chunks asked of each worker ahead of the one being read
CHUNK = 50  # inputs sent to a worker at once: enough to make the trip worth it, few enough to share the work evenly
MAX_PROCESSES = 8
BACKGROUND_NICENESS = 10  # a background worker's share of a processor this process wants: about a tenth
PRELOAD = ["tidings.workers", "tidings.pipeline", "tidings.check.claims", "tidings.write.extractive",
           "tidings.publish.site"]

_shared: Any = None  # in a worker: what every call shares (a knowledge base), sent once when the worker starts


def available() -> int:
    """Processors this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


class Answers(Iterator[R]):
    """`fn(shared, x)` for each input, in order, as an iterator; the workers start, and take their first chunks, as
    soon as it is made, so a caller can do other work while they read. Inputs are taken from `inputs` only as
    chunks are sent, so they may be made on the way (a story's items read from the store). `close()` stops the
    workers (a caller that stops early, or never reads, leaves none busy on answers nobody reads)."""

    def __init__(self, fn: Callable[[Any, T], R], inputs: Iterable[T], total: int, shared: Any, count: int,
                 chunk: int, ahead: int, niceness: int = 0) -> None:
        self.fn, self.shared, self.ahead = fn, shared, ahead
        self.inputs = iter(inputs)
        self.size = max(1, min(chunk, total // (count * AHEAD)))  # a small batch is still shared by every worker
        self.pending: deque[tuple[list[T], Future | None]] = deque()  # chunks sent, oldest first
        self.answers: Iterator[R] = iter(())
        self.broken = False
        self.done = False
        try:
            self.pool: ProcessPoolExecutor | None = ProcessPoolExecutor(
                count, mp_context=_context(), initializer=_receive, initargs=(shared, niceness))
        except (OSError, RuntimeError, ValueError) as exc:
            self.pool, self.broken = None, _failed(exc)
        try:
            self._ask()
        except BaseException:  # making the first inputs failed (the store did): no worker may outlive it
            self.close()
            raise

    def _ask(self) -> None:
        while not self.broken and self.pool is not None and len(self.pending) < self.ahead:
            part = list(islice(self.inputs, self.size))
            if not part:
                return
            try:
                self.pending.append((part, self.pool.submit(_run, self.fn, part)))
            except Exception as exc:  # the workers cannot start, or `shared` does not pickle
                self.broken = _failed(exc)
                self.pending.append((part, None))

    def __next__(self) -> R:
        if self.done:
            raise StopIteration
        try:
            return self._next()
        except BaseException:
            # As a generator would: an error (of `fn`, or in making the inputs) ends the answers, and the workers.
            self.done = True
            self.close()
            raise

    def _next(self) -> R:
        while True:
            answer = next(self.answers, _NONE)
            if answer is not _NONE:
                return answer
            part, future = self.pending.popleft() if self.pending else (list(islice(self.inputs, self.size)), None)
            if not part:
                raise StopIteration
            answers = None
            if future is not None and not self.broken:
                try:
                    answers = future.result()
                except Exception as exc:  # a worker died, or what it was sent or answered does not pickle
                    self.broken = _failed(exc)
            # Done here otherwise, one by one, so that an error of `fn`'s own comes after the answers before it,
            # as if it had all run here.
            self.answers = iter(answers) if answers is not None else (self.fn(self.shared, x) for x in part)
            self._ask()

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None


_NONE = object()


def in_processes(fn: Callable[[Any, T], R], inputs: Iterable[T], shared: Any = None, processes: int = 0,
                 min_tasks: int = MIN_TASKS, chunk: int = CHUNK, ahead: int | None = None,
                 total: int | None = None, background: bool = False) -> Answers[R] | Generator[R, None, None]:
    """`fn(shared, x)` for each input, in order. `fn` must be a module-level function, and `shared`, the inputs
    and the answers must pickle. `processes` 0 means one per processor; 1, or fewer than `min_tasks` inputs
    (`total`, for inputs that are not a sequence), means all here, as they are read. Otherwise the workers start
    at once (see `Answers`), and are sent `ahead` chunks beyond the one being read (by default a few each: answers
    nobody reads yet would pile up in memory). Exceptions `fn` raises reach the caller as if it had run here.
    Either way the answers have a `close()`, which a caller that may stop early calls. With `background`, the
    workers yield the processors to this process, which has work of its own to do meanwhile that only it can do:
    they take what it leaves."""
    total = len(inputs) if total is None else total  # type: ignore[arg-type]
    count = min(_most(processes), total)
    if count <= 1 or total < min_tasks:
        return (fn(shared, x) for x in inputs)
    return Answers(fn, inputs, total, shared, count, chunk, max(1, AHEAD * count if ahead is None else ahead),
                   BACKGROUND_NICENESS if background else 0)


def warm(processes: int = 0) -> None:
    """Start the server that workers are forked from, when workers will probably be wanted soon: it imports the
    stage modules (a few tenths of a second) on another processor while this one goes on, instead of keeping the
    first worker waiting for it. Nothing happens where workers are not forked from a server."""
    if _most(processes) <= 1:
        return
    context = _context()
    if context.get_start_method() != "forkserver":
        return
    from multiprocessing import forkserver

    try:
        forkserver.ensure_running()
    except (OSError, RuntimeError, ValueError) as exc:  # the first worker will say so, and the work is done here
        log.debug(f"the worker server did not start early: {exc}")


def _most(processes: int) -> int:
    """How many workers the `processes` setting allows: 0 means one per processor."""
    return min(processes or available(), MAX_PROCESSES)


def _failed(exc: Exception) -> bool:
    log.warning(f"worker processes stopped ({type(exc).__name__}: {exc}); this process does the rest of the work")
    return True


def starting_worker() -> bool:
    """Whether this is a worker process importing the main script again as it starts (as "spawn" and
    "forkserver" workers do): a script whose call into tidings is not under `if __name__ == "__main__":` would
    otherwise run again in every worker."""
    return bool(getattr(multiprocessing.current_process(), "_inheriting", False))


def _context() -> multiprocessing.context.BaseContext:
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    # The server imports what workers run, once, so each worker forked from it starts at once; not the main script
    # (the default), which may not be guarded.
    context.set_forkserver_preload(PRELOAD)
    return context


def _receive(shared: Any, niceness: int = 0) -> None:
    global _shared
    _shared = shared
    if niceness:
        with contextlib.suppress(OSError):  # not allowed here: the work is the same, only shared more evenly
            os.nice(niceness)


def _run(fn: Callable[[Any, T], R], part: Sequence[T]) -> list[R]:
    return [fn(_shared, x) for x in part]
