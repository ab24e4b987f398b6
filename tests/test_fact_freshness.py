"""Verdicts never go stale: a claim that a later source disputes, or that a changed knowledge base contradicts,
is taken out of the current article, and the new revision says which claim changed and why."""

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from tests.conftest import NOW, make_config, rss
from tidings.pipeline import opened, run
from tidings.text import squash

SCORE = ("<p>OpenAI's gpt-oss-120b scores {} on LiveCodeBench, the lab's partners said on Tuesday. The harness "
         "gave the open model fresh coding problems that were published after its training ended. Teams that "
         "ran the problems said the open model solved most of the easier ones within minutes.</p>")
ZEPHYR = ("<p>Example Lab's Zephyr 9 has 30 billion parameters, the lab said at its launch in Lisbon. The model "
          "is aimed at translation work for small newsrooms. Example Lab said the weights would follow later "
          "this year after a safety review by outside researchers.</p>")


DIGESTS = [{"slug": "news", "title": "News"}, {"slug": "other", "title": "Other"}]


def _feed(folder: Path, name: str, site: str, entries: list[tuple[str, str, str]], digest: str = "news") -> dict:
    folder.mkdir(exist_ok=True)
    items = [{"title": title, "link": link, "text": text} for title, link, text in entries]
    (folder / name).write_text(rss(items, link=site))
    return {"url": str(folder / name), "name": name, "digests": [digest]}


def _stated_but_refuted(config) -> list[str]:
    """Sentences of current articles that state as fact a claim found contradicted or disputed: must always be
    empty. (A disputed figure may appear under Perspectives, beside the other side: that states no fact.)"""
    with opened(config) as store:
        refuted = {squash(c.sentence) for c in store.claims(verdicts=("contradicted", "disputed"))
                   if not c.attributed_to}
        return [s.text for story in store.stories() for rev in [store.latest_revision(story.id)]
                for sec in rev.sections if sec.heading != "Perspectives" for s in sec.sentences
                if squash(s.source_text) in refuted]


def _latest_changes(config) -> list[str]:
    with opened(config) as store:
        return [c for story in store.stories() for c in store.latest_revision(story.id).changes]


def test_a_claim_disputed_by_a_later_source_leaves_the_article(tmp_path):
    feeds = tmp_path / "feeds"
    sources = [_feed(feeds, "a.rss", "https://alpha.example/",
                     [("Open model does well on fresh coding problems", "https://alpha.example/lcb",
                       SCORE.format("71.5"))])]
    config = make_config(tmp_path, sources, DIGESTS, near_duplicate_threshold=1.0, fetch_full_text=False)
    run(config, now=NOW)
    with opened(config) as store:
        first = store.latest_revision(store.stories()[0].id)
    assert any("71.5" in s.text for sec in first.sections for s in sec.sentences)  # single-source: stated

    # A day later another publisher, in another digest, gives another figure: the first story's items did not
    # change, but one of its claims is disputed now.
    sources.append(_feed(feeds, "b.rss", "https://beta.example/",
                         [("A different LiveCodeBench figure for gpt-oss", "https://beta.example/lcb",
                           SCORE.format("64.2"))], digest="other"))
    config = make_config(tmp_path, sources, DIGESTS, near_duplicate_threshold=1.0, fetch_full_text=False)
    run(config, now=NOW + timedelta(days=1))
    assert _stated_but_refuted(config) == []
    changes = " ".join(_latest_changes(config))
    assert "is now disputed (was single-source)" in changes and "beta.example states 64.2" in changes
    assert "Taken out" in changes and "71.5" in changes


def test_a_changed_knowledge_base_rechecks_stored_items(tmp_path):
    feeds = tmp_path / "feeds"
    sources = [_feed(feeds, "z.rss", "https://zeta.example/",
                     [("Example Lab launches Zephyr 9", "https://zeta.example/zephyr", ZEPHYR)])]
    kb = tmp_path / "facts.toml"
    kb.write_text('[[models]]\nid = "zephyr-9"\nname = "Zephyr 9"\ndeveloper = "Example Lab"\n'
                  'params_total_b = 30\nsources = ["https://lab.example/zephyr"]\n')
    config = make_config(tmp_path, sources, fetch_full_text=False)
    run(config, now=NOW)
    with opened(config) as store:
        assert store.claims() == []  # the built-in KB knows no Zephyr: nothing to check

    config = replace(make_config(tmp_path, sources, fetch_full_text=False), kb=(str(kb),))
    run(config, now=NOW + timedelta(hours=1))
    with opened(config) as store:
        assert ("params_total_b", "supported") in {(c.attribute, c.verdict) for c in store.claims()}
        revisions = store.revisions(store.stories()[0].id)
    assert any("30 billion" in s.text for sec in revisions[-1].sections for s in sec.sentences)

    # The user corrects the KB file: the stored claim is contradicted now, and the article says so.
    kb.write_text(kb.read_text().replace("params_total_b = 30", "params_total_b = 12"))
    run(config, now=NOW + timedelta(hours=2))
    with opened(config) as store:
        assert {c.verdict for c in store.claims() if c.attribute == "params_total_b"} == {"contradicted"}
        after = store.revisions(store.stories()[0].id)
    assert len(after) == len(revisions) + 1
    assert _stated_but_refuted(config) == []
    changes = " ".join(after[-1].changes)
    assert "is now contradicted (was supported)" in changes and "12B total parameters" in changes

    # Nothing changed since: no new revision.
    run(config, now=NOW + timedelta(hours=3))
    with opened(config) as store:
        assert len(store.revisions(store.stories()[0].id)) == len(after)
