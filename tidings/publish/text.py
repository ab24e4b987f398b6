"""Plain-text rendering of an article, for the terminal."""

from __future__ import annotations

import textwrap

from tidings.model import Revision, Story
from tidings.write.revision import numbering_note, writer_note


def article_text(story: Story, revision: Revision, width: int = 88) -> str:
    lines = [revision.headline, "=" * min(len(revision.headline), width),
             f"Story {story.id} · {story.digest} · Updated {revision.created:%b} {revision.created.day}, "
             f"{revision.created.year} · Sources ({len(revision.sources)}) · Revision {revision.number}", ""]
    if writer_note(revision):
        lines += [*textwrap.wrap(writer_note(revision), width), ""]
    for n, section in enumerate(revision.sections):
        if n:
            lines += [section.heading, "-" * len(section.heading)]
        if any(s.label for s in section.sentences):  # a timeline: one dated line each
            for s in section.sentences:
                lines += textwrap.wrap(f"{s.label:<13} {s.text}" + "".join(f"[{c}]" for c in s.cites), width,
                                       subsequent_indent=" " * 14)
            lines.append("")
            continue
        body = " ".join(s.text + "".join(f"[{c}]" for c in s.cites) for s in section.sentences)
        lines += [textwrap.fill(body, width), ""]
    flagged = [f for f in revision.fact_check if f.verdict in ("contradicted", "disputed")]
    if revision.fact_check:
        lines += ["Fact check", "-" * 10]
        for f in flagged:
            # As the story's page says it: the claim, whose it is, and what the evidence says instead.
            who = f"Reported, not claimed by the source: {f.attributed_to} says " if f.attributed_to else ""
            where = "Knowledge base" if f.verdict in ("supported", "contradicted") else "Other sources"
            lines += textwrap.wrap(f"{f.verdict.upper()}: {who}{f.claim or f.sentence.rstrip('. ')}"
                                   f"{''.join(f'[{n}]' for n in f.cites)}."
                                   + (f" {where}: {f.evidence[0][0]}." if f.evidence else ""),
                                   width, subsequent_indent="    ")
        # Counted by sentence, as the story's page folds them away.
        rest = len({f.sentence for f in revision.fact_check} - {f.sentence for f in flagged})
        if rest:
            lines.append(f"{rest} more sentence{'s' * (rest != 1)} checked, none contradicted or disputed.")
        lines.append("")
    heading = f"Sources ({len(revision.sources)})"
    lines += [heading, "-" * len(heading)]
    for c in revision.sources:
        also = f" (also carried by {', '.join(c.carried_by)})" if c.carried_by else ""
        lines.append(f"[{c.n}] {c.publisher} — {c.title} ({c.published:%Y-%m-%d}){also}")
        lines.append(f"    {c.url}")
    lines += textwrap.wrap(numbering_note(revision), width)  # (nothing when no number is missing)
    if revision.changes:
        lines += ["", "What changed in this revision:"] + [f"  - {c}" for c in revision.changes]
    return "\n".join(lines)


# The knowledge base's confidence codes, as a reader needs them.
_CONFIDENCE = {"H": "high (a primary source, or two or more)", "M": "medium (one secondary source)",
               "BK": "general knowledge, not checked against a source"}


def model_text(model) -> str:
    """A knowledge-base entry, for the terminal."""
    def params() -> str:
        if model.params_total_b is None:
            return "undisclosed"
        active = f" total, {model.params_active_b:g}B active" if model.params_active_b is not None else ""
        return f"{model.params_total_b:g}B{active}"

    rows = [("developer", model.developer), ("openness", model.openness), ("licence", model.licence),
            ("parameters", params()), ("architecture", model.architecture),
            ("context", f"{model.context_tokens:,} tokens" if model.context_tokens else ""),
            ("released", model.released), ("confidence", _CONFIDENCE.get(model.confidence, model.confidence)),
            ("aliases", ", ".join(model.aliases))]
    lines = [f"{model.name} ({model.id})"]
    lines += [f"  {label:<12} {value}" for label, value in rows if value]
    for s in model.benchmarks:
        setting = f" ({s.setting})" if s.setting else ""
        by = f", reported by {s.reported_by}" if s.reported_by else ""
        lines.append(f"  benchmark    {s.benchmark}: {s.score:g}{setting}{by}" + (f" <{s.source}>" if s.source else ""))
    if model.notes:
        lines.append(f"  notes        {model.notes}")
    lines += [f"  source       {url}" for url in model.sources]
    lines.append(f"  from         {model.origin}")
    return "\n".join(lines)
