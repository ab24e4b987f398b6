"""One family of errors. Every problem tidings reports to a user is a `TidingsError` whose message is one line
naming the thing at fault (a file, a key, a URL, a folder) and, where it helps, what to do. The CLI and the
server catch this type and nothing else: any other exception is a bug and keeps its traceback."""

from __future__ import annotations


class TidingsError(Exception):
    """Base of every error tidings reports to a user."""


class StoreError(TidingsError):
    """The database cannot be opened, migrated, read or written."""


class PublishError(TidingsError):
    """The site cannot be written where it was asked to go."""


class SourceError(TidingsError):
    """A source cannot be added, found or removed."""


class SetupError(TidingsError):
    """Nothing to do yet: the project is missing something a run needs (a digest, a source)."""


class EmailError(TidingsError):
    """An email edition cannot be addressed, sent or written."""
