"""Plain-text rendering of an article, for the terminal."""

from __future__ import annotations

import textwrap

from tidings.model import Revision, Story


def article_text(story: Story, revision: Revision, width: int = 88) -> str:
    lines = [revision.headline, "=" * min(len(revision.headline), width),
             f"Story {story.id} · {story.digest} · Updated {revision.created:%b} {revision.created.day}, "
             f"{revision.created.year} · Sources ({len(revision.sources)}) · Revision {revision.number}", ""]
    for n, section in enumerate(revision.sections):
        if n:
            lines += [section.heading, "-" * len(section.heading)]
        body = " ".join(s.text + "".join(f"[{c}]" for c in s.cites) for s in section.sentences)
        lines += [textwrap.fill(body, width), ""]
    lines += [f"Sources ({len(revision.sources)})", "-" * 11]
    for c in revision.sources:
        also = f" (also carried by {', '.join(c.carried_by)})" if c.carried_by else ""
        lines.append(f"[{c.n}] {c.publisher} — {c.title} ({c.published:%Y-%m-%d}){also}")
        lines.append(f"    {c.url}")
    if revision.changes:
        lines += ["", "What changed in this revision:"] + [f"  - {c}" for c in revision.changes]
    return "\n".join(lines)
