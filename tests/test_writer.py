"""Articles a reader can trust: each fact once, sentences that stand alone, dated, with perspectives, a timeline,
stable citation numbers and revisions that say what changed; and the writer interface."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import make_config
from tidings.errors import SetupError
from tidings.model import CheckedClaim, Claim, Evidence, Item, Revision, Section, Sentence
from tidings.pipeline import opened, run
from tidings.publish.export import export_state
from tidings.write import WRITERS, Brief, get_writer, register
from tidings.write.extractive import compose
from tidings.write.grounding import grounded
from tidings.write.measures import measure
from tidings.write.revision import numbering_note

FRI = datetime(2026, 3, 13, 9, 0, tzinfo=UTC)  # a Friday


def item(n: int, text: str, title: str = "", publisher: str = "", day: int = 0, credibility: float = 0.8) -> Item:
    publisher = publisher or f"Publisher {n}"
    return Item(id=n, url=f"https://p{n}.example/a", title=title or f"Report {n} on the harbour barrier",
                text=text, publisher=publisher, published=FRI + timedelta(days=day, minutes=n), content_hash=str(n),
                publishers=(publisher,), credibility=credibility)


def write(items, previous=None, claims=(), now=None, **kw) -> Revision:
    return compose(Brief(1, items, previous, list(claims), now or FRI + timedelta(days=5), **kw))


def texts(revision: Revision) -> list[str]:
    return [s.text for s in revision.sentences()]


BARRIER = ("The harbour authority of Port Ellery approved a new tidal barrier after two years of debate. "
           "The barrier will cost 140 million euros and protect 12,000 homes from storm surges. ")


def test_a_fact_stated_by_three_sources_is_one_sentence_citing_all_three():
    items = [item(1, BARRIER + "Engineers expect the work to take four years in all, the authority said."),
             item(2, "Port Ellery's new tidal barrier will cost 140 million euros and protect 12,000 homes, "
                     "officials confirmed at a meeting of the harbour authority. Residents of the old quarter "
                     "welcomed the decision at a packed public meeting in the town hall."),
             item(3, "A barrier costing 140 million euros will protect 12,000 homes in Port Ellery from storm "
                     "surges, the harbour authority said in its statement. Local fishing crews said they would "
                     "keep their moorings inside the new barrier line.")]
    revision = write(items)
    carrying = [s for s in revision.sentences() if "140 million" in s.text]
    assert len(carrying) == 1
    assert len(carrying[0].cites) == 3  # corroboration a reader can see: [1][2][3]
    m = measure(revision, items)
    assert m["repeated_figures"] == 0 and m["overlapping_pairs"] == 0 and m["attributed"] == 1.0


def test_sentences_that_need_their_context_are_never_lifted():
    items = [item(1, BARRIER + "Here are the figures that matter for the new barrier. Can a barrier really stop "
                     "a storm surge of this size? We will update this guide as the work goes on. It will be the "
                     "largest flood defence on the coast. What to watch: whether the contract is signed in May."),
             item(2, "Port Ellery's harbour authority chose a design by a Dutch engineering firm for the barrier. "
                     "This matters because the old sea wall failed twice during last winter's storms.")]
    got = " ".join(texts(write(items)))
    for fragment in ("Here are", "Can a barrier", "We will update", "It will be", "What to watch:",
                     "This matters"):
        assert fragment not in got
    assert "approved a new tidal barrier" in got


def test_relative_days_are_dated_and_the_insertion_is_recorded():
    items = [item(1, "The harbour authority approved the Port Ellery tidal barrier on Thursday after a long "
                     "debate. Construction crews will move onto the site on Monday, the authority said in a "
                     "statement to residents.")]
    revision = write(items, now=FRI)
    approved = next(s for s in revision.sentences() if "approved" in s.text)
    assert "on Thursday [Mar 12]" in approved.text
    assert approved.source_text == items[0].text.split(". ")[0] + "."  # the source's words, exactly
    assert approved.insertions
    assert measure(revision, items)["undated_relative_days"] == 0


def test_a_newer_statement_replaces_the_one_it_updates_and_past_plans_leave_what_to_watch():
    items = [item(1, "The Carrow Vale System Operator raised its Level 2 supply alert for the coast as the "
                     "heatwave built. The expedition team will set out for the glacier on Monday, its leader said.",
                  day=0),
             item(2, "The Carrow Vale System Operator lifted its Level 2 supply alert for the coast as the "
                     "heatwave ended. The expedition team began its work on the glacier on Monday, its leader "
                     "said.", day=4)]
    revision = write(items, now=FRI + timedelta(days=4, hours=12))
    got = " ".join(texts(revision))
    assert "lifted its Level 2 supply alert" in got and "raised its Level 2" not in got
    assert "will set out" not in got  # its Monday has passed
    assert not any(s.heading == "What to watch" for s in revision.sections)


def test_sections_by_role_with_perspectives_and_a_timeline():
    items = [item(1, "OpenAI's model card for gpt-oss-120b puts its SWE-bench Verified score at about 62%. "
                     "OpenAI released gpt-oss-120b on August 5, 2025 under the Apache-2.0 licence.",
                  title="OpenAI publishes gpt-oss model card", publisher="Inference Press", day=0),
             item(2, "NVIDIA measured 41.9% for gpt-oss-120b on SWE-bench Verified with the OpenHands harness. "
                     "Evaluators say the harness explains most of the gap between published scores.",
                  title="NVIDIA runs gpt-oss-120b through OpenHands", publisher="The Open Checkpoint", day=2)]
    revision = write(items)
    headings = [s.heading for s in revision.sections]
    assert set(headings) <= {"Summary", "What's new", "Background", "Perspectives", "Timeline", "What to watch"}
    perspectives = next(s for s in revision.sections if s.heading == "Perspectives")
    cited = {n for s in perspectives.sentences for n in s.cites}
    assert len(cited) == 2  # each side cited
    timeline = next(s for s in revision.sections if s.heading == "Timeline")
    labels = [s.label for s in timeline.sentences]
    assert "Mar 13" in labels and "Mar 15" in labels
    # The release, dated before the story began, is told once: in the prose or as the timeline's first line.
    told = [s for sec in revision.sections for s in sec.sentences if "August 5, 2025" in s.text]
    assert len(told) == 1 and (told[0] not in timeline.sentences or labels[0] == "Aug 5, 2025")


def test_a_sentence_about_what_comes_next_is_no_event_of_the_timeline():
    items = [item(1, "OpenAI's model card for gpt-oss-120b puts its SWE-bench Verified score at about 62%. "
                     "OpenAI released gpt-oss-120b on August 5, 2025 under the Apache-2.0 licence.", day=0),
             item(2, "The next thing to watch is whether OpenAI refreshes the gpt-oss family, since both models "
                     "date from August 2025.", day=2)]
    timeline = next(s for s in write(items).sections if s.heading == "Timeline")
    assert not any("next thing to watch" in s.text for s in timeline.sentences)
    assert not any(s.label == "Aug 2025" for s in timeline.sentences)


@pytest.mark.parametrize("dated", [
    "The model was released on August 5, 2025 under the Apache-2.0 licence.",  # which model?
    "Nearly a year after OpenAI released gpt-oss on August 5, 2025, developers still run it.",  # not on that day
])
def test_a_dated_sentence_that_is_no_event_of_its_own_date_stays_off_the_timeline(dated):
    items = [item(1, "OpenAI's model card for gpt-oss-120b puts its SWE-bench Verified score at about 62%. " + dated,
                  day=0),
             item(2, "NVIDIA measured 41.9% for gpt-oss-120b on SWE-bench Verified with the OpenHands harness.", day=2)]
    timeline = next(s for s in write(items).sections if s.heading == "Timeline")
    assert [s.label for s in timeline.sentences] == ["Mar 13", "Mar 15"]


def test_numbers_stay_headline_stays_and_what_changed_names_the_sources():
    first_items = [item(1, BARRIER + "Engineers expect construction to start in the autumn."),
                   item(2, "Residents of Port Ellery welcomed the tidal barrier decision at a packed meeting in "
                           "the town hall on the harbour front.", publisher="Harbour Radio")]
    first = write(first_items)
    later = first_items[1:] + [item(3, "The Port Ellery barrier contract was awarded to a consortium of three "
                                       "local builders, the harbour authority said.", publisher="Coast Wire",
                                    day=1)]
    second = write(later, previous=first)
    before = {c.item_id: c.n for c in first.sources}
    after = {c.item_id: c.n for c in second.sources}
    assert after[2] == before[2] and after[3] == 3  # item 1 left; its number 1 is not reused
    assert numbering_note(first) == "" and "a missing number is a source that has since left" in numbering_note(second)
    assert second.headline == first.headline
    changes = " ".join(second.changes)
    assert "New source: Coast Wire" in changes and "No longer part of this story: Publisher 1" in changes
    assert second.added and second.removed


def test_headline_from_a_credible_source_without_clickbait():
    items = [item(1, BARRIER, title="Port Ellery's barrier is here and it is a monster", credibility=0.4),
             item(2, "The harbour authority approved a tidal barrier for Port Ellery after two years of debate, "
                     "officials said.", title="Port Ellery approves tidal barrier - Coast Wire",
                  publisher="Coast Wire", credibility=0.9)]
    assert write(items).headline == "Port Ellery approves tidal barrier"


def test_fact_check_puts_what_matters_first_with_display_names():
    claims = [CheckedClaim(1, "gpt-oss-120b is a closed model.", Claim("gpt-oss-120b", "openness", "closed"),
                           "contradicted", (Evidence("gpt-oss-120b is open-weight", "https://arxiv.org/abs/2508.10925"),)),
              CheckedClaim(1, "It scores 62 on SWE-bench Verified.",
                           Claim("gpt-oss-120b", "score:swe-bench-verified", 62.0), "supported")]
    revision = write([item(1, BARRIER)], claims=claims, names={"swe-bench-verified": "SWE-bench Verified"})
    assert [f.verdict for f in revision.fact_check] == ["contradicted", "supported"]
    assert revision.fact_check[1].claim == "gpt-oss-120b scores 62 on SWE-bench Verified"
    assert "gpt-oss-120b is a closed model." not in texts(revision)


def test_writing_grows_gently_with_the_story():
    """Writing never compares every pair of a big story's sentences: the pairwise steps see a bounded pool."""
    from tidings.write import extractive

    many = [item(n, f"Report {n}: the harbour authority of Port Ellery discussed barrier section {n} at length. "
                    f"Crews measured {n * 3} metres of sea wall near pier {n} during the week. The council said "
                    f"section {n} would need {n + 7} new gates.", day=n % 3) for n in range(1, 2001)]
    seen = []
    original = extractive._superseded

    def spy(pool, today):
        seen.append(len(pool))
        return original(pool, today)

    extractive._superseded = spy
    try:
        revision = write(many)
    finally:
        extractive._superseded = original
    assert seen and seen[0] <= 3 * extractive.PRESELECT
    assert revision.sentences() and len(revision.sources) == 2000


class Echo:
    """A writer that writes one sentence of its own, to show what the grounding check does with it."""

    name = "echo"

    def write(self, brief: Brief) -> Revision:
        first = brief.items[0]
        made_up = Sentence("The barrier will also glow in the dark.", (1,))
        real = Sentence(first.text.split(". ")[0] + ".", (1,))
        return replace(compose(brief), sections=(Section("Summary", (real, made_up)),))


def test_a_registered_writer_is_used_and_its_ungrounded_sentences_dropped(tmp_path):
    register(Echo())
    try:
        (tmp_path / "wire.rss").write_text(
            "<rss version='2.0'><channel><title>W</title><item><title>Barrier approved</title>"
            f"<link>https://wire.example/a</link><description>{BARRIER * 2}</description></item></channel></rss>")
        config = make_config(tmp_path, [{"url": str(tmp_path / "wire.rss")}], writer="echo",
                             fetch_full_text=False)
        stats = run(config, now=FRI, publish=False)
        assert stats.revisions == 1
        with opened(config) as store:
            revision = store.latest_revision(store.stories()[0].id)
        assert texts(revision) == ["The harbour authority of Port Ellery approved a new tidal barrier after two "
                                   "years of debate."]
        revision, bad = grounded(revision, [item(1, BARRIER)])
        assert bad == []
    finally:
        WRITERS.pop("echo")


def test_an_unknown_writer_is_one_line():
    with pytest.raises(SetupError, match="no writer called 'gpt' \\(available: extractive"):
        get_writer("gpt")


def test_export_carries_the_diff_and_the_insertions(tmp_path):
    (tmp_path / "wire.rss").write_text(
        "<rss version='2.0'><channel><title>W</title><item><title>Barrier approved</title>"
        "<link>https://wire.example/a</link><pubDate>Fri, 13 Mar 2026 09:00:00 +0000</pubDate><description>"
        "The harbour authority of Port Ellery approved a new tidal barrier on Thursday after two years of "
        "debate. " + BARRIER + "</description></item></channel></rss>")
    config = make_config(tmp_path, [{"url": str(tmp_path / "wire.rss")}], fetch_full_text=False)
    run(config, now=FRI, publish=False)
    with opened(config) as store:
        data = export_state(store)
    revision = data["stories"][0]["revisions"][0]
    assert revision["diff"]["added"] and revision["diff"]["removed"] == []
    dated = [s for sec in revision["sections"] for s in sec["sentences"] if "insertions" in s]
    assert dated and dated[0]["insertions"][0]["text"] == " [Mar 12]"


def test_a_run_imports_only_the_writer_it_uses_and_no_progress_bars_for_a_log():
    import subprocess
    import sys

    code = ("import sys; from tidings.write import get_writer, is_writer; from tidings.progress import reporter_for; "
            "get_writer('extractive'); reporter_for(False); assert is_writer('extractive'); "
            "print(sorted(m for m in ('tidings.write.llm', 'httpx', 'rich') if m in sys.modules)); "
            "assert is_writer('openai'); print('tidings.write.llm' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[:2] == ["[]", "True"]  # (stderr is not a terminal here: one line per stage, no rich)
