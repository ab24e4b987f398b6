"""The support check for a language model's sentences (tidings/write/support.py).

The cases are the calibration material of the thresholds in support.py: passages of the demo corpus (as the caller
writes them, "Publisher, date: Title. text"), faithful paraphrases of them as a summarising model writes them
(reworded, figures in other forms), sentences that cite a passage about something else, and faulty sentences (a
changed figure, an invented organisation, a changed date, a claim the fact check contradicts)."""

from __future__ import annotations

import numpy as np
import pytest

from tidings import semantic
from tidings.check.kb import load_kb
from tidings.model import CheckedClaim, Claim
from tidings.write.support import LEXICAL_THRESHOLD, SEMANTIC_THRESHOLD, SupportChecker, figure_value, stem

# Items of the demo corpus (`tidings demo`), by their id in the demo's database.
PASSAGES = {
    2: (
        "Inference Press, 2026-03-13: Covenant-72B shows a 72-billion-parameter model can be trained by strangers "
        "over the internet. A group led by Covenant AI, working with the Mila research institute, has released "
        "Covenant-72B, a language model pre-trained by computers that joined the effort over the open internet "
        "without needing permission. The model has 72 billion parameters in a dense design and is published under "
        "the Apache-2.0 licence.\n\n"
        "The training was coordinated on the Bittensor network through its Templar subnet, known as subnet 3. "
        "More than 70 peers contributed over the course of the run, with about 20 taking part at any one time, "
        "and each brought at least eight NVIDIA B200 GPUs.\n\n"
        "Moving model updates between distant machines is usually the bottleneck for this kind of training. The "
        "team's SparseLoCo optimiser compressed that traffic by more than 146 times, according to the paper.\n\n"
        "The result is modest by frontier standards, since Covenant-72B scores 67.1 on MMLU in a zero-shot test, "
        "close to the older LLaMA-2-70B. The run matters because it shows that a model of this size can be built "
        "without a single owner of the hardware, which could widen who gets to train large models."
    ),
    4: (
        "Inference Press, 2026-03-13: NVIDIA releases Nemotron 3 Super, an open hybrid model pitched at agent "
        "workloads. NVIDIA has released Nemotron 3 Super, an open model that the company says can compete with "
        "much larger systems on coding and long-document work. The model went out on March 11 together with its "
        "weights, its training data and its recipes, under the NVIDIA Nemotron Open Model Licence.\n\n"
        "Nemotron 3 Super holds 120.6 billion parameters in total but activates only 12.7 billion of them for "
        "each token. It combines Mamba layers with Transformer layers inside a mixture-of-experts design, and it "
        "accepts a context window of one million tokens.\n\n"
        "NVIDIA measured the model against two open-weight rivals, OpenAI's gpt-oss-120b and Alibaba's "
        "Qwen3.5-122B-A10B. On SWE-bench Verified, run with the OpenHands agent harness, the company reports "
        "60.47% for Nemotron 3 Super against 41.90% for gpt-oss-120b.\n\n"
        "The release matters because it gives developers a model with published data and recipes that they can "
        "inspect, retrain and run on their own hardware. Independent groups are expected to publish their own "
        "measurements in the coming weeks, since the vendor figures have not yet been reproduced."
    ),
    7: (
        "The Open Checkpoint, 2026-03-13: Why gpt-oss-120b's SWE-bench score depends on who runs the test. Two "
        "numbers are now circulating for the same model on the same benchmark. OpenAI's model card for "
        "gpt-oss-120b puts its SWE-bench Verified score at about 62%, while NVIDIA, testing with the OpenHands "
        "agent harness for its Nemotron 3 Super launch, measured 41.9%.\n\n"
        "Neither figure is necessarily wrong. SWE-bench Verified consists of 500 validated GitHub issues, and a "
        "patch counts only if the repository's tests pass, so the scaffolding around the model decides how it "
        "explores files, runs tests and retries.\n\n"
        "A harness built by a model's developer is usually tuned to that model, while a generic harness like "
        "OpenHands treats every model the same way. The gap of about 20 points in the gpt-oss-120b results is a "
        "reminder that agentic scores describe a model plus its tools, not the model alone.\n\n"
        "This matters because buyers compare leaderboard numbers from different sources as if they were "
        "interchangeable. Evaluators are expected to push for the harness to be named next to every SWE-bench "
        "Verified score."
    ),
    9: (
        "AI Buzz Daily, 2026-03-13: NVIDIA's Nemotron 3 Super is here and it is a monster. NVIDIA just dropped "
        "Nemotron 3 Super and the AI world is buzzing. NVIDIA's Nemotron 3 Super shatters every record an open "
        "model has ever set.\n\n"
        "Nemotron 3 Super puts up numbers that rival closed models like gpt-oss-120b and Qwen3.5, according to "
        "NVIDIA's own charts.\n\n"
        "Under the hood there are 120.6 billion parameters, with 12.7 billion switched on for each token, and a "
        "huge context window of one million tokens.\n\n"
        "On the SWE-bench Verified coding test with the OpenHands harness, NVIDIA reports 60.47% for its new "
        "model. This could change which model developers reach for when they build coding agents.\n\n"
        "Expect a flood of community benchmarks over the next few days."
    ),
    10: (
        "PaperStream, 2026-03-13: Covenant-72B: pre-training a 72B language model with permissionless peers over "
        "the internet. The paper describes Covenant-72B, a dense language model with 72 billion parameters "
        "pre-trained over the public internet by peers that joined without permission (arXiv 2603.08163). "
        "Coordination ran on the Bittensor network through the Templar subnet, subnet 3, where more than 70 peers "
        "took part over the run and about 20 were active at any time, each with at least eight B200 GPUs. The "
        "SparseLoCo optimiser cut communication by more than 146 times, which made training over ordinary "
        "internet links practical. The run began on September 12, 2025 and processed about 1.1 trillion tokens. "
        "The resulting model scores 67.1 on MMLU in the zero-shot setting, roughly the level of LLaMA-2-70B, and "
        "its weights are released under Apache-2.0. Authors are from Covenant AI and Mila."
    ),
    12: (
        "Gradient Notes, 2026-03-13: Gradient Notes Midweek: Nemotron 3 Super and the shrinking gap between open "
        "and closed models. This week's most interesting release came from NVIDIA, which published Nemotron 3 "
        "Super on March 11 along with its weights, its training data and its recipes. It is a mixture-of-experts "
        "model with 120.6 billion parameters, 12.7 billion of them active per token, built from a hybrid of Mamba "
        "and Transformer layers.\n\n"
        "NVIDIA chose open-weight rivals for its comparisons, namely gpt-oss-120b and Qwen3.5-122B-A10B, rather "
        "than the closed frontier systems. Against gpt-oss-120b it reports 60.47% versus 41.90% on SWE-bench "
        "Verified with the OpenHands harness, and 91.75 versus 22.30 on RULER at one million tokens.\n\n"
        "Why this matters: for years the open-weight tier trailed the closed labs by a wide margin, and releases "
        "like this one suggest that the distance is narrowing. Open models that ship with data and recipes also "
        "let outsiders study how the gains were made, which closed systems do not allow.\n\n"
        "The caveat is that these are vendor numbers on agentic tests, where the harness can move results by many "
        "points. I expect the next few weeks of independent evaluations to tell us how much of the gap is real."
    ),
    13: (
        "Benchmark Beat, 2026-03-13: Nemotron 3 Super by the numbers. NVIDIA's Nemotron 3 Super arrived on March "
        "11, and its spec sheet rewards a careful read. Here are the figures that matter for the new open model, "
        "with the conditions under which NVIDIA measured them.\n\n"
        "Size: 120.6 billion parameters in total, of which 12.7 billion are active for each token. Architecture: "
        "a hybrid mixture-of-experts model that mixes Mamba and Transformer layers, with a context window of up "
        "to one million tokens.\n\n"
        "Coding: 60.47% on SWE-bench Verified using the OpenHands harness, compared with 41.90% for gpt-oss-120b "
        "under the same setup. Long context: 91.75 on RULER at one million tokens, against 22.30 for "
        "gpt-oss-120b. Speed: up to 2.2 times the throughput of gpt-oss-120b.\n\n"
        "NVIDIA also lists Qwen3.5-122B-A10B as a comparison point, which makes sense because both are mid-size "
        "open models with between ten and thirteen billion active parameters. All of these are vendor-reported "
        "results, so treat them as a starting point until third parties rerun them."
    ),
    15: (
        "Benchmark Beat, 2026-03-13: gpt-oss-20b on a laptop: what 3.6 billion active parameters buy you. Seven "
        "months after OpenAI published its open-weight gpt-oss models, the smaller gpt-oss-20b has become a "
        "common choice for developers who want a capable model on their own machine. It holds 20.9 billion "
        "parameters, but its mixture-of-experts design with 32 experts activates only 3.6 billion of them for "
        "each token.\n\n"
        "That sparse activation keeps generation fast on modest hardware, although the full set of weights still "
        "has to fit in memory.\n\n"
        "The model shares its Apache-2.0 licence with its larger sibling, gpt-oss-120b, which has 116.8 billion "
        "parameters in total and 5.1 billion active. Both gpt-oss models were released on August 5, 2025.\n\n"
        "For small teams, the appeal is that they can fine-tune and ship the model without negotiating terms with "
        "a vendor. Expect more comparisons between gpt-oss-20b and newer small open models, such as the Qwen3.5 "
        "sizes from 0.8B to 9B."
    ),
    17: (
        "Powerline Ledger, 2026-03-13: Seaboard Round 4 offshore wind auction draws 1.7 times the capacity on "
        "offer. The Seaboard Round 4 offshore wind auction has attracted bids for 6,800 megawatts against a "
        "target of 4,000 megawatts, according to figures released by the National Offshore Energy Agency. The "
        "oversubscription ratio of 1.7 compares with 1.2 in Round 3 two years ago, when two zones drew only a "
        "single bidder.\n\n"
        "Six consortia entered, among them Tidewater Renewables in partnership with Kestrel Power, Northgale Wind "
        "Partners and a newcomer group led by Brightwater Marine Energy. The agency did not disclose prices, but "
        "developers told Powerline Ledger that falling turbine and cable costs since 2024 have left room to bid "
        "well below the 88 euro ceiling.\n\n"
        "The result could reset expectations for the next two rounds, which are meant to add a further 7,000 "
        "megawatts by 2035. Analysts will watch whether the winning strike prices land closer to 70 euros per "
        "megawatt-hour or stay near the Round 3 average of 79.50 euros.\n\n"
        "Winners are due to be named on Saturday, with contracts to be signed within 60 days."
    ),
    18: (
        "Meridian Science Magazine, 2026-03-13: Lenzmatt Glacier retreating more than twice as fast as expected, "
        "survey finds. The Lenzmatt Glacier in the Varden Range lost 74 metres of length in a single year, more "
        "than double its average retreat over the previous decade, according to a survey by the University of "
        "Altberg. Researchers from the Institute of Mountain Research at the university measured the glacier's "
        "snout in October 2025 and compared it with a survey from September 2024.\n\n"
        "Between 2010 and 2020 the glacier retreated by an average of 31 metres a year. The new survey also found "
        "the lower tongue thinned by an average of 3.8 metres in twelve months, nearly twice the 2.1 metres "
        "predicted by the team's own model.\n\n"
        "Glaciologist Anneke Solberg, who led the work, said a thin winter snowpack and a dark, debris-covered "
        "surface left the ice exposed for most of the summer. This matters because Lenzmatt has long been treated "
        "as a reference glacier for the range, so models calibrated on it may be underestimating losses "
        "elsewhere.\n\n"
        "The team has submitted its findings for peer review and plans to return to the ice later this month."
    ),
    24: (
        "Inference Press, 2026-03-14: Seven months on, gpt-oss remains a reference point for open-weight models. "
        "OpenAI's gpt-oss models, released on August 5, 2025, have become the yardstick that newer open-weight "
        "releases measure themselves against. NVIDIA chose gpt-oss-120b as a main comparison for its Nemotron 3 "
        "Super model this week, and other developers have done the same.\n\n"
        "gpt-oss-120b has 116.8 billion parameters, of which 5.1 billion are active per token, while gpt-oss-20b "
        "has 20.9 billion in total and 3.6 billion active. Both are published under the Apache-2.0 licence, with "
        "a usage policy attached.\n\n"
        "At its high reasoning setting, OpenAI reported 90.0 on MMLU and 80.1 on GPQA Diamond for the larger "
        "model. On the AIME 2025 maths problems it scored 92.5 without tools and 97.9 with tools, according to "
        "the company.\n\n"
        "The models matter because a major closed-model lab published weights that anyone can download, modify "
        "and redistribute under a permissive licence. Analysts expect more vendors to benchmark against gpt-oss "
        "until a newer open release from OpenAI replaces it."
    ),
    30: (
        "AI Buzz Daily, 2026-03-14: OpenAI's gpt-oss keeps winning fans among developers. OpenAI's gpt-oss models "
        "are still everywhere in developer chats this month. The big one, gpt-oss-120b, packs 116.8 billion "
        "parameters but uses only 5.1 billion at a time, so it runs faster than its size suggests.\n\n"
        "The smaller gpt-oss-20b is the favourite for people running models at home, with 3.6 billion active "
        "parameters out of 20.9 billion.\n\n"
        "Both gpt-oss models are released under Apache-2.0, which means companies can use them commercially. This "
        "matters because it lets startups build products without paying per-token fees to an API provider.\n\n"
        "With NVIDIA now comparing its new Nemotron 3 Super against gpt-oss-120b, expect gpt-oss to stay in the "
        "headlines next week."
    ),
    35: (
        "Benchmark Beat, 2026-03-14: What Nemotron 3 Super's RULER score at one million tokens does and does not "
        "show. NVIDIA's headline long-context number for Nemotron 3 Super is a RULER score of 91.75 at a length "
        "of one million tokens. The same test gave gpt-oss-120b a score of 22.30, according to NVIDIA.\n\n"
        "RULER is a synthetic benchmark that hides pieces of information in long inputs and asks the model to "
        "retrieve or combine them. A high score at one million tokens suggests that the model can still find "
        "details buried deep inside a very long prompt.\n\n"
        "It does not show that the model reasons well over a long legal file or a large codebase, which are "
        "messier tasks than RULER's probes. The gap with gpt-oss-120b is also partly a matter of design, because "
        "Nemotron 3 Super was built for a one-million-token window with its hybrid Mamba-Transformer layers.\n\n"
        "The result matters for teams building agents that must keep long histories in context. Watch for "
        "independent long-context evaluations, which are expected to test Nemotron 3 Super on real documents "
        "rather than synthetic probes."
    ),
    38: (
        "Harlow Bay Courier, 2026-03-14: Rolling outage warning: what Harlow Bay households need to know. The "
        "Carrow Vale System Operator has raised a Level 2 supply alert for Saturday evening, meaning rolling "
        "outages are possible if the heatwave pushes demand beyond what the grid can supply. Under the regional "
        "plan, any outage would last up to an hour per block and rotate between neighbourhoods, with hospitals, "
        "water pumping stations and care homes exempt.\n\n"
        "Households can find their outage block number on their electricity bill and on the website of the "
        "operator. The operator says the most likely window for cuts is between 18:00 and 20:30, when solar "
        "output fades but temperatures stay above 28 degrees.\n\n"
        "This matters because around 9,000 people in Harlow Bay rely on powered medical equipment at home, "
        "according to the regional health board. The health board has asked anyone in that group to register with "
        "their supplier for priority warnings.\n\n"
        "The operator will confirm by 15:00 whether the alert stays in place for the evening."
    ),
    40: (
        "Powerline Ledger, 2026-03-14: Batteries cover 13 percent of Carrow Vale peak as heatwave tests the grid. "
        "Grid-scale batteries supplied 1,080 megawatts at the height of Friday evening's record demand on the "
        "Carrow Vale grid, about 13 percent of the 8,420 megawatt peak. Data from the Carrow Vale System Operator "
        "show the fleet discharged for almost three hours, with the 400 megawatt Redfern Flats battery running at "
        "full output from 18:05.\n\n"
        "Wholesale prices hit the regional cap of 3,000 euros per megawatt-hour for 25 minutes as the evening "
        "ramp began, then fell back as stored solar power reached the market. Traders said prices would have "
        "stayed at the cap far longer without the storage fleet, which was less than a third of its current size "
        "two years ago.\n\n"
        "The outcome could strengthen the case for a second storage tender that the regional government has been "
        "weighing since last autumn. The bigger test comes on Saturday evening, when the operator expects demand "
        "of about 8,500 megawatts while hot, hazy conditions trim the solar output the batteries rely on to "
        "recharge."
    ),
    41: (
        "Powerline Ledger, 2026-03-14: Offshore wind auction winners set record-low strike prices. Three "
        "consortia have won contracts in the Seaboard Round 4 offshore wind auction at an average strike price of "
        "71.93 euros per megawatt-hour, about 9.5 percent below the previous round. The National Offshore Energy "
        "Agency awarded the Dunmore Bank zone to Tidewater Offshore, a joint venture of Tidewater Renewables and "
        "Kestrel Power, at 71.40 euros for 1,500 megawatts.\n\n"
        "Northgale Wind Partners took Caldy Shoal with 1,200 megawatts at 74.90 euros, while the Brightwater "
        "Marine Energy consortium secured Eastern Reach with 1,300 megawatts at 69.80 euros. The Eastern Reach "
        "price is the lowest ever paid under the national contract-for-difference scheme.\n\n"
        "Each contract runs for 20 years and is indexed to inflation, so the headline figures will rise over "
        "time. The outcome could shape turbine supply deals, because all three winners have said they plan to use "
        "machines of 15 megawatts or more.\n\n"
        "The agency expects contracts to be signed by mid-May, after which the winners have 18 months to reach a "
        "final investment decision."
    ),
    44: (
        "Carrow Vale Public Radio, 2026-03-14: Carrow Vale power demand breaks March record in heatwave. "
        "Electricity demand on the Carrow Vale grid reached 8,420 megawatts on Friday evening, the highest ever "
        "recorded in March. The previous March record of 7,350 megawatts was set in 2022. Temperatures peaked at "
        "33.6 degrees in Harlow Bay, the hottest March day since local records began in 1911.\n\n"
        "The Carrow Vale System Operator has now warned that rolling outages are possible this evening if demand "
        "climbs above 8,900 megawatts or a large power station fails. Officials say the risk is higher than usual "
        "because a large share of gas and coal capacity is shut for maintenance. A further update is expected at "
        "midday."
    ),
    45: (
        "University of Altberg News, 2026-03-14: Drone survey shows Lenzmatt Glacier losing ice at twice the "
        "expected rate. Researchers at the Institute of Mountain Research of the University of Altberg have found "
        "that the Lenzmatt Glacier is retreating and thinning far faster than their models predicted. The snout "
        "of the glacier moved back 74 metres between September 2024 and October 2025, and its lower tongue lost "
        "an average of 3.8 metres of thickness.\n\n"
        "The team mapped the glacier using drone photogrammetry, flying repeated grids over the ice to build an "
        "elevation model accurate to about 12 centimetres. Since 2019 the glacier has lost about 11 percent of "
        "its volume, and its area has shrunk to 5.6 square kilometres.\n\n"
        "“We expected a bad year, but not a year that looks like our projections for the 2040s,” said Anneke "
        "Solberg, who led the survey.\n\n"
        "This matters because meltwater from the Lenzmatt Glacier supplies the Lenzbach river, the Varden Hydro "
        "reservoir and several village water systems during late summer. The institute will send a follow-up "
        "expedition onto the glacier later this month with ground-penetrating radar to measure how much ice "
        "remains."
    ),
    47: (
        "Inference Press, 2026-03-15: Qwen3.5's Apache-2.0 licence draws companies wary of restrictive terms. "
        "Companies evaluating open-weight models are giving extra weight to licences, and Alibaba's Qwen3.5 "
        "family benefits from using plain Apache-2.0. The licence allows commercial use, modification and "
        "redistribution without the custom conditions found in some rival releases.\n\n"
        "Meta's Llama 4 models use a community licence, and NVIDIA's Nemotron 3 Super uses the NVIDIA Nemotron "
        "Open Model Licence, both of which add terms of their own. OpenAI's gpt-oss models also use Apache-2.0 "
        "but come with a usage policy.\n\n"
        "Qwen3.5, released on February 16, spans small models from 0.8B to 9B and larger mixture-of-experts "
        "models up to the 397B-A17B flagship. Alibaba reports 87.8 on MMLU-Pro and 88.4 on GPQA Diamond for that "
        "flagship.\n\n"
        "The licence question matters because legal review can delay a deployment by months. More companies are "
        "expected to publish internal guidance on which open licences they accept, and Qwen3.5 is likely to "
        "feature on many of those lists."
    ),
    51: (
        "The Open Checkpoint, 2026-03-15: gpt-oss in production: what teams learned from OpenAI's open weights. "
        "When OpenAI released gpt-oss-120b and gpt-oss-20b in August 2024, many engineers treated them as a "
        "curiosity from a lab better known for its API products. Several months later, the pair has settled into "
        "production use at companies that want open weights they can run on their own servers.\n\n"
        "The larger model, with 116.8 billion parameters and 5.1 billion active, serves as a general assistant "
        "and coding model, while gpt-oss-20b, with 3.6 billion active, handles lighter tasks on workstations.\n\n"
        "Teams say the Apache-2.0 licence was decisive, since it allowed them to fine-tune the models on internal "
        "data without extra agreements, subject to OpenAI's usage policy.\n\n"
        "The main complaint concerns coding agents, where independent runs such as NVIDIA's OpenHands measurement "
        "of 41.9% on SWE-bench Verified fall well short of the roughly 62% in OpenAI's card. That gap matters "
        "because it changes whether gpt-oss-120b can be trusted to fix real issues without close review.\n\n"
        "Many of the teams plan to test newer open models, including Qwen3.5 and Nemotron 3 Super, over the "
        "coming months."
    ),
    54: (
        "AI Buzz Daily, 2026-03-15: Qwen3.5-35B-A3B: the sweet spot nobody is talking about. Everyone talks about "
        "the giant Qwen3.5 flagship, but the Qwen3.5-35B-A3B model may be the real star for builders. It has 35 "
        "billion parameters with about 3 billion active for each token, so it runs quickly on a single good GPU.\n\n"
        "Like the rest of Alibaba's Qwen3.5 family, it is released under Apache-2.0.\n\n"
        "This matters because fast, cheap models are what most apps actually need. Look out for more guides and "
        "fine-tunes for Qwen3.5-35B-A3B in the coming weeks."
    ),
    57: (
        "Benchmark Beat, 2026-03-15: Qwen3.5's flagship: big on paper, light at run time. Alibaba's largest "
        "Qwen3.5 model carries 397 billion parameters, but it does far less work per token than that number "
        "suggests. Qwen3.5-397B-A17B activates just 1.7 billion parameters for each token, routing every input "
        "through a small subset of its experts.\n\n"
        "That design lets the flagship post strong knowledge scores, with Alibaba reporting 87.8 on MMLU-Pro and "
        "88.4 on GPQA Diamond, while keeping generation costs in check.\n\n"
        "The model still needs enough memory to hold all 397 billion parameters, so it remains a multi-GPU "
        "deployment.\n\n"
        "The trade-off matters because inference cost, more than training cost, decides how widely a model gets "
        "used. Watch for independent evaluations that pit the Qwen3.5 flagship against Nemotron 3 Super and "
        "gpt-oss-120b."
    ),
    59: (
        "Harlow Bay Courier, 2026-03-15: Altberg scientists to return to Lenzmatt Glacier with radar this week. A "
        "team of eight researchers from the University of Altberg will set out on Monday to measure how much ice "
        "is left in the Lenzmatt Glacier, after their survey showed it shrinking faster than forecast. The "
        "five-day expedition will tow ground-penetrating radar across the glacier on sledges behind snowmobiles "
        "while the surface is still covered by firm winter snow.\n\n"
        "The radar sends pulses of radio waves through the ice and records the echo from the bedrock, giving a "
        "thickness reading every few metres. The regional government has provided a grant of 180,000 euros, and "
        "Varden Hydro is contributing equipment and helicopter time.\n\n"
        "This matters because nobody has measured the thickness of the glacier since 2008, so current estimates "
        "of its remaining volume rest on models. The team expects to publish a first ice-thickness map in June."
    ),
    62: (
        "Powerline Ledger, 2026-03-15: Grid connection for two offshore wind zones slips to 2032. Two of the "
        "three zones awarded in the Seaboard Round 4 offshore wind auction face a grid connection delay of up to "
        "three years, transmission operator Coastlink Transmission has told developers. In a letter seen by "
        "Powerline Ledger, Coastlink said the 400 kilovolt reinforcement between Harlow Bay and Carrow will not "
        "be ready before 2032, against the 2029 date assumed in the auction documents.\n\n"
        "The delay affects Dunmore Bank and Eastern Reach, which together account for 2,800 megawatts of the "
        "4,000 megawatts awarded on Saturday. Coastlink blamed a stalled planning inquiry into 38 kilometres of "
        "new overhead line and lead times of about four years for large transformers.\n\n"
        "This matters because wind farms that are built but cannot export power earn nothing under the "
        "contract-for-difference scheme. Caldy Shoal connects to an existing substation further north and is "
        "still expected online in 2030.\n\n"
        "Tidewater Offshore and Brightwater Marine Energy said they were seeking urgent talks with the agency and "
        "Coastlink, and the energy ministry is expected to respond early next week."
    ),
    65: (
        "Carrow Vale Public Radio, 2026-03-15: Heatwave brings brief rolling outages to two Harlow Bay suburbs. "
        "About 18,000 households in the Eastmoor and Quarry Hill suburbs of Harlow Bay lost power for 45 minutes "
        "on Saturday evening as the Carrow Vale grid struggled with the heatwave. The Carrow Vale System Operator "
        "ordered the controlled cuts at 19:10 after a 420 megawatt gas unit at Fenwick Point tripped offline. "
        "Demand peaked at 8,760 megawatts, breaking the March record set only a day earlier.\n\n"
        "Power was restored to all homes by 20:00 once battery storage and imports from neighbouring regions "
        "filled the gap. The Level 2 supply alert remains in place for this evening, with temperatures forecast "
        "to reach 32 degrees. The operator says Fenwick Point should be back in service by Monday."
    ),
    74: (
        "AI Buzz Daily, 2026-03-16: OpenAI's gpt-oss-20b: the small model that keeps on giving. OpenAI's "
        "gpt-oss-20b keeps showing up in hobby projects and startup demos. The model has 20.9 billion parameters, "
        "but only 3.6 billion are active for each token, which makes it light enough for a strong desktop.\n\n"
        "It uses a mixture-of-experts layout with 32 experts and ships under Apache-2.0, the same licence as "
        "gpt-oss-120b.\n\n"
        "This matters because it gives small teams a free model they can adapt to their own data. The next thing "
        "to watch is whether OpenAI refreshes the gpt-oss family, since both models date from August 2025."
    ),
    80: (
        "Benchmark Beat, 2026-03-16: What the gpt-oss licence lets you do, and what it does not. Much of the "
        "adoption of OpenAI's gpt-oss-120b and gpt-oss-20b comes down to their licence. Both models are released "
        "under Apache-2.0, one of the most permissive open-source licences, with a usage policy from OpenAI "
        "attached.\n\n"
        "Apache-2.0 allows commercial use, modification and redistribution, and it includes an explicit patent "
        "grant. The usage policy adds rules about harmful uses, which is common for open-weight releases from "
        "large labs.\n\n"
        "That combination differs from the NVIDIA Nemotron Open Model Licence used for Nemotron 3 Super and from "
        "the community licences Meta uses for Llama 4. Alibaba's Qwen3.5, by contrast, uses plain Apache-2.0.\n\n"
        "The choice matters because legal review is often the slowest step when a company adopts an open model. "
        "Watch for more vendors to copy the approach that OpenAI chose for gpt-oss, pairing Apache-2.0 with a "
        "usage policy."
    ),
    83: (
        "Harlow Bay Courier, 2026-03-16: Heatwave set to break on Tuesday as Harlow Bay counts the cost. A cooler "
        "southerly change is forecast to reach Harlow Bay on Tuesday afternoon, bringing an end to a five-day "
        "March heatwave that pushed the Carrow Vale grid to its limits. Temperatures are expected to drop from 31 "
        "degrees on Monday to 19 degrees by Wednesday.\n\n"
        "The Carrow Vale System Operator lifted its Level 2 supply alert for Monday evening after the Fenwick "
        "Point gas unit returned to service overnight. Businesses in Eastmoor and Quarry Hill say the 45-minute "
        "outage on Saturday spoiled stock in shops and restaurants, and the local traders' association is asking "
        "suppliers for compensation.\n\n"
        "This matters because the independent review ordered by the Carrow Vale Energy Commission will decide "
        "whether households and firms hit by the cuts have any claim. The commission is expected to publish the "
        "terms of reference for the review this week."
    ),
    86: (
        "Meridian Science Magazine, 2026-03-16: Radar expedition sets out to map the bed beneath the Lenzmatt "
        "Glacier. A University of Altberg expedition began work on the Lenzmatt Glacier on Monday, aiming to map "
        "the bedrock hidden beneath up to 180 metres of ice. The team is using a low-frequency radar operating at "
        "25 megahertz, which penetrates temperate Alpine ice better than the higher frequencies used for snow "
        "studies.\n\n"
        "Over five days the researchers plan to cover about 60 kilometres of survey lines across the tongue and "
        "the upper basin. Combined with the drone photogrammetry from last autumn, the radar data should give the "
        "first reliable estimate of the remaining ice volume in nearly two decades.\n\n"
        "Anneke Solberg, who leads the project, said the team is especially interested in hollows in the bedrock "
        "where lakes could form as the ice retreats. This matters because such lakes can burst suddenly, and the "
        "village of Lenzmatt sits about six kilometres downstream.\n\n"
        "Preliminary thickness maps are due in June, and the team plans a second drone survey in September."
    ),
}


@pytest.fixture(scope="module")
def kb():
    return load_kb(())


@pytest.fixture(scope="module")
def checker(kb) -> SupportChecker:
    return SupportChecker(kb)


def cited(ids: list[int]) -> list[str]:
    return [PASSAGES[i] for i in ids]


# --- calibration: faithful paraphrases pass ------------------------------------------------------------------------

FAITHFUL = [
    # figures in other forms, reworded
    ("Covenant-72B, a dense model with 72 billion parameters, was pre-trained by peers who joined over the open "
     "internet without permission.", [2]),
    ("More than 70 peers took part in the run, about 20 at a time, each with at least eight B200 GPUs.", [10]),
    ("Each of the more than 70 peers brought at least eight NVIDIA B200 GPUs.", [2]),
    ("The SparseLoCo optimiser cut communication between machines by more than 146 times.", [2]),
    ("Covenant-72B scores 67.1 on MMLU zero-shot, roughly the level of LLaMA-2-70B.", [10]),
    ("The training run started on 12 September 2025 and processed about 1.1 trillion tokens.", [10]),
    ("The Templar subnet on the Bittensor network coordinated the training.", [2]),
    ("Nemotron 3 Super has about 121 billion parameters, of which 12.7B are active for each token.", [4]),
    ("NVIDIA released Nemotron 3 Super on March 11 with its weights, training data and recipes.", [12]),
    ("The model accepts a context window of 1M tokens.", [4]),
    ("On SWE-bench Verified with the OpenHands harness, NVIDIA reports 60.47% for Nemotron 3 Super and 41.9% for "
     "gpt-oss-120b.", [4]),
    ("Nemotron 3 Super scored 91.75 on RULER at one million tokens, against 22.30 for gpt-oss-120b.", [13, 35]),
    ("NVIDIA says Nemotron 3 Super delivers up to 2.2x the throughput of gpt-oss-120b.", [13]),
    ("OpenAI's model card puts gpt-oss-120b's SWE-bench Verified score at about 62 per cent.", [7]),
    ("The gap of roughly 20 points shows that agentic scores describe a model plus its tools.", [7]),
    ("gpt-oss-20b holds 20.9 billion parameters, and only 3.6 billion of them are active for each token.", [15]),
    ("Both gpt-oss models came out on Aug 5, 2025 under the Apache-2.0 licence.", [15]),
    ("gpt-oss-120b has 116.8 billion parameters in total, with 5.1 billion active per token.", [24]),
    ("OpenAI reported that gpt-oss-120b scored 92.5 on AIME 2025 without tools and 97.9 with tools.", [24]),
    ("The Seaboard Round 4 offshore wind auction drew bids for 6.8 gigawatts against a 4,000 megawatt target.", [17]),
    ("The oversubscription ratio was 1.7, up from 1.2 in Round 3.", [17]),
    ("The Lenzmatt Glacier lost 74 metres of length in a single year, more than double its average retreat over "
     "the previous decade.", [18]),
    ("Between 2010 and 2020 the glacier retreated by an average of 31 metres a year.", [18]),
    ("Batteries supplied 1,080 megawatts at the height of Friday evening's record demand, about 13 per cent of the "
     "8,420 megawatt peak.", [40]),
    ("Electricity demand on the Carrow Vale grid hit 8,420 MW on Friday evening, a March record.", [44]),
    ("The previous March record, 7,350 megawatts, dated from 2022.", [44]),
    ("Tidewater Offshore won the Dunmore Bank zone at 71.40 euros per megawatt-hour for 1,500 megawatts.", [41]),
    ("The Eastern Reach price of 69.80 euros is the lowest ever paid under the national contract-for-difference "
     "scheme.", [41]),
    ("About 18,000 households in Eastmoor and Quarry Hill lost power for 45 minutes on Saturday evening.", [65]),
    ("A 420 megawatt gas unit at Fenwick Point tripped offline, and demand peaked at 8,760 megawatts.", [65]),
    ("Alibaba's Qwen3.5 family, released on February 16, uses the plain Apache-2.0 licence.", [47]),
    ("A team of eight University of Altberg researchers will set out on Monday to measure the ice left in the "
     "glacier.", [59]),
    ("The expedition began work on the Lenzmatt Glacier on Monday, mapping bedrock beneath up to 180 metres of "
     "ice.", [86]),
    ("NVIDIA compared Nemotron 3 Super with gpt-oss-120b, which has 116.8 billion parameters.", [4, 24]),
    ("The grid link for Dunmore Bank and Eastern Reach, which account for 2,800 megawatts, will not be ready before "
     "2032.", [62]),
    # reported speech: the claim that gpt-oss-120b is closed is the blog's, not the sentence's
    ("AI Buzz Daily wrote that Nemotron 3 Super rivals closed models like gpt-oss-120b and Qwen3.5.", [9]),
    ("Seven months after release, gpt-oss remains the yardstick newer open-weight models measure themselves "
     "against.", [24]),
    ("The cooler change is forecast to bring temperatures down from 31 degrees on Monday to 19 degrees by "
     "Wednesday.", [83]),
    ("Alibaba's Qwen3.5 flagship carries 397 billion parameters.", [57]),
    ("gpt-oss-120b is a 117B model with 5.1B active parameters.", [24]),
    ("Nemotron 3 Super, released on March 11 under the NVIDIA Nemotron Open Model Licence, holds 120.6 billion "
     "parameters and accepts a one-million-token context.", [4]),
    # looser rewordings, without figures
    ("Buyers often compare leaderboard figures from different sources as though they were interchangeable.", [7]),
    ("Because the vendor's numbers have not been reproduced yet, outside groups are expected to run their own "
     "tests.", [4]),
    ("Falling turbine and cable costs have left developers room to bid well under the 88 euro ceiling.", [17]),
    ("A thin winter snowpack and a dark, debris-covered surface left the ice exposed for most of the summer, said "
     "Anneke Solberg.", [18]),
    ("Wholesale prices hit the 3,000 euro cap for 25 minutes as the evening ramp began.", [40]),
    ("Power came back to every home by 20:00 once batteries and imports filled the gap.", [65]),
    ("Legal review can hold up a deployment for months, which is why the licence question matters.", [47]),
    ("The team will tow ground-penetrating radar across the glacier on sledges pulled by snowmobiles.", [59]),
    ("The small model is light enough for a strong desktop, since only 3.6 billion of its parameters are active "
     "per token.", [74]),
    ("Apache-2.0 permits commercial use, modification and redistribution and includes an explicit patent grant.",
     [80]),
    ("The run suggests that large models no longer need a single owner of the hardware to be trained.", [2]),
    ("Evaluators want the harness named next to every SWE-bench Verified score, since it decides how a model "
     "explores files and retries.", [7]),
    ("The sparse design keeps generation quick on modest hardware, though all the weights must still fit in "
     "memory.", [15]),
    ("Analysts will watch whether winning bids land nearer 70 euros per megawatt-hour or stay close to the Round 3 "
     "average of 79.50 euros.", [17]),
    ("Models calibrated on the Lenzmatt Glacier may underestimate ice losses elsewhere in the range, because it has "
     "long served as a reference.", [18]),
    ("Storage kept prices from staying at the cap for much longer, traders said.", [40]),
    ("Wind farms that are built but cannot send their power to the grid earn nothing under the "
     "contract-for-difference scheme.", [62]),
    ("A high RULER score suggests the model can still find details buried deep in a very long prompt, but not that "
     "it reasons well over a messy codebase.", [35]),
]


@pytest.mark.parametrize(("sentence", "ids"), FAITHFUL)
def test_faithful_paraphrases_pass(checker, sentence, ids):
    assert checker.why_not(sentence, cited(ids)) is None
    assert checker.support(sentence, cited(ids)) >= LEXICAL_THRESHOLD


# --- calibration: a sentence citing a passage about something else fails ------------------------------------------

WRONG_PASSAGE = [
    ("Rolling outages are possible if demand climbs above what the grid can supply.", [17]),
    ("The glacier is retreating faster than its models predicted.", [44]),
    ("The agent harness used to run the test can move coding scores by many points.", [47]),
    ("Developers can fine-tune the model on their own data without negotiating terms with a vendor.", [18]),
    ("The operator expects demand to climb while hazy conditions trim solar output.", [62]),
    ("Meltwater from the glacier supplies the river and the reservoir in late summer.", [41]),
    ("Wind farms that are built but cannot export power earn nothing under the scheme.", [40]),
    ("The benchmark hides pieces of information in long inputs and asks the model to retrieve them.", [80]),
    ("The licence allows commercial use, modification and redistribution of the weights.", [13]),
    ("Drone photogrammetry gave an elevation model accurate to about a dozen centimetres.", [59]),
    ("Independent groups are expected to publish their own measurements in the coming weeks.", [13]),
    # the same story, another passage: words of the subject are there, what the sentence says is not
    ("The usage policy adds rules about harmful uses.", [24]),
    ("The usage policy adds rules about harmful uses, which is common for open-weight releases from large labs.",
     [47]),
    ("Teams building agents that must keep long histories in context care most about the result.", [13]),
    ("Businesses say the outage spoiled stock in shops and restaurants.", [65]),
    ("Households can find their outage block number on their electricity bill.", [65]),
    ("Wind farms that cannot export power earn nothing under the contract-for-difference scheme.", [41]),
    ("The glacier's snout was measured in October and compared with an earlier survey.", [86]),
    ("The result is modest by frontier standards but shows a model can be built without a single owner of the "
     "hardware.", [10]),
]


@pytest.mark.parametrize(("sentence", "ids"), WRONG_PASSAGE)
def test_a_sentence_citing_another_passage_fails(checker, sentence, ids):
    assert checker.why_not(sentence, cited(ids)) is not None
    assert checker.support(sentence, cited(ids)) < LEXICAL_THRESHOLD


def test_the_lexical_reason_names_missing_words(checker):
    reason = checker.why_not("Meltwater from the glacier supplies the river and the reservoir in late summer.",
                             cited([41]))
    assert reason.startswith("too few of its words are in the passages it cites")
    assert reason.endswith(f"(0%, needs {LEXICAL_THRESHOLD:.0%}; not found: meltwater, glacier, supplies, river)")


# --- faulty sentences fail, each for its own reason ---------------------------------------------------------------

FAULTY = [
    ("Covenant-72B has 70 billion parameters in a dense design.", [2], "the figure '70 billion'"),
    ("gpt-oss-120b has 140 billion parameters in total.", [24], "the figure '140 billion'"),
    ("Batteries covered 31 percent of the Carrow Vale peak.", [40], "the figure '31 percent'"),
    ("The Seaboard Round 4 auction drew bids for 8,600 megawatts.", [17], "the figure '8,600 megawatts'"),
    ("The Lenzmatt Glacier lost 47 metres of length in a single year.", [18], "the figure '47 metres'"),
    ("Nemotron 3 Super activates 17.2 billion parameters for each token.", [4], "the figure '17.2 billion'"),
    ("Covenant-72B was trained with 70 billion parameters, about 20 peers at a time.", [2], "the figure"),
    ("Covenant AI worked with the Vector Institute to train Covenant-72B.", [2], "the name 'Vector Institute'"),
    ("Tidewater Marine won the Dunmore Bank zone at 71.40 euros.", [41], "the name 'Tidewater Marine'"),
    ("Google DeepMind measured Nemotron 3 Super against gpt-oss-120b on SWE-bench Verified.", [4],
     "the name 'Google DeepMind'"),
    ("Qwen3.5-397B-A17B was one of NVIDIA's two comparison models.", [4], "the model 'Qwen3.5-397B-A17B'"),
    ("gpt-oss-20b scored 41.9% on SWE-bench Verified with the OpenHands harness.", [7], "the model 'gpt-oss-20b'"),
    ("Both gpt-oss models were released on August 5, 2024.", [15], "the date 'August 5, 2024'"),
    ("NVIDIA released Nemotron 3 Super on March 12.", [4], "the date 'March 12'"),
    ("The Covenant-72B run began in October 2025.", [10], "the date 'October 2025'"),
    ("Alibaba released Qwen3.5 on 16 January.", [47], "the date '16 January'"),
    ("Electricity demand reached 8,420 megawatts on Thursday evening.", [44], "the date 'Thursday evening'"),
    ("The previous March record of 7,350 megawatts was set in 2021.", [44], "the date"),
    ("gpt-oss-120b is a closed model that OpenAI offers only through its API.", [24],
     "it states as fact a claim the fact check found contradicted: gpt-oss-120b is closed"),
    # faithful to a passage that is itself wrong: the knowledge base says otherwise
    ("Qwen3.5-397B-A17B activates just 1.7 billion parameters for each token.", [57],
     "it states as fact a claim the fact check found contradicted: Qwen3.5-397B-A17B has 1.7B active parameters"),
    ("OpenAI released gpt-oss-120b and gpt-oss-20b in August 2024.", [51],
     "it states as fact a claim the fact check found contradicted: gpt-oss-120b was released in Aug 2024"),
    ("Nemotron 3 Super rivals closed models like gpt-oss-120b and Qwen3.5.", [9],
     "it states as fact a claim the fact check found contradicted: gpt-oss-120b is closed"),
]


@pytest.mark.parametrize(("sentence", "ids", "reason"), FAULTY)
def test_faulty_sentences_fail_with_their_reason(checker, sentence, ids, reason):
    got = checker.why_not(sentence, cited(ids))
    assert got is not None and got.startswith(reason), got
    assert got.endswith("in none of the passages it cites") or got.startswith("it states as fact")


def test_a_claim_among_the_refuted_ones_fails_even_when_the_kb_cannot_settle_it(kb):
    sentence = "Alibaba's Qwen3.5 flagship carries 397 billion parameters."
    disputed = CheckedClaim(57, sentence, Claim("qwen3.5", "params_total_b", 397.0), "disputed")
    assert SupportChecker(kb).why_not(sentence, cited([57])) is None
    assert SupportChecker(kb, refuted=[disputed]).why_not(sentence, cited([57])) == (
        "it states as fact a claim the fact check found disputed: Qwen3.5 has 397B parameters in total")
    supported = CheckedClaim(57, sentence, Claim("qwen3.5", "params_total_b", 397.0), "supported")
    assert SupportChecker(kb, refuted=[supported]).why_not(sentence, cited([57])) is None  # not a refuted verdict
    other = CheckedClaim(57, sentence, Claim("qwen3.5", "params_total_b", 122.0), "disputed")
    assert SupportChecker(kb, refuted=[other]).why_not(sentence, cited([57])) is None  # another value


def test_a_refuted_claim_only_reported_is_allowed(kb):
    closed = CheckedClaim(9, "", Claim("gpt-oss-120b", "openness", "closed"), "contradicted")
    checker = SupportChecker(kb, refuted=[closed])
    assert checker.why_not("AI Buzz Daily wrote that Nemotron 3 Super rivals closed models like gpt-oss-120b and "
                           "Qwen3.5.", cited([9])) is None
    assert checker.why_not("Nemotron 3 Super rivals closed models like gpt-oss-120b.", cited([9])).startswith(
        "it states as fact a claim the fact check found contradicted: gpt-oss-120b is closed")


def test_no_passage_and_markers(checker):
    assert checker.why_not("Covenant-72B has 72 billion parameters.", []) == "it cites no passage"
    assert checker.why_not("Covenant-72B has 72 billion parameters. [1][2]", cited([2])) is None
    assert checker.why_not("Covenant-72B has 72 billion parameters [1, 2].", cited([2])) is None


def test_the_kb_defaults_to_the_built_in_one():
    checker = SupportChecker()
    assert checker.why_not("gpt-oss-120b is a closed model.", cited([24])).startswith("it states as fact")


# --- figures ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "unit", "expected"), [
    ("117", "billion", (117e9, "")),
    ("117000", "million", (117e9, "")),
    ("2.5", "billion $", (2.5e9, "$")),
    ("8.42", "gigawatt", (8.42e9, "watt")),
    ("8420", "megawatt", (8.42e9, "watt")),
    ("13", "%", (13.0, "%")),
    ("45", "minute", (2700.0, "second")),
    ("7", "month", (7.0, "month")),
    ("1", "million", (1e6, "")),
])
def test_figure_value(value, unit, expected):
    number, base = figure_value(value, unit)
    assert base == expected[1]
    assert number == pytest.approx(expected[0])


FIGURES = ("Test Wire, 2026-03-14: Acme ships a model. The Acme lab said its model has 116.8 billion parameters, "
           "won 13 per cent of the market, handles one million tokens, took seven months to build and drew 8,420 "
           "megawatts at its peak. Nine teams tested it.")


@pytest.mark.parametrize("sentence", [
    "The Acme lab said its model has 117 billion parameters.",
    "The Acme lab said its model has 116.8B parameters.",
    "The Acme lab said its model has 116.8bn parameters.",
    "The Acme lab said its model has 116,800 million parameters.",
    "The Acme lab said its model has about 120 billion parameters.",
    "The Acme lab said its model has nearly 120B parameters.",
    "Acme's model won 13% of the market.",
    "Acme's model won 13 percent of the market.",
    "Acme's model won 13 per cent of the market.",
    "Acme's model handles 1M tokens.",
    "Acme's model handles 1,000,000 tokens.",
    "Acme's model handles a million tokens.",
    "Acme's model took 7 months to build.",
    "Acme's model drew 8.42 GW at its peak.",
    "Acme's model drew 8,420 MW at its peak.",
    "Acme's model drew 8420 megawatts at its peak.",
    "9 teams tested the Acme model.",
])
def test_figures_written_in_other_forms_are_found(checker, sentence):
    assert checker.why_not(sentence, [FIGURES]) is None


@pytest.mark.parametrize(("sentence", "figure"), [
    ("The Acme lab said its model has 120 billion parameters.", "120 billion"),  # rounded, and not hedged
    ("The Acme lab said its model has 116.9 billion parameters.", "116.9 billion"),
    ("The Acme lab said its model has 1.168 billion parameters.", "1.168 billion"),
    ("The Acme lab said its model has about 140 billion parameters.", "140 billion"),
    ("Acme's model won 31 per cent of the market.", "31 per cent"),
    ("Acme's model won 13 points of the market share, or 14%.", "14%"),
    ("Acme's model handles 2M tokens.", "2 million"),
    ("Acme's model took eight months to build.", "eight months"),
    ("Acme's model drew 8.42 megawatts at its peak.", "8.42 megawatts"),
    ("Acme's model drew 8,420 kilowatts at its peak.", "8,420 kilowatts"),
])
def test_a_figure_the_passage_does_not_give_fails(checker, sentence, figure):
    assert checker.why_not(sentence, [FIGURES]) == f"the figure '{figure}' is in none of the passages it cites"


def test_a_size_inside_a_name_is_no_figure(checker):
    # "LLaMA-2-70B" in the passage does not make "70 billion" a figure it gives; "gpt oss 120b" in the sentence is
    # a name, not a figure of 120 billion.
    assert checker.why_not("Covenant-72B scores close to the 70 billion parameter LLaMA-2-70B.", cited([2])) == (
        "the figure '70 billion' is in none of the passages it cites")
    assert checker.why_not("gpt oss 120b has 116.8 billion parameters in total.", cited([24])) is None


# --- dates --------------------------------------------------------------------------------------------------------

DATES = ("Test Wire, 2026-03-14: Acme results. The Acme model was released on August 5, 2025, and the lab "
         "reported its results on Friday. Its maker was founded in 2019.")


@pytest.mark.parametrize("sentence", [
    "The Acme model was released on Aug 5, 2025.",
    "The Acme model was released on 5 August 2025.",
    "The Acme model was released on 2025-08-05.",
    "The Acme model was released in August 2025.",
    "The Acme model was released in 2025.",
    "The Acme lab reported its results on Friday.",  # a relative day, pinned by the passage's date: March 13
    "The Acme lab reported its results on March 13.",
    "The Acme lab reported its results on Friday, March 13.",
    "The maker of the Acme model was founded in 2019.",
    "The 2019-founded maker released the Acme model.",
])
def test_dates_the_passage_states_pass(checker, sentence):
    assert checker.why_not(sentence, [DATES]) is None


@pytest.mark.parametrize(("sentence", "date"), [
    ("The Acme model was released on August 6, 2025.", "August 6, 2025"),
    ("The Acme model was released on 2025-08-06.", "2025-08-06"),
    ("The Acme model was released in September 2025.", "September 2025"),
    ("The Acme model was released in 2024.", "2024"),
    ("The Acme lab reported its results on Thursday.", "Thursday"),
    ("The Acme lab reported its results on March 12.", "March 12"),
    # the passage was published on March 14; that is not a date it states
    ("The Acme lab reported its results on March 14.", "March 14"),
])
def test_dates_the_passage_does_not_state_fail(checker, sentence, date):
    assert checker.why_not(sentence, [DATES]) == f"the date '{date}' is in none of the passages it cites"


def test_a_year_outside_a_date_is_checked_once(checker):
    assert checker.why_not("The maker of the Acme model dates from 2018.", [DATES]) == (
        "the date '2018' is in none of the passages it cites")
    assert checker.why_not("The 2018 maker released the Acme model.", [DATES]) == (
        "the year '2018' is in none of the passages it cites")


def test_a_relative_day_without_a_header_date_is_not_checked(checker):
    passage = "The Acme lab reported its results on Friday."
    assert checker.why_not("The Acme lab reported its results on Tuesday.", [passage]) is None


# --- names --------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("sentence", "ids"), [
    ("gpt oss 120b has 116.8 billion parameters in total.", [24]),  # spaces for hyphens
    ("GPT-OSS-120B has 116.8 billion parameters in total.", [24]),  # case
    ("OpenAI's open-weight 120B model has 116.8 billion parameters in total.", [24]),  # a KB alias
    ("OpenAI's gpt-oss-120b has 116.8 billion parameters in total.", [24]),  # a possessive
    ("NVIDIA's Nemotron holds 120.6 billion parameters in total.", [4]),  # part of a name
    ("NVIDIA compared Nemotron 3 Super with a Qwen3.5 model.", [4]),  # the family of a model the passage names
])
def test_names_in_other_forms_are_found(checker, sentence, ids):
    assert checker.why_not(sentence, cited(ids)) is None


def test_an_organisation_the_passage_does_not_name_is_not_taken_from_the_knowledge_base(checker):
    # The KB knows Alibaba makes Qwen3.5, but the passage does not say so: the writer may not add it.
    why = checker.why_not("NVIDIA lists Alibaba's Qwen3.5-122B-A10B as a comparison point.", cited([13]))
    assert why == "the name 'Alibaba' is in none of the passages it cites"


@pytest.mark.parametrize(("sentence", "ids", "reason"), [
    ("gpt-oss-20b was tested with the OpenHands agent harness.", [7], "the model 'gpt-oss-20b'"),
    ("Covenant-72B scores 67.1 on MMLU, like Llama 3.1 70B.", [2], "the model 'Llama 3.1 70B'"),
    ("Covenant AI and Mistral AI built Covenant-72B.", [2], "the name 'Mistral AI'"),
    ("NVIDIA tested Nemotron 3 Super with the SWE-agent harness.", [4], "the name 'SWE-agent'"),
    ("Nemotron 3 Super runs on Kestrel hardware.", [4], "the name 'Kestrel'"),
])
def test_names_the_passages_lack_fail(checker, sentence, ids, reason):
    assert checker.why_not(sentence, cited(ids)).startswith(reason)


def test_names_in_other_scripts_are_found(checker):
    passage = "Test Wire, 2026-03-14: A benchmark from Zürich. Researchers at ETH Zürich built CreativeBench."
    assert checker.why_not("Researchers at ETH Zürich built CreativeBench.", [passage]) is None
    assert checker.why_not("Researchers at ETH Zürich built PostTrainBench.", [passage]) == (
        "the name 'PostTrainBench' is in none of the passages it cites")


# --- words --------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("a", "b"), [
    ("releases", "released"), ("release", "releasing"), ("models", "model"), ("activities", "activity"),
    ("running", "run"), ("trained", "training"),
])
def test_stem_joins_forms_of_a_word(a, b):
    assert stem(a) == stem(b)


def test_stem_keeps_different_words_apart():
    assert stem("model") != stem("modest")
    assert stem("glacier") != stem("grid")


# --- semantic similarity ------------------------------------------------------------------------------------------

class Unrelated:
    """A vectoriser for which every text is unlike every other, with `vectorise` rather than `embed`."""

    def __init__(self) -> None:
        self.calls = 0
        self.seen: dict[str, int] = {}

    def vectorise(self, texts):
        self.calls += 1
        rows = np.zeros((len(texts), 512), dtype=np.float32)
        for n, text in enumerate(texts):
            rows[n, self.seen.setdefault(text, len(self.seen))] = 1.0  # a direction of its own for each text
        return rows


def test_a_semantic_vectoriser_can_veto_and_passage_vectors_are_kept(kb):
    vectoriser = Unrelated()
    checker = SupportChecker(kb, semantic=vectoriser)
    sentence = "The Templar subnet on the Bittensor network coordinated the training."
    reason = checker.why_not(sentence, cited([2]))
    assert reason is not None and reason.startswith("it reads unlike every sentence of the passages it cites")
    calls = vectoriser.calls
    checker.why_not("The Templar subnet coordinated training on the Bittensor network.", cited([2]))
    assert vectoriser.calls == calls + 1  # the sentence only: the passage's vectors are kept


@pytest.fixture(scope="module")
def semantic_checker(kb):
    if not semantic.available():
        pytest.skip("the semantic extra is not installed")
    return SupportChecker(kb, semantic=semantic.SemanticVectoriser())


@pytest.mark.parametrize(("sentence", "ids"), FAITHFUL[::3])
def test_faithful_paraphrases_pass_the_semantic_check(semantic_checker, sentence, ids):
    assert semantic_checker.similarity(sentence, cited(ids)) >= SEMANTIC_THRESHOLD
    assert semantic_checker.why_not(sentence, cited(ids)) is None


@pytest.mark.parametrize(("sentence", "ids"), WRONG_PASSAGE[:9])
def test_off_topic_citations_fall_below_the_semantic_threshold(semantic_checker, sentence, ids):
    assert semantic_checker.similarity(sentence, cited(ids)) < SEMANTIC_THRESHOLD


@pytest.mark.parametrize("sentence", [
    "Nemotron 3 Super holds 120.6 billion parameters in total, according to google.",
    "Nemotron 3 Super holds 120.6 billion parameters in total, anthropic said.",
])
def test_an_organisation_in_lower_case_is_still_a_name(checker, sentence):
    assert checker.why_not(sentence.replace(", according to google", "").replace(", anthropic said", ""),
                           cited([4])) is None
    organisation = "google" if "google" in sentence else "anthropic"
    assert checker.why_not(sentence, cited([4])) == f"the name '{organisation}' is in none of the passages it cites"
