"""Writers: turn a story's items into a revision of its article.

A writer is anything with a `name` and a `write(brief) -> Revision` method, registered by name. The extractive
writer and the model writer register themselves here like any add-on would; the write stage picks the one the
config names (`[writer] backend`) and passes every revision through the same grounding check before it is stored.

A writer that needs its settings, or somewhere to keep what it was told, also has `for_run(settings, store)`,
which returns the writer to use for one run. A writer whose sentences are its own words (not its sources') says
so with `paraphrases = True` and gives its revision the passages it wrote from (`Revision.passages`): its
sentences are then checked against the passages they cite, fact by fact, rather than found word for word. A
writer that cannot write a revision (its server is down, its reply is unusable) raises `WriterUnavailable`, and
the extractive writer writes that revision instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from tidings.errors import SetupError, TidingsError
from tidings.model import CheckedClaim, Item, Revision

if TYPE_CHECKING:
    from tidings.write.notes import ItemNotes


@dataclass(frozen=True)
class Brief:
    """Everything a writer is given to write the next revision of one story."""

    story_id: int
    items: Sequence[Item]  # the story's items, oldest first
    previous: Revision | None  # the revision before, or None for the first
    claims: Sequence[CheckedClaim]  # the checked claims of those items
    now: datetime
    max_sentences: int = 12
    names: Mapping[str, str] = field(default_factory=dict)  # KB ids of models and benchmarks -> display names
    # What the extractive writer noted of the items' sentences before (`tidings.write.notes`), by item id: those
    # missing are worked out again.
    notes: Mapping[int, ItemNotes] = field(default_factory=dict)


class Writer(Protocol):
    name: str

    def write(self, brief: Brief) -> Revision: ...


class WriterUnavailable(TidingsError):
    """This revision cannot be written by this writer; the message says why in one line. `repeated`: for the same
    reason as one reported earlier in the run (then it is logged quietly)."""

    def __init__(self, message: str, repeated: bool = False) -> None:
        super().__init__(message)
        self.repeated = repeated


WRITERS: dict[str, Writer] = {}


def register(writer: Writer) -> Writer:
    """Make a writer available under its name (a later registration of the same name replaces it)."""
    WRITERS[writer.name] = writer
    return writer


def get_writer(name: str) -> Writer:
    _load_builtins(name)
    try:
        return WRITERS[name]
    except KeyError:
        raise SetupError(f"no writer called {name!r} (available: {', '.join(sorted(WRITERS))})") from None


def is_writer(name: str) -> bool:
    """Whether a writer of that name is registered (a built-in is imported only if it is the one named)."""
    _load_builtins(name)
    return name in WRITERS


def writer_names() -> list[str]:
    _load_builtins()
    return sorted(WRITERS)


_BUILTINS = {"extractive": "tidings.write.extractive", "openai": "tidings.write.llm"}


def _load_builtins(name: str | None = None) -> None:
    """Importing a built-in writer registers it, the same way an add-on registers itself: the one asked for, when
    it is a built-in (the model writer's HTTP client is not imported for a run that never calls it), else all."""
    import importlib

    for module in [_BUILTINS[name]] if name in _BUILTINS else _BUILTINS.values():
        importlib.import_module(module)
