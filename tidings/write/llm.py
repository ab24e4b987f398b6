"""The model writer: an article in a language model's own words, from any OpenAI-compatible chat server, that
tidings publishes only sentence by sentence, where the passages a sentence cites bear it out (see
`write.revise`, which checks every sentence and falls back to the extractive writer when too little holds).

Everything else in the revision (headline, citation numbers, sources list, fact check) is the extractive
writer's, so the two writers' revisions differ only in their sentences. One request per revision; the request
and its reply are stored under the request's content hash, so writing the same story again never asks twice."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from tidings.model import Revision, Section, Sentence
from tidings.write import Brief, WriterUnavailable, register
from tidings.write.chat import Answer, ServerUnreachable, complete
from tidings.write.extractive import compose
from tidings.write.prompt import HEADINGS, TIMELINE, messages, passages, request_hash
from tidings.write.reply import ReplyError, ReplySection, parse_reply

if TYPE_CHECKING:  # pragma: no cover
    from tidings.config import WriterSettings
    from tidings.store import Store


class ModelWriter:
    name = "openai"
    paraphrases = True  # its sentences are checked against the passages they cite, not found word for word

    def __init__(self, settings: WriterSettings | None = None, store: Store | None = None) -> None:
        self.settings, self.store = settings, store
        self.requests = 0  # made to the server in this run, answered or not
        self.reused = 0  # answered from the store
        self.tokens = 0  # prompt and completion, as the server counted them
        self.down = ""  # why the server did not answer, once it has not: it is not asked again in this run

    def for_run(self, settings: WriterSettings, store: Store) -> ModelWriter:
        return ModelWriter(settings, store)

    def write(self, brief: Brief) -> Revision:
        settings = self.settings
        if settings is None or not settings.model:
            raise WriterUnavailable("the openai writer needs a [writer] table with a model")
        base = compose(brief)
        story = passages(brief.items, dict(base.numbering), settings.max_passage_chars)
        body = messages(story, base.headline, brief.previous, base.fact_check, brief.max_sentences)
        key = request_hash(settings.model, body)
        stored = self.store.writer_reply(key) if self.store is not None else None
        reply = _parsed(stored) if stored is not None else None
        if reply is None:  # never asked, or asked before a reply could be used
            reply, answer = self._ask(body)
            if self.store is not None and answer.finished:
                # Only a whole, usable article is kept: a reply cut off or unreadable is asked for again.
                self.store.keep_writer_reply(key, settings.model, body, answer, brief.now)
        else:
            self.reused += 1
        # The passages go with the draft: its sentences are checked against what the model was given.
        return replace(base, sections=_sections(reply), writer=self.name, model=settings.model,
                       passages=tuple(story.items()))

    def _ask(self, body: list[dict[str, str]]) -> tuple[tuple[ReplySection, ...], Answer]:
        settings = self.settings
        if self.down:
            raise WriterUnavailable(f"not asked: earlier in this run, {self.down}", repeated=True)
        self.requests += 1
        try:
            answer = complete(settings.base_url, settings.model, body, settings.timeout, settings.api_key_env)
        except ServerUnreachable as exc:
            self.down = str(exc)
            raise
        self.tokens += (answer.prompt_tokens or 0) + (answer.completion_tokens or 0)
        try:
            return parse_reply(answer.text), answer
        except ReplyError as exc:
            raise WriterUnavailable(f"the model's reply cannot be used: {exc}") from None


def _parsed(text: str) -> tuple[ReplySection, ...] | None:
    try:
        return parse_reply(text)
    except ReplyError:
        return None


# The sections a model is asked for, by their names with case, spaces and punctuation taken out.
_HEADINGS = {re.sub(r"[^a-z]", "", h.lower()): h for h in HEADINGS}


def _sections(reply: Sequence[ReplySection]) -> tuple[Section, ...]:
    """The reply's sections under the headings the model was asked for. Any other heading is words the model
    wrote, and nothing checks a heading: its sentences go to the section before it (or the summary), and the
    heading itself is not shown. A section named twice is one."""
    merged: dict[str, list[Sentence]] = {}
    current = HEADINGS[0]
    for section in reply:
        current = _HEADINGS.get(re.sub(r"[^a-z]", "", section.heading.lower()), current)
        for x in section.sentences:
            cites = tuple(sorted(set(x.cites)))
            dated = _DATED.match(x.text) if current == TIMELINE else None
            # A timeline line's date is its label, shown before it (the check reads the two together).
            merged.setdefault(current, []).append(
                Sentence(x.text[dated.end():], cites, label=dated.group(1)) if dated else Sentence(x.text, cites))
    return tuple(Section(h, tuple(merged[h])) for h in HEADINGS if merged.get(h))


# "Mar 11: ...", "March 11, 2026 — ...", "2025-08-05: ...": a timeline line's date, before a colon or a dash.
_DATED = re.compile(r"((?=[^:—–]{0,24}\d)[A-Z0-9][\w ,.\-/]{0,24}?)\s*(?::|—|–)\s+(?=\S)")


register(ModelWriter())
