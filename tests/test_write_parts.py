"""The writer's parts: sentences reduced to facts, sentences that cannot stand alone, and headlines."""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

import pytest

import tidings
from tidings.ingest.feeds import parse_feed
from tidings.text import sentences
from tidings.write import extractive
from tidings.write.facts import conflict, content_overlap, fact_of, figures_in, restates, same_fact
from tidings.write.headline import clean_headline, clickbait
from tidings.write.standalone import points_back, unusable

DAYS = Path(tidings.__file__).parent / "data" / "demo" / "days"
FEEDS = ["2026-03-14/inference-press.rss", "2026-03-14/benchmark-beat.rss", "2026-03-14/open-checkpoint.atom",
         "2026-03-14/carrowvaleradio.rss", "2026-03-14/harlowbaycourier.xml", "2026-03-14/powerlineledger.atom",
         "2026-03-13/gradient-notes.atom", "2026-03-13/wattnotes.xml", "2026-03-16/aibuzzdaily.json",
         "2026-03-16/open-checkpoint.atom"]


@pytest.fixture(scope="module")
def demo() -> list[tuple[str, str, list[str]]]:
    """(publisher, title, sentences) of every entry of a few demo feeds."""
    out = []
    for name in FEEDS:
        entries, _, _ = parse_feed((DAYS / name).read_bytes(), "")
        out += [(e.publisher, e.title, sentences(e.text)) for e in entries]
    return out


@pytest.fixture(scope="module")
def demo_sentences(demo) -> list[str]:
    return list(dict.fromkeys(s for _, _, ss in demo for s in ss))


# --- figures -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("sentence", "expected"), [
    ("On SWE-bench Verified NVIDIA reports 60.47% for Nemotron 3 Super against 41.90% for gpt-oss-120b.",
     [("60.47", "%"), ("41.9", "%")]),
    ("gpt-oss-120b has 116.8 billion parameters, of which 5.1 billion are active per token.",
     [("116.8", "billion"), ("5.1", "billion")]),
    ("The firm raised $2.5bn, after €300m last year.", [("2.5", "billion $"), ("300", "million €")]),
    ("They raised 2.5 billion dollars.", [("2.5", "billion $")]),
    ("Northgale Wind Partners took Caldy Shoal with 1,200 megawatts at 74.90 euros.",
     [("1200", "megawatt"), ("74.9", "€")]),
    ("Turnout was 41.9 per cent, up 3 percentage points.", [("41.9", "%"), ("3", "point")]),
    ("The strongest agent, Claude Opus 4.6, reaches an average of 23.2.", [("23.2", "")]),
    ("Each agent receives a base model and ten hours on a single H100 GPU.", [("10", "hour")]),
    ("The smallest range from 0.8 billion to 9 billion parameters.", [("0.8", "billion"), ("9", "billion")]),
    ("Qwen3.5 spans small models from 0.8B to 9B.", [("0.8", "billion"), ("9", "billion")]),
    ("Temperatures will climb to between 31 and 34 degrees Celsius.", [("31", "degree"), ("34", "degree")]),
    ("Both are mid-size models with between ten and thirteen billion active parameters.",
     [("10", "billion"), ("13", "billion")]),
    ("Dunmore Bank and Eastern Reach will clear between 68 and 74 euros per megawatt-hour.",
     [("68", "€"), ("74", "€")]),
    ("It reached up to 2.2 times the throughput; SparseLoCo cut traffic 146x.", [("2.2", "x"), ("146", "x")]),
    ("Together the peers trained the dense 72-billion-parameter model on about 1.1 trillion tokens.",
     [("72", "billion"), ("1.1", "trillion")]),
    ("It accepts a context window of one million tokens.", [("1", "million")]),
    ("It now covers 5.6 square kilometres, down from 7.9 square kilometres in 2000.",
     [("5.6", "square kilometre"), ("7.9", "square kilometre")]),
    ("The 400kV line, the 45-minute outage and 20-year contracts.",
     [("400", "kilovolt"), ("45", "minute"), ("20", "year")]),
    ("About 18,000 households lost power.", [("18000", "")]),
    ("OpenAI reported 90.0 on MMLU and 80.1 on GPQA Diamond.", [("90", ""), ("80.1", "")]),
])
def test_figures_are_normalised_values_with_units(sentence, expected):
    assert figures_in(sentence) == expected


@pytest.mark.parametrize("sentence", [
    "gpt-oss-120b, Qwen3.5, GPT-4, H100, B200 and Llama 3.1 were compared.",
    "Qwen3.5-397B-A17B and Qwen3-1.7B beat LLaMA-2-70B and Covenant-72B, released under Apache-2.0.",
    "NVIDIA's Nemotron 3 Super came after Claude Opus 4.6 and Gemini 3.1 Pro.",
    "The paper is arXiv 2603.11863 and ran on subnet 3 before Round 4 and a Level 2 alert.",
])
def test_model_names_and_labels_are_not_figures(sentence):
    assert figures_in(sentence) == []


@pytest.mark.parametrize("sentence", [
    "Both gpt-oss models were released on August 5, 2025.",
    "The port authority board will meet on 24 March, and the run began on September 12.",
    "Between 2010 and 2020 the glacier shrank, and most of it could be gone by the mid-2050s or the 2040s.",
    "The operator expects cuts between 18:00 and 20:30.",
])
def test_dates_years_and_times_are_not_figures(sentence):
    assert figures_in(sentence) == []


def test_a_fact_holds_names_words_and_setting():
    fact = fact_of("On SWE-bench Verified, run with the OpenHands agent harness, the company reports 60.47% for "
                   "Nemotron 3 Super against 41.90% for gpt-oss-120b.")
    assert fact.figures == {("60.47", "%"), ("41.9", "%")}
    assert {"swe-bench verified", "nemotron 3 super", "gpt-oss-120b", "openhands"} <= fact.entities
    assert "reports" in fact.words and "60.47" not in fact.words and "41.90" not in fact.words
    assert fact.setting == "openhands"
    assert fact_of("On the AIME 2025 maths problems it scored 92.5 without tools and 97.9 with tools.").setting \
        == "without tools; with tools"
    assert fact_of("Covenant-72B scores 67.1 on MMLU in a zero-shot test.").setting == "zero-shot"
    assert fact_of("The Lenzmatt Glacier feeds the Lenzbach river.").setting == ""
    assert {"university of altberg", "lenzmatt glacier"} <= fact_of(
        "A University of Altberg survey has found that the Lenzmatt Glacier is melting faster.").entities


# --- overlap and restating ------------------------------------------------------------------------------------------

NEAR_DUPLICATES = [
    ("The best agent, Claude Opus 4.6 from Anthropic, averaged 23.2, against 51.1 for the official instruct models.",
     "The top agent, Claude Opus 4.6, averaged 23.2, while the official instruct models averaged 51.1."),
    ("Covenant-72B scores 67.1 on MMLU zero-shot, about where LLaMA-2-70B sits, so it is not a frontier model.",
     "Its zero-shot MMLU score of 67.1 is roughly that of LLaMA-2-70B."),
    ("The run began on September 12, 2025 and processed about 1.1 trillion tokens.",
     "The Covenant-72B run started on September 12, 2025 and processed about 1.1 trillion tokens."),
    ("Each solution receives a creativity score defined as quality multiplied by novelty.",
     "Solutions are scored on creativity, defined as quality multiplied by novelty."),
]
DISTINCT = [
    ("The Lenzmatt Glacier feeds the Lenzbach river and the Varden Hydro reservoir downstream.",
     "Nine sealed bids from six consortia have been lodged in the national offshore wind auction."),
    ("NVIDIA says the model reaches up to 2.2 times the throughput of OpenAI's gpt-oss-120b.",
     "The benchmark splits its tasks into a Combo subset and an Explore subset."),
    ("Demand peaked at 8,760 megawatts, breaking the March record set only a day earlier.",
     "The council will hold an emergency meeting on Wednesday and has invited Coastlink to attend."),
]


@pytest.mark.parametrize(("a", "b"), NEAR_DUPLICATES)
def test_near_duplicates_restate_each_other(a, b):
    fa, fb = fact_of(a), fact_of(b)
    assert content_overlap(fa, fb) >= 0.5
    assert restates(fa, [fb]) and restates(fb, [fa])
    assert same_fact(fa, fb)


@pytest.mark.parametrize(("a", "b"), DISTINCT)
def test_distinct_sentences_do_not(a, b):
    fa, fb = fact_of(a), fact_of(b)
    assert content_overlap(fa, fb) < 0.2
    assert not restates(fa, [fb]) and not same_fact(fa, fb)


def test_restating_by_figures():
    stated = [fact_of("Nemotron 3 Super holds 120.6 billion parameters in total."),
              fact_of("Only 12.7 billion of them are active for each token.")]
    assert restates(fact_of("Under the hood there are 120.6 billion parameters, with 12.7 billion switched on."),
                    stated)
    assert not restates(fact_of("Its context window reaches 1 million tokens, with 120.6 billion parameters."),
                        stated)
    assert not restates(fact_of("Under the hood there are 120.6 billion parameters."), [])
    assert content_overlap(fact_of("It is."), fact_of("The model is large.")) == 0.0


def test_same_fact_needs_a_shared_figure_and_name_or_close_wording():
    card = fact_of("OpenAI's card reported about 62% on SWE-bench Verified for gpt-oss-120b.")
    assert same_fact(card, fact_of("gpt-oss-120b reaches 62% on SWE-bench Verified, according to its model card."))
    # Close wording but a different figure for the same unit: not the same fact.
    assert not same_fact(fact_of("The best agent, Claude Opus 4.6, averaged 23.2 on the benchmark."),
                         fact_of("The best agent, Claude Opus 4.6, averaged 25.8 on the benchmark."))
    # A shared small count is not enough.
    assert not same_fact(fact_of("NVIDIA compared 2 models."), fact_of("NVIDIA won 2 awards."))


# --- conflicts ------------------------------------------------------------------------------------------------------

CARD = "OpenAI's model card puts gpt-oss-120b at 62% on SWE-bench Verified."
RUN = "NVIDIA measured gpt-oss-120b at 41.9% on SWE-bench Verified with the OpenHands harness."


def test_conflict_between_two_sources_on_one_quantity():
    assert conflict(fact_of(CARD), fact_of(RUN)) == (("62", "%"), ("41.9", "%"))
    assert conflict(fact_of(RUN), fact_of(CARD)) == (("41.9", "%"), ("62", "%"))
    # The demo's own dispute: NVIDIA's comparison against the sentence about OpenAI's card.
    nvidia = ("On SWE-bench Verified, run with the OpenHands agent harness, the company reports 60.47% for "
              "Nemotron 3 Super against 41.90% for gpt-oss-120b.")
    card = ("OpenAI's model card for gpt-oss-120b puts its SWE-bench Verified score at about 62%, while NVIDIA, "
            "testing with the OpenHands agent harness for its Nemotron 3 Super launch, measured 41.9%.")
    assert conflict(fact_of(nvidia), fact_of(card)) == (("41.9", "%"), ("62", "%"))


def test_no_conflict_within_one_comparison():
    comparison = fact_of("Coding: 60.47% on SWE-bench Verified using the OpenHands harness, compared with 41.90% "
                         "for gpt-oss-120b under the same setup.")
    assert conflict(comparison, comparison) is None
    both = fact_of("Against gpt-oss-120b it reports 60.47% versus 41.90% on SWE-bench Verified.")
    assert conflict(both, fact_of("gpt-oss-120b scored 62% on SWE-bench Verified.")) is None


@pytest.mark.parametrize(("a", "b"), [
    # A total and an active count of the same model.
    ("gpt-oss-120b has 116.8 billion parameters in total.", "gpt-oss-120b activates 5.1 billion parameters."),
    # Rounded, not disputed.
    ("gpt-oss-120b has 116.8 billion parameters.", "gpt-oss-120b has about 117 billion parameters."),
    # Stated settings that differ are different measurements.
    ("gpt-oss-120b scored 92.5 on AIME 2025 without tools.", "gpt-oss-120b scored 97.9 on AIME 2025 with tools."),
    # Different days: two records, not one disputed.
    ("Demand on the Carrow Vale grid reached 8,420 megawatts on Friday.",
     "Demand on the Carrow Vale grid reached 8,760 megawatts on Saturday."),
    # Different things measured.
    ("Nemotron 3 Super scores 60.47% on SWE-bench Verified.", "gpt-oss-120b scores 41.9% on SWE-bench Verified."),
    ("Covenant-72B scores 67.1 on MMLU.", "Covenant-72B scores 72.3 on GPQA Diamond."),
    # The figure is the rival's, not the named model's.
    ("Nemotron 3 Super reaches up to 2.2 times the throughput of gpt-oss-120b.",
     "gpt-oss-120b reaches 3 times the throughput of older models."),
    # No names: nothing ties the figures to one thing.
    ("Demand peaked at 8,760 megawatts.", "Demand peaked at 8,420 megawatts."),
])
def test_no_conflict_between_different_quantities(a, b):
    assert conflict(fact_of(a), fact_of(b)) is None


def test_the_demo_disagrees_only_about_swe_bench(demo_sentences):
    facts = [fact_of(s) for s in demo_sentences]
    found = {frozenset(c) for a, b in combinations(facts, 2) if (c := conflict(a, b)) is not None}
    assert found == {frozenset({("62", "%"), ("41.9", "%")})}


# --- sentences that cannot stand alone ------------------------------------------------------------------------------

@pytest.mark.parametrize(("sentence", "reason"), [
    ("Here are the figures that matter for the new open model, with the conditions under which NVIDIA measured "
     "them.", "meta"),
    ("Here is something wild: Covenant-72B is a 72-billion-parameter AI model.", "meta"),
    ("We will update this guide as independent benchmarks for the mid-size Qwen3.5 models arrive.", "meta"),
    ("PostTrainBench is the benchmark everyone is sharing, so here is what you need to know.", "meta"),
    ("Subscribe to get the newsletter every week.", "meta"),
    ("Editor's note: this story was corrected on Friday.", "meta"),
    ("Can AI agents train other AI models?", "question"),
    ("Your coding assistant is good at writing code, but can it come up with something new?", "question"),
    ("Is it the model to beat?”", "question"),
    ("What to watch: whether the next decentralised run can grow its peer count.", "label"),
    ("Why this matters: for years the open-weight tier trailed the closed labs.", "label"),
    ("Size: 120.6 billion parameters in total.", "label"),
    ("Long context: 91.75 on RULER at one million tokens.", "label"),
    ("TL;DR: the model is fast.", "label"),
    ("I expect the next few weeks of independent evaluations to tell us how much of the gap is real.",
     "first person"),
    ("Nine bids is a healthier turnout than most of us expected in January.", "first person"),
    ("My rough guess is that the zones will clear between 68 and 74 euros.", "first person"),
    ("This could change how we rank coding models.", "first person"),
    ("Covenant-72B is being called the AI model nobody owns, and it is easy to see why.", "meta"),
    ("It has been out for five days, and everyone wants to know if it is the model to beat.", "meta"),
    ("Make no mistake, the auction was a success.", "meta"),
    ("Researchers from the university built the test to find out…", "teaser"),
    ("[…]", "teaser"),
    ("The agency published its figures. Read more", "teaser"),
    ("What to watch: whether…", "teaser"),
])
def test_unusable_sentences(sentence, reason):
    assert unusable(sentence) == reason


@pytest.mark.parametrize("sentence", [
    "The US energy ministry said the prices show that offshore wind is now among the cheapest sources.",
    "“We expected a bad year, but not a year that looks like our projections for the 2040s,” said Anneke Solberg.",
    "The agency did not disclose prices, but developers bid well below the 88 euro ceiling.",
    "Veterans of World War I gathered in Harlow Bay on Sunday.",
    "It has two subsets: Combo, which targets combinatorial creativity, and Explore.",
    "The setup is simple: a coding agent receives a base model and ten hours on one H100 GPU.",
    "NVIDIA released Nemotron 3 Super on March 11 together with its weights.",
    "The operator says the most likely window for cuts is between 18:00 and 20:30.",
])
def test_ordinary_sentences_are_usable(sentence):
    assert unusable(sentence) is None


def test_few_demo_sentences_are_unusable(demo, demo_sentences):
    rejected = [s for s in demo_sentences if unusable(s)]
    assert len(rejected) <= 0.08 * len(demo_sentences)
    assert "I will be watching the reserve notices from the Carrow Vale System Operator tonight and over the " \
           "weekend." in rejected


@pytest.mark.parametrize("sentence", [
    "It holds 20.9 billion parameters.", "This matters because legal review is slow.",
    "They plan to publish measured throughput next week.", "Its zero-shot MMLU score of 67.1 is modest.",
    "But the survey suggests the glacier may be close to peak water.", "Still, the project matters.",
    "However, the figure is disputed.", "Both models share the Apache-2.0 licence.",
    "Both are published under the Apache-2.0 licence.", "The company plans to update investors in April.",
    "The model went out on March 11.", "The two zones went to rivals.", "The other two zones went to rivals.",
    "The researchers reported that some agents tried to game the evaluation.", "Neither figure is wrong.",
    "Such lakes can burst suddenly.", "“It is a turning point,” she said.", "All of them are released under MIT.",
    "For comparison, OpenAI reports 90.0 on MMLU.", "In turn, the operator raised its alert.",
    "Next up, fans want to see how the model compares.", "The bases were Qwen3-1.7B and Gemma-3-4B.",
    "The caveat is that these are vendor numbers.", "The saving grace is the battery fleet.",
    "The licence question matters because legal review is slow.", "Multiplying the two means a model gains little.",
    "On paper it makes a strong case.", "So far, they have kept the lead.", "The model, however, was late.",
    "The company, Reuters reported, plans to cut 500 jobs.", "The verdict was delivered on Monday in Paris.",
    "OpenAI's gpt-oss models also use Apache-2.0 but come with a usage policy.",
    "NVIDIA also lists Qwen3.5-122B-A10B as a comparison point.",
    "The licence allows commercial use, modification and redistribution.",
    "Officials say the risk is higher than usual because a large share of capacity is shut for maintenance.",
    "Analysts said that the move would raise prices.", "The regional operator warns the plan is too late.",
])
def test_sentences_that_point_back(sentence):
    assert points_back(sentence)


@pytest.mark.parametrize("sentence", [
    "NVIDIA has released Nemotron 3 Super, an open model.", "This week's most interesting release came from NVIDIA.",
    "Both gpt-oss models were released on August 5, 2025.", "Both CreativeBench subsets use the same rule.",
    "The results of the national offshore wind auction are in.", "Itself a benchmark, RULER hides facts.",
    "Theyre Island lies offshore.", "There are 500 validated GitHub issues in SWE-bench Verified.",
    "The idea that AI systems might improve other AI systems has moved into research papers.",
    "Harlow Bay lost its last shipyard in 2011.", "After all votes were counted, the mayor won.",
    "If not treated within hours, the wound festers.", "In comparison with 2024, prices rose.",
    "The licence of gpt-oss is Apache-2.0.", "The base rate of the loan is fixed.",
    "Multiplying cells in a dish takes days.", "On paper, the scheme pays for itself.",
    "Overall, this year's harvest was the largest on record.", "The licence fee will rise to 180 pounds in April.",
    "The stakes are high for Apple.", "The alsomeric compound is stable.",
    "Qwen3.5, also known as Qwen 3.5, spans eight sizes.", "Gemma 3, also released under MIT, is small.",
    "Prices not only fell but also stabilised.", "Llama 4 Scout is also called Scout.",
    "Researchers say the glacier has lost 11 percent of its volume since 2019, and also that melt is speeding up.",
    "Gemma 3 is small and also fast.", "Heavy rain and also strong winds hit the coast on Monday.",
    "Prices both fell and also stabilised.", "Kiev is also spelled Kyiv.", "The drug is also sold as Wegovy.",
    "The license was introduced by the Open Source Initiative in 2004.",
    "Officials say the risk of outages is higher than usual.", "Officials say they expect more outages.",
    "Forecasters say the heatwave will end on Tuesday.", "The risk of a blackout has passed.",
    "Guide Teodor Haslinger said the approach route to the glacier has had to be moved.",
])
def test_sentences_that_stand_alone(sentence):
    assert not points_back(sentence)


# --- headlines ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("title", "publisher", "expected"), [
    ("NVIDIA's Nemotron 3 Super is here and it is a monster", "AI Buzz Daily", "NVIDIA's Nemotron 3 Super is here"),
    ("PostTrainBench: what you need to know", "AI Buzz Daily", "PostTrainBench"),
    ("OpenAI's gpt-oss-20b: the small model that keeps on giving", "AI Buzz Daily", "OpenAI's gpt-oss-20b"),
    ("Nemotron 3 Super by the numbers - Inference Press", "Inference Press", "Nemotron 3 Super by the numbers"),
    ("Nemotron 3 Super by the numbers | The Open Checkpoint", "The Open Checkpoint",
     "Nemotron 3 Super by the numbers"),
    ("Inference Press: NVIDIA releases Nemotron 3 Super", "Inference Press", "NVIDIA releases Nemotron 3 Super"),
    ("Gradient Notes 131: Covenant-72B, a 72B training run by strangers", "Gradient Notes",
     "Covenant-72B, a 72B training run by strangers"),
    ("Grid delay slips to 2032 | Reuters", "", "Grid delay slips to 2032"),
    ("Offshore wind prices fall again — here's why", "", "Offshore wind prices fall again"),
    ("Qwen3.5 explained (and why it matters)", "", "Qwen3.5 explained"),
    ("Everything you need to know about Qwen3.5", "", "Qwen3.5"),
    ("Breaking: Carrow Vale grid fails!!!", "", "Carrow Vale grid fails"),
    ("Carrow Vale grid heads into the heat with a thin margin…", "Watt Notes",
     "Carrow Vale grid heads into the heat with a thin margin"),
    ("Rolling outage warning: what Harlow Bay households need to know", "Harlow Bay Courier",
     "Rolling outage warning: what Harlow Bay households need to know"),
    ("Qwen3.5 developer guide: picking the right size", "Benchmark Beat",
     "Qwen3.5 developer guide: picking the right size"),
    ("Is Nemotron 3 Super the open model to beat right now?", "AI Buzz Daily",
     "Is Nemotron 3 Super the open model to beat right now?"),
])
def test_clean_headline(title, publisher, expected):
    assert clean_headline(title, publisher) == expected


def test_clean_headline_is_never_empty():
    assert clean_headline("!!!") == "!!!"
    assert clean_headline("  Inference   Press  ", "Inference Press") == "Inference Press"
    assert clean_headline("") == ""


@pytest.mark.parametrize("title", [
    "NVIDIA's Nemotron 3 Super is here and it is a monster",
    "OpenAI's gpt-oss-20b: the small model that keeps on giving", "PostTrainBench: what you need to know",
    "Qwen3.5-35B-A3B: the sweet spot nobody is talking about",
    "gpt-oss-120b is still a maths monster", "You won't believe what this model can do",
    "THIS MODEL IS INSANE", "Mind-blowing results!!", "Here's why everyone is switching to Qwen3.5",
])
def test_clickbait_titles_score_high(title):
    assert clickbait(title) >= 0.5


def test_sober_demo_titles_score_near_zero(demo):
    bait = {"NVIDIA's Nemotron 3 Super is here and it is a monster", "PostTrainBench: what you need to know",
            "OpenAI's gpt-oss-20b: the small model that keeps on giving",
            "Qwen3.5-35B-A3B: the sweet spot nobody is talking about", "gpt-oss-120b is still a maths monster",
            "Is Nemotron 3 Super the open model to beat right now?"}
    sober = [title for publisher, title, _ in demo if publisher != "AI Buzz Daily" and "?" not in title]
    assert len(sober) > 20
    assert all(clickbait(t) <= 0.2 for t in sober), [t for t in sober if clickbait(t) > 0.2]
    assert all(0.0 <= clickbait(t) <= 1.0 for t in bait)
    assert clickbait("Nemotron 3 Super by the numbers") == 0.0


@pytest.mark.parametrize(("sentence", "leans"), [
    ("The agent's score is how well its post-trained model does on that target, averaged across the tasks.", True),
    ("Keep the scale in perspective, though.", True),
    ("Alibaba's Qwen3.5, by contrast, uses plain Apache-2.0.", True),
    ("Several months later, gpt-oss has settled into production use.", True),
    ("The plant will close, though officials deny it.", False),
    ("The vote comes four days later than expected.", False),
    ("Officials said in a statement that the plan works.", False),
    ("Revenue rose 12% from a year earlier, the company said.", False),
    ("The plant opened in 2019 and was shut down two years later.", False),
    ("The auction differs from earlier rounds in that bidders must post a bond.", False),
    ("The ministry will rule on that issue next week.", True),
    ("Caldy Shoal is the harder call, since its deeper water needs heavier foundations.", True),
    ("Reviving the reef was the easier one, officials said.", True),
    ("Engineers say harder rock slowed the drilling.", False),
    ("Voters see Labour as the safer choice in the election.", False),
    ("Future rounds will track how quickly the gap between 23.2 and 51.1 narrows.", True),
    ("The gap between 23.2 and 51.1 points is wide.", False),
    ("The difference between 2019 and 2025 prices is stark.", False),
    ("The gap between 2019 and 2023 was stark.", False),
    ("The gap between 2 and 3 seconds is small.", False),
    ("CreativeBench, posted on arXiv on March 12, is built to measure exactly that.", True),
    ("Surveyors measured exactly thirty glaciers.", False),
    ("The gap between 41.9% and 62% shows how much a harness matters.", False),
])
def test_sentences_that_lean_on_the_one_before(sentence, leans):
    assert extractive._dangles(sentence) is leans


@pytest.mark.parametrize(("sentence", "after"), [
    ("Nearly a month after Alibaba released Qwen3.5 on February 16, developers are spreading their bets.", True),
    ("Since its launch on March 11, the model has been downloaded widely.", True),
    ("The storm hit after midnight on March 3, killing four.", False),
    ("Police arrested two men after a raid on March 3, officials said.", False),
])
def test_a_date_in_an_opening_after_clause_is_not_the_sentences_own(sentence, after):
    assert bool(extractive._AFTER_THE_DATE.match(sentence)) is after


@pytest.mark.parametrize(("sentence", "in_passing"), [
    ("OpenAI's gpt-oss models, released on August 5, 2025, have become the yardstick for open-weight releases.",
     True),
    ("The glacier survey, first published in October 2025, is cited in every report since.", True),
    ("The model, which people still use, was released on August 5, 2025.", False),
    ("OpenAI released gpt-oss on August 5, 2025, under the Apache-2.0 licence.", False),
    ("The council, meeting on March 3, 2026, approved the barrier.", False),
    ("The models, built in the US, released on August 5, 2025, have become the yardstick.", True),
    ("The council debated the plan for weeks, voted on March 3, 2026, and approved it.", False),
    ("In a surprise move, announced on March 3, 2026, the company cut 500 jobs.", False),
    ("The report, published in full on March 3, 2026, found widespread fraud.", False),
    ("The vote, held on March 3, 2026, was the first in a decade.", False),
    ("Released on August 5, 2025, the gpt-oss models have become the yardstick.", True),
    ("Released on March 3, 2026, the report found widespread fraud.", False),
    ("Launched in October 2025, the service now has 2 million users.", True),
])
def test_a_date_given_in_passing_does_not_date_the_sentence(sentence, in_passing):
    from datetime import UTC, datetime

    from tidings.dates import written_date

    published = datetime(2026, 3, 14, tzinfo=UTC)
    when = written_date(sentence, published)
    assert when is not None
    assert extractive._event_date(sentence, published) == (None if in_passing else when)


@pytest.mark.parametrize(("sentence", "day"), [
    ("The models, released on August 5, 2025, were updated on March 10, 2026.", "2026-03-10"),
    ("Released in October 2025, the law took effect on January 1, 2026.", "2026-01-01"),
    ("The models, released on August 5, 2025, have since been updated on March 10, 2026.", "2026-03-10"),
])
def test_a_sentence_with_a_date_in_passing_is_placed_on_its_own_date(sentence, day):
    from datetime import UTC, date, datetime

    when = extractive._event_date(sentence, datetime(2026, 3, 14, tzinfo=UTC))
    assert when is not None and when[0] == date.fromisoformat(day)
