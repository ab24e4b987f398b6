"""Reading a language model's article back: sections of sentences, each with the passages it cites."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tidings.write.reply import ReplyError, ReplySection, ReplySentence, parse_reply


def read(reply: str) -> list[tuple[str, list[tuple[str, tuple[int, ...]]]]]:
    return [(s.heading, [(x.text, x.cites) for x in s.sentences]) for s in parse_reply(reply)]


def test_sections_and_sentences_with_their_markers():
    reply = ("## Summary\n"
             "NVIDIA released Nemotron 3 Super on March 11, with a context of one million tokens. [2][7] "
             "Its weights can be downloaded. [3]\n\n"
             "## What's new\n"
             "The model holds 120.6 billion parameters [1, 4]. Teams compare it with gpt-oss-120b [5].\n")
    assert read(reply) == [
        ("Summary", [("NVIDIA released Nemotron 3 Super on March 11, with a context of one million tokens.", (2, 7)),
                     ("Its weights can be downloaded.", (3,))]),
        ("What's new", [("The model holds 120.6 billion parameters.", (1, 4)),
                        ("Teams compare it with gpt-oss-120b.", (5,))])]


def test_a_code_fence_and_the_models_own_lines_are_taken_off():
    reply = ("Here is the article you asked for:\n\n```markdown\n## Summary\nThe barrier was approved. [1]\n```\n"
             "Let me know if you want changes.")
    assert read(reply) == [("Summary", [("The barrier was approved.", (1,))])]
    assert read("Sure! Here it is.\n\n## Background\nIt cost 140 million euros. [2]") == [
        ("Background", [("It cost 140 million euros.", (2,))])]


def test_an_article_without_headings_is_a_summary_and_uncited_sentences_come_back_uncited():
    assert read("The barrier was approved. [1] Nobody objected.") == [
        ("Summary", [("The barrier was approved.", (1,)), ("Nobody objected.", ())])]


def test_markdown_emphasis_list_marks_and_repeated_markers():
    assert read("## What to watch\n- **Construction** starts in *October*. [3][3][1]\n1. `Qwen3.5` follows. [2]") == [
        ("What to watch", [("Construction starts in October.", (3, 1)), ("Qwen3.5 follows.", (2,))])]


def test_a_marker_inside_a_sentence_cites_nothing_on_its_own():
    assert read("## Summary\nThe card [4] puts the score at 62%. [2]") == [
        ("Summary", [("The card puts the score at 62%.", (2,))])]


@pytest.mark.parametrize("reply", ["", "   \n\n", "```\n```", "Sorry, I cannot help with that.",
                                   "## Summary\n\n## Background\n"])
def test_a_reply_with_no_article_is_one_error(reply):
    with pytest.raises(ReplyError, match="no article") as err:
        parse_reply(reply)
    assert "\n" not in str(err.value)


def test_text_stays_text():
    found = parse_reply("## Summary\n<script>alert(1)</script> The lab said so. [1]\x07")
    assert found == (ReplySection("Summary", (ReplySentence("<script>alert(1)</script> The lab said so.", (1,)),)),)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
def test_any_reply_is_read_or_refused_in_one_line(reply):
    try:
        sections = parse_reply(reply)
    except ReplyError as exc:
        assert "\n" not in str(exc)
        return
    assert sections and all(s.sentences for s in sections)
    assert all(x.text and all(n >= 0 for n in x.cites) for s in sections for x in s.sentences)
