"""What a model writer is given: the story's sources as numbered passages, the previous revision and the fact
check, in one chat request whose content depends on nothing else (so the same story asks the same question, and
its stored answer can be reused)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence

from tidings.model import FactCheck, Item, Revision
from tidings.text import squash

HEADINGS = ("Summary", "What's new", "Background", "Perspectives", "Timeline", "What to watch")
TIMELINE = "Timeline"

SYSTEM = """You write a short, neutral news article for a topic digest, using only the numbered source passages \
you are given.

Rules:
- Write in sections. Start each with a line "## Heading", using these headings, in this order, only where you \
have something to say: {headings}. The Summary is one or two sentences on the most important development. \
Each Timeline line starts with the event's date and a colon, like "Mar 11: NVIDIA released the model. [1]".
- End every sentence with the markers of the passages that state it, like "... in March. [2][5]". Cite only \
passage numbers you were given.
- Every figure, date and name in a sentence must be in the passages it cites. Do not add anything they do not say.
- Never state as fact a claim the fact check lists as contradicted or disputed; you may say who made it.
- Write at most {limit} sentences. No preamble, no closing remarks, no headline."""


def passage_text(item: Item, limit: int) -> str:
    """One source as the model reads it: who published it and when, its title, then its text, cut at a sentence
    end within `limit` characters. A sentence is later checked against exactly this text."""
    title = squash(item.title)
    if title and title[-1] not in ".!?:":
        title += "."
    text = squash(f"{item.publisher}, {item.published:%Y-%m-%d}: {title} {item.text}")
    if len(text) <= limit:
        return text
    cut = text[:limit]
    end = max(cut.rfind(". "), cut.rfind("! "), cut.rfind("? "))
    return cut[:end + 1] if end > limit // 2 else cut[:cut.rfind(" ")] + " …"


MAX_PASSAGES = 40  # a story of hundreds of items would not fit a local model's context: its newest are sent


def passages(items: Sequence[Item], numbers: Mapping[int, int], limit: int) -> dict[int, str]:
    """Citation number -> passage, for the story's items (its MAX_PASSAGES newest), in the story's own numbering."""
    newest = sorted(items, key=lambda i: (i.published, i.id))[-MAX_PASSAGES:]
    return {numbers[i.id]: passage_text(i, limit) for i in sorted(newest, key=lambda i: numbers[i.id])}


def messages(story: Mapping[int, str], headline: str, previous: Revision | None, checks: Sequence[FactCheck],
             limit: int) -> list[dict[str, str]]:
    """The chat messages for one revision."""
    lines = [f"Story: {headline}", "", "Source passages:"]
    lines += [f"[{n}] {text}" for n, text in story.items()]
    # Of the previous version, the sentences whose sources are all among the passages: one citing a source not
    # sent could not be kept, and the model would be led to write it.
    kept = [(section.heading, [s for s in section.sentences if s.cites and all(n in story for n in s.cites)])
            for section in previous.sections if section.heading in HEADINGS] if previous is not None else []
    if any(sentences for _, sentences in kept):
        lines += ["", "The previous version of the article (keep what still holds; the passages decide):"]
        for heading, sentences in kept:
            if sentences:
                lines.append(f"## {heading}")
                lines += [f"{s.label + ': ' if s.label else ''}{s.text} {''.join(f'[{n}]' for n in s.cites)}"
                          for s in sentences]
    if checks:
        lines += ["", "Fact check of claims in the passages:"]
        for f in checks:
            against = f" (evidence: {f.evidence[0][0]})" if f.evidence else ""
            cites = "".join(f"[{n}]" for n in f.cites)
            lines.append(f"- {f.verdict}: {f.claim or f.sentence}{against} {cites}")
    lines += ["", "Write the article now."]
    return [{"role": "system", "content": SYSTEM.format(headings=", ".join(HEADINGS), limit=limit)},
            {"role": "user", "content": "\n".join(lines)}]


def request_hash(model: str, body: Sequence[Mapping[str, str]]) -> str:
    """The content hash a request is stored under: the model and every word it is sent."""
    data = json.dumps({"model": model, "messages": list(body)}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()
