"""What the model writer sends: passages in the story's numbering, cut at a sentence end, bounded in number, and
the same request for the same story (its hash is what a stored reply is found by)."""

from datetime import UTC, datetime, timedelta

from tidings.model import Item
from tidings.write.prompt import MAX_PASSAGES, messages, passage_text, passages, request_hash

DAY = datetime(2026, 3, 13, 9, 0, tzinfo=UTC)


def item(n: int, text: str = "The barrier was approved. It cost 140 million euros.", hours: int = 0) -> Item:
    return Item(id=n, url=f"https://wire.example/{n}", title=f"Barrier news {n}", text=text,
                publisher="Harbour Wire", published=DAY + timedelta(hours=hours))


def test_a_passage_names_its_publisher_date_and_title_and_is_cut_at_a_sentence_end():
    text = passage_text(item(1, "First sentence here. " * 40), 200)
    assert text.startswith("Harbour Wire, 2026-03-13: Barrier news 1. First sentence here.")
    assert len(text) <= 200 and text.endswith("here.")
    assert passage_text(item(2, "word " * 100), 120).endswith("word …")


def test_passages_use_the_story_numbers_and_keep_the_newest():
    items = [item(n, hours=n) for n in range(1, MAX_PASSAGES + 6)]
    numbers = {i.id: 100 + i.id for i in items}
    sent = passages(items, numbers, 500)
    assert len(sent) == MAX_PASSAGES
    assert list(sent) == sorted(sent) and min(sent) == 106  # the five oldest left out


def test_the_same_story_asks_the_same_question():
    items = [item(1), item(2)]
    one = messages(passages(items, {1: 1, 2: 2}, 500), "Barrier approved", None, (), 12)
    two = messages(passages(list(reversed(items)), {1: 1, 2: 2}, 500), "Barrier approved", None, (), 12)
    assert one == two and request_hash("m", one) == request_hash("m", two) != request_hash("other", one)
    user = one[1]["content"]
    assert "[1] Harbour Wire, 2026-03-13: Barrier news 1." in user and "[2] Harbour Wire" in user
    assert "at most 12 sentences" in one[0]["content"]


def test_the_previous_version_is_given_only_where_its_sources_are_sent():
    from tidings.model import Revision, Section, Sentence

    previous = Revision(story_id=1, number=1, created=DAY, headline="Barrier approved", sources=(), item_ids=(1, 2),
                        sections=(Section("Summary", (Sentence("The barrier was approved.", (1,)),
                                                      Sentence("It cost 140 million euros.", (7,)))),))
    user = messages(passages([item(1)], {1: 1}, 500), "Barrier approved", previous, (), 12)[1]["content"]
    assert "The barrier was approved. [1]" in user and "140 million euros. [7]" not in user
