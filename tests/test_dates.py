"""Relative days dated in lifted sentences, the dates sentences refer to, and forward-looking statements."""

from __future__ import annotations

import re
import time
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tidings.dates import (
    Insertion,
    apply_insertions,
    dates_in,
    day_label,
    has_relative_day,
    is_forward_looking,
    referred_date,
    resolve,
    strip_insertions,
)

FRI = datetime(2026, 3, 13, 10, 0, tzinfo=UTC)  # a Friday
WED = datetime(2026, 3, 11, 10, 0, tzinfo=UTC)
TUE = datetime(2026, 3, 17, 10, 0, tzinfo=UTC)
SUN = datetime(2026, 3, 15, 10, 0, tzinfo=UTC)
NEW_YEAR = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)  # a Thursday


def dated(sentence: str, published: datetime = FRI) -> str:
    return resolve(sentence, published)[0]


# --- resolve: which day, and where the label goes -------------------------------------------------------------

@pytest.mark.parametrize(("sentence", "published", "expected"), [
    ("The alert was lifted on Friday.", FRI, "The alert was lifted on Friday [Mar 13]."),
    ("The team will set out on Monday.", FRI, "The team will set out on Monday [Mar 16]."),
    ("The team began work on Monday.", TUE, "The team began work on Monday [Mar 16]."),
    ("Demand peaked this evening.", FRI, "Demand peaked this evening [Mar 13]."),
    ("Shares fell yesterday.", FRI, "Shares fell yesterday [Mar 12]."),
    ("Voting opens tomorrow.", FRI, "Voting opens tomorrow [Mar 14]."),
    ("It began the day before yesterday.", FRI, "It began the day before yesterday [Mar 11]."),
    ("It ends the day after tomorrow.", FRI, "It ends the day after tomorrow [Mar 15]."),
    ("Crowds gathered last night.", FRI, "Crowds gathered last night [Mar 12]."),
    ("The speech is tonight.", FRI, "The speech is tonight [Mar 13]."),
    ("Officials spoke earlier today.", FRI, "Officials spoke earlier today [Mar 13]."),
    ("He left last Friday.", FRI, "He left last Friday [Mar 6]."),
    ("They meet next Friday.", FRI, "They meet next Friday [Mar 20]."),
    ("They meet next Monday.", FRI, "They meet next Monday [Mar 16]."),
    ("The storm hit on Friday night.", FRI, "The storm hit on Friday night [Mar 13]."),
    ("The storm hit on Friday-night.", FRI, "The storm hit on Friday-night [Mar 13]."),
    ("Police said Monday's march was peaceful.", FRI, "Police said Monday's [Mar 9] march was peaceful."),
    ("Trading resumed on MONDAY.", FRI, "Trading resumed on MONDAY [Mar 9]."),
    ("Today the firm cut prices.", FRI, "Today [Mar 13] the firm cut prices."),
])
def test_relative_days_are_dated_after_the_phrase(sentence, published, expected):
    assert dated(sentence, published) == expected


def test_a_date_in_another_year_carries_its_year():
    assert dated("Work began on Monday.", NEW_YEAR) == "Work began on Monday [Dec 29, 2025]."
    assert dated("The market reopens tomorrow.", datetime(2026, 12, 31, tzinfo=UTC)) == \
        "The market reopens tomorrow [Jan 1, 2027]."


def test_the_publication_date_is_the_day_of_the_given_timestamp():
    late = datetime(2026, 3, 13, 23, 59, tzinfo=UTC)
    assert dated("The alert was lifted today.", late) == "The alert was lifted today [Mar 13]."
    east = datetime(2026, 3, 14, 1, 0, tzinfo=timezone(timedelta(hours=9)))
    assert dated("The alert was lifted today.", east) == "The alert was lifted today [Mar 14]."
    assert dated("The alert was lifted today.", date(2026, 3, 13)) == "The alert was lifted today [Mar 13]."


def test_two_phrases_get_two_insertions_at_offsets_in_the_original():
    sentence = "It rained yesterday and will clear tomorrow."
    text, insertions = resolve(sentence, FRI)
    assert text == "It rained yesterday [Mar 12] and will clear tomorrow [Mar 14]."
    assert insertions == (Insertion(19, " [Mar 12]"), Insertion(43, " [Mar 14]"))
    assert strip_insertions(text, insertions) == sentence


def test_no_time_words_means_no_change():
    assert resolve("Shares in the company rose 3% after the results.", FRI) == (
        "Shares in the company rose 3% after the results.", ())


@pytest.mark.parametrize("sentence", [
    "It happened on Friday, March 13.",
    "It happened on Friday (13 March).",
    "It happened Friday 13 March.",
    "It happened on Friday, Mar. 13.",
    "It happened on Friday, 2026-03-13.",
    "It happened on Friday the 13th.",
    "It happened on March 13 (Friday).",
])
def test_a_phrase_with_its_date_written_out_is_left_alone(sentence):
    assert resolve(sentence, FRI) == (sentence, ())
    assert not has_relative_day(sentence)


def test_the_tense_of_each_clause_sets_the_direction():
    assert dated("Talks began on Monday and will finish on Friday.", WED) == \
        "Talks began on Monday [Mar 9] and will finish on Friday [Mar 13]."
    assert dated("Talks that began on Monday will end on Friday.", WED) == \
        "Talks that began on Monday [Mar 9] will end on Friday [Mar 13]."
    assert dated("On Monday, the ministry will publish the figures.", WED) == \
        "On Monday [Mar 16], the ministry will publish the figures."
    assert dated("The company said on Monday it would publish the design on Friday.", WED) == \
        "The company said on Monday [Mar 9] it would publish the design on Friday [Mar 13]."


def test_this_weekday_follows_the_tense():
    assert dated("The vote will be held this Monday.", WED) == "The vote will be held this Monday [Mar 16]."
    assert dated("The vote was held this Monday.", WED) == "The vote was held this Monday [Mar 9]."


def test_a_bare_weekday_on_the_publication_day_is_that_day_both_ways():
    assert dated("The vote was held on Friday.") == "The vote was held on Friday [Mar 13]."
    assert dated("The vote will be held on Friday.") == "The vote will be held on Friday [Mar 13]."


def test_by_until_and_from_lean_forward_and_since_looks_back():
    assert dated("Applications are open until Friday.", WED) == "Applications are open until Friday [Mar 13]."
    assert dated("Send comments by Monday.", WED) == "Send comments by Monday [Mar 16]."
    assert dated("The road was closed from Monday.", WED) == "The road was closed from Monday [Mar 9]."
    assert dated("Prices have risen since Monday and will keep rising.", WED) == \
        "Prices have risen since Monday [Mar 9] and will keep rising."


def test_a_range_of_days_counts_on_from_its_first_day():
    assert dated("The shop is open from Monday to Friday.") == \
        "The shop is open from Monday [Mar 16] to Friday [Mar 20]."
    assert dated("The shop was shut from Monday to Friday.") == \
        "The shop was shut from Monday [Mar 9] to Friday [Mar 13]."
    assert dated("Strikes were held on Thursday and Friday.", TUE) == \
        "Strikes were held on Thursday [Mar 12] and Friday [Mar 13]."


def test_weekends_are_dated_by_their_saturday():
    assert dated("Rallies are planned this weekend.") == "Rallies are planned this weekend [Mar 14]."
    assert dated("Rallies this weekend drew crowds.", SUN) == "Rallies this weekend [Mar 14] drew crowds."
    assert dated("It was quiet last weekend.") == "It was quiet last weekend [Mar 7]."
    assert dated("It was quiet last weekend.", SUN) == "It was quiet last weekend [Mar 7]."


@pytest.mark.parametrize("sentence", [
    "Black Friday sales were strong.",
    "Super Tuesday results came in.",
    "The Sunday Times reported the deal.",
    "Easter Monday is a holiday.",
    "USA Today reported the deal.",
    "The shop is closed on Mondays.",
    "Monday.com shares fell.",
    "The Monday-Friday timetable changed.",
    "Sales rose last week and will rise next week and this week.",
    "Protests are expected next weekend.",
    "The holiday falls on a weekday.",
])
def test_names_plurals_compounds_and_weeks_are_not_dated(sentence):
    assert resolve(sentence, FRI) == (sentence, ())
    assert not has_relative_day(sentence)


def test_square_brackets_are_never_entered():
    assert resolve("The report [published Friday] was withdrawn.", FRI) == (
        "The report [published Friday] was withdrawn.", ())
    assert not has_relative_day("The report [published Friday] was withdrawn.")


def test_a_phrase_in_parentheses_is_dated_after_the_closing_parenthesis():
    assert dated("The vote (held on Tuesday) passed.", WED) == "The vote (held on Tuesday) [Mar 10] passed."
    assert dated("The vote (held Monday and Tuesday) passed.", WED) == \
        "The vote (held Monday and Tuesday) [Mar 9; Mar 10] passed."
    assert resolve("The vote (held on Tuesday", WED) == ("The vote (held on Tuesday", ())


def test_resolving_twice_changes_nothing_more():
    for sentence in ("It rained yesterday and will clear tomorrow.", "The vote (held Monday and Tuesday) passed.",
                     "Police said Monday's march was peaceful.", "Work began on Monday."):
        text, _ = resolve(sentence, NEW_YEAR)
        assert has_relative_day(sentence)
        assert not has_relative_day(text)
        assert resolve(text, NEW_YEAR) == (text, ())


# --- insertions -----------------------------------------------------------------------------------------------

def test_apply_and_strip_are_inverse_and_keep_the_order_at_one_offset():
    insertions = [Insertion(5, " [b]"), Insertion(2, " [a]"), Insertion(5, " [c]")]
    text = apply_insertions("abcdefg", insertions)
    assert text == "ab [a]cde [b] [c]fg"
    assert strip_insertions(text, insertions) == "abcdefg"
    assert apply_insertions("abc", []) == "abc"


def test_strip_refuses_insertions_that_are_not_there():
    with pytest.raises(ValueError):
        strip_insertions("The alert was lifted on Friday.", [Insertion(30, " [Mar 13]")])
    with pytest.raises(ValueError):
        apply_insertions("abc", [Insertion(4, "x")])


# --- labels ---------------------------------------------------------------------------------------------------

def test_day_label():
    assert day_label(date(2026, 3, 13)) == "Mar 13"
    assert day_label(date(2026, 3, 13), date(2026, 1, 1)) == "Mar 13"
    assert day_label(date(2025, 8, 5), date(2026, 3, 13)) == "Aug 5, 2025"
    assert day_label(date(2025, 8, 1), date(2025, 8, 9), "month") == "Aug 2025"
    assert day_label(date(2024, 1, 1), precision="year") == "2024"
    with pytest.raises(ValueError):
        day_label(date(2026, 3, 13), precision="week")


# --- absolute dates -------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("sentence", "published", "expected"), [
    ("The model was released on August 5, 2025.", FRI, (date(2025, 8, 5), "day")),
    ("It came out on March 3, 2025.", FRI, (date(2025, 3, 3), "day")),
    ("The paper appeared on 9 September 2024.", FRI, (date(2024, 9, 9), "day")),
    ("The filing is due on Sept. 9.", datetime(2024, 9, 20, tzinfo=UTC), (date(2024, 9, 9), "day")),
    ("The filing is due on Sep 9.", datetime(2024, 9, 20, tzinfo=UTC), (date(2024, 9, 9), "day")),
    ("Trials began on Mar. 3.", FRI, (date(2026, 3, 3), "day")),
    ("Trials begin on 14 March.", FRI, (date(2026, 3, 14), "day")),
    ("Trials began on March 3rd.", FRI, (date(2026, 3, 3), "day")),
    ("Trials began on the 3rd of March.", FRI, (date(2026, 3, 3), "day")),
    ("The weights were posted 2025-08-05.", FRI, (date(2025, 8, 5), "day")),
    ("It launched in August 2025.", FRI, (date(2025, 8, 1), "month")),
    ("GPT-4 launched in 2023.", FRI, (date(2023, 1, 1), "year")),
    ("Emissions must fall by 2030.", FRI, (date(2030, 1, 1), "year")),
    ("Shipments start by the end of 2027.", FRI, (date(2027, 1, 1), "year")),
    ("The model will ship in May.", FRI, (date(2026, 5, 1), "month")),
    ("Sales doubled last year.", FRI, (date(2025, 1, 1), "year")),
    ("Prices rise next month.", datetime(2026, 12, 5, tzinfo=UTC), (date(2027, 1, 1), "month")),
    ("The talks stalled last March.", FRI, (date(2025, 3, 1), "month")),
])
def test_absolute_dates(sentence, published, expected):
    assert referred_date(sentence, published) == expected


def test_a_date_without_a_year_takes_the_closest_year():
    assert referred_date("It closed on December 30.", datetime(2026, 1, 2, tzinfo=UTC)) == (date(2025, 12, 30), "day")
    assert referred_date("It opens on January 3.", datetime(2025, 12, 30, tzinfo=UTC)) == (date(2026, 1, 3), "day")


@pytest.mark.parametrize("sentence", [
    "Qwen3.5 scores 60.47% on SWE-bench.",
    "GPT-4 beat Llama 3.1 405B and a 120B model.",
    "The call starts at 9:00 local time.",
    "Version 2.3 March notes were posted.",
    "Profits grew by 2000 units.",
    "It has a context window of 2048 tokens.",
    "Officials may 5 times revise it.",
    "Theresa May said the plan was sound.",
    "The parser rejected February 30 and 2025-13-45.",
    "The march drew a crowd.",
    "Over the last year the firm grew.",
])
def test_numbers_that_are_not_dates(sentence):
    assert dates_in(sentence, FRI) == []
    assert referred_date(sentence, FRI) is None


def test_gpt4_is_not_a_date_but_its_year_is():
    assert dates_in("GPT-4 launched in 2023.", FRI) == [(date(2023, 1, 1), "year", 18, 22)]


def test_dates_in_lists_every_expression_with_its_span():
    sentence = "It closed early on Friday and reopens on March 20, 2026, not in 2025."
    found = dates_in(sentence, FRI)
    assert [(d, p, sentence[a:b]) for d, p, a, b in found] == [
        (date(2026, 3, 13), "day", "Friday"),
        (date(2026, 3, 20), "day", "March 20, 2026"),
        (date(2025, 1, 1), "year", "2025"),
    ]


def test_a_written_date_wins_over_the_reckoned_weekday():
    published = datetime(2026, 3, 20, tzinfo=UTC)
    assert dates_in("It happened on Friday, March 13.", published) == [(date(2026, 3, 13), "day", 23, 31)]


def test_dates_survive_resolution():
    sentence = "It rained yesterday and the vote (held Monday and Tuesday) passed on March 3."
    text, _ = resolve(sentence, WED)
    assert {(d, p) for d, p, _, _ in dates_in(text, WED)} == {(d, p) for d, p, _, _ in dates_in(sentence, WED)}


def test_referred_date_prefers_the_relative_day_then_the_finest_precision():
    assert referred_date("The alert was lifted on Friday.", FRI) == (date(2026, 3, 13), "day")
    assert referred_date("The model, first released in March 2025, was updated on Monday.", FRI) == \
        (date(2026, 3, 9), "day")
    assert referred_date("The firm, founded in 2019, listed in March 2025.", FRI) == (date(2025, 3, 1), "month")
    assert referred_date("The firm cut prices.", FRI) is None


# --- forward-looking ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("sentence", [
    "The company will release the model.",
    "The company won't release the model.",
    "We'll see what happens.",
    "The launch is expected to slip.",
    "The rules are due to take effect.",
    "The report is due on Friday.",
    "The agency is set to approve it.",
    "The firm plans to expand.",
    "The lab aims to publish the weights.",
    "The board intends to vote.",
    "The hearing is scheduled for April.",
    "The upcoming vote is close.",
    "Results arrive next week.",
    "A decision comes later this year.",
    "More models arrive in the coming weeks.",
    "The company said it would publish the design next month.",
    "The company said it would publish the design.",
    "The merger is likely to close.",
])
def test_forward_looking(sentence):
    assert is_forward_looking(sentence)


@pytest.mark.parametrize("sentence", [
    "Prices could rise.",
    "The rules may change.",
    "The deal might collapse.",
    "That would be a disaster.",
    "The company said revenue would have been higher.",
    "The political will of the people prevailed.",
    "The model launched last week.",
    "Flights were delayed due to the storm.",
    "Sales rose more than expected in March.",
    "The report was due on Friday.",
    "The storm is to blame for the outage.",
])
def test_not_forward_looking(sentence):
    assert not is_forward_looking(sentence)


# --- speed ----------------------------------------------------------------------------------------------------

def test_sentences_without_time_words_are_cheap():
    words = ("the researchers published an analysis of benchmark results showing that a new architecture improves "
             "accuracy across several tasks while using fewer parameters overall than comparable systems").split()
    sentences = [" ".join(words[i:] + words[:i]) for i in range(len(words))] * 10
    start = time.perf_counter()
    for s in sentences:
        resolve(s, FRI)
        dates_in(s, FRI)
        referred_date(s, FRI)
        has_relative_day(s)
        is_forward_looking(s)
    per_sentence = (time.perf_counter() - start) / len(sentences)
    assert per_sentence < 1e-4 * 5  # five calls, each well under 0.1 ms


# --- properties -----------------------------------------------------------------------------------------------

_LABEL = re.compile(r"^ \[[A-Z][a-z]{2} \d{1,2}(?:, \d{4})?(?:; [A-Z][a-z]{2} \d{1,2}(?:, \d{4})?)*\]$")
_FRAGMENTS = [
    "on Friday", "Friday", "last Monday", "next Sunday", "this Wednesday", "Friday night", "on Saturday morning",
    "today", "Today", "tonight", "yesterday", "tomorrow", "this evening", "last night", "the day before yesterday",
    "the day after tomorrow", "earlier today", "this weekend", "last weekend", "by Thursday", "until Tuesday",
    "from Monday", "since Sunday", "Monday's", "FRIDAY", "last week", "next week", "Black Friday", "Sunday Times",
    "Mondays", "Monday-Friday", "March 13", "13 March", "Mar. 13", "2026-03-13", "the 13th", "March 3, 2025",
    "in 2024", "August 2025", "Sept. 9", "[Mar 13]", "The team", "will", "began", "was", "said", "it would", "and",
    "but", "plans to", "work", "closed", "is expected to", "reopen", "Qwen3.5", "60.47%", "GPT-4", "9:00",
]
_PUNCTUATION = [",", ".", "(", ")", "[", "]", ";", "-", "—", "'s", "’", ":", '"', "“", "”", "/", "#"]
_SEPARATORS = [" ", " ", " ", "", ", ", " (", ") ", "-", "\n"]
sentences = st.lists(st.tuples(st.sampled_from(_FRAGMENTS + _PUNCTUATION), st.sampled_from(_SEPARATORS)),
                     max_size=14).map(lambda parts: "".join(a + b for a, b in parts))
published = st.datetimes(min_value=datetime(1995, 1, 1), max_value=datetime(2090, 12, 31),
                         timezones=st.sampled_from([UTC, timezone(timedelta(hours=-5))]))


def _depth(text: str, opener: str, closer: str) -> int:
    depth = 0
    for ch in text:
        if ch == opener:
            depth += 1
        elif ch == closer and depth:
            depth -= 1
    return depth


def _check(sentence: str, when: datetime) -> None:
    text, insertions = resolve(sentence, when)
    assert strip_insertions(text, insertions) == sentence
    assert apply_insertions(sentence, insertions) == text
    for ins in insertions:
        assert _LABEL.match(ins.text)
        assert not (0 < ins.at < len(sentence) and sentence[ins.at - 1].isalnum() and sentence[ins.at].isalnum())
        assert _depth(sentence[:ins.at], "[", "]") == 0
        assert _depth(sentence[:ins.at], "(", ")") == 0
    assert resolve(text, when) == (text, ())
    assert not has_relative_day(text)
    assert has_relative_day(sentence) == bool(insertions)
    for _, precision, start, end in dates_in(sentence, when):
        assert precision in ("day", "month", "year")
        assert 0 <= start < end <= len(sentence)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200), published)
def test_any_text_comes_back_exactly(sentence, when):
    _check(sentence, when)
    referred_date(sentence, when)
    is_forward_looking(sentence)


@settings(max_examples=500, deadline=None)
@given(sentences, published)
def test_sentences_of_date_phrases_come_back_exactly(sentence, when):
    _check(sentence, when)
    text, _ = resolve(sentence, when)
    assert {d for d, *_ in dates_in(text, when)} == {d for d, *_ in dates_in(sentence, when)}
