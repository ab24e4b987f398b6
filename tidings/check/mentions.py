"""Which models a sentence talks about: knowledge-base names and aliases, short names only in AI context,
descriptive names ("OpenAI's larger open model", "Moonshot's trillion-parameter Kimi"), and a pronoun or "the
model" that refers back to the model of the sentence before."""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from operator import itemgetter

from tidings.check.aliases import AliasMatcher, KBNames, kb_names, matcher, words
from tidings.check.kb import KnowledgeBase, Model, normalise
from tidings.check.values import QUANTITY, number_value


@dataclass(frozen=True)
class Mention:
    model: str  # KB id
    start: int
    end: int
    kind: str = "name"  # name | description | reference (a pronoun or "the model")


# Short names that mean other things outside AI ("a scout troop", "an R1 visa"): a model only in AI context.
SHORT_NAMES = {"scout": "llama-4-scout", "maverick": "llama-4-maverick", "r1": "deepseek-r1",
               "v3": "deepseek-v3", "k2": "kimi-k2", "o3": "o3", "phi": "phi-4"}
_AI_CONTEXT = re.compile(r"\b(?:models?|llms?|ai|weights|parameters?|open[- ]weights?|open[- ]source|benchmarks?|"
                         r"download|developers|self[- ]host\w*|run (?:it|them) locally|"
                         r"tokens?|context window|inference|fine[- ]tun\w*|reasoning|chatbot|checkpoints?|"
                         r"mixture[- ]of[- ]experts|moe|gpus?|training|trained|release[ds]?|api|agents?)\b", re.I)
_SHORT_NAMES = AliasMatcher(SHORT_NAMES, 1)  # built once: the short names are the same for every KB


def names_in(text: str, names: Mapping[str, str], longest: int) -> list[tuple[int, int, str]]:
    """(start, end, what it names) for each run of up to `longest` words whose joined normalised form is in
    `names`; longer runs win, runs never overlap, and a name never runs across a comma or a semicolon. The
    matcher for `names` is built on first use and kept (see `tidings.check.aliases.matcher`)."""
    return matcher(names, longest).find(text)


_CAPITALISED = re.compile(r"[A-Z][\w.'’]+")


def ai_context(text: str, kb: KnowledgeBase) -> bool:
    """Whether a text is about AI: a model word, a developer, a benchmark or an unambiguous model name."""
    if _AI_CONTEXT.search(text):
        return True
    indexed = kb_names(kb)
    lowered = normalise(text)
    if any(dev and dev in lowered for dev in indexed.developers):
        return True
    firsts = indexed.developer_first_words
    if any(w.lower().rstrip("'’s") in firsts for w in _CAPITALISED.findall(text)):
        return True  # "Moonshot's K2": a developer named by its first word
    return bool(indexed.benchmarks.find(text))


def find_mentions(text: str, kb: KnowledgeBase, context: str = "", indexed: KBNames | None = None) -> list[Mention]:
    """Models named or described in a sentence, without overlaps, in order. `context` is the text around the
    sentence, which can make a short name ("Scout") count as a model. `indexed` is `kb_names(kb)`, for a caller
    that reads many sentences and has looked it up already."""
    found = []
    in_ai = None
    if indexed is None:
        indexed = kb_names(kb)
    for start, end, model in indexed.names.find(text):
        key = normalise(text[start:end])
        if len(key) <= 3 or key in SHORT_NAMES:  # a short name or code is also an ordinary word ("o3", "Scout")
            if in_ai is None:
                in_ai = ai_context(text, kb) or ai_context(context, kb)
            if not in_ai:
                continue
        found.append(Mention(model, start, end))
    for start, end, model in _SHORT_NAMES.find(text):
        if any(m.start <= start < m.end for m in found) or model not in kb.models:
            continue
        if in_ai is None:
            in_ai = ai_context(text, kb) or ai_context(context, kb)
        if in_ai and _short_name_fits(text, start, end):
            found.append(Mention(model, start, end))
    found = [_member(text, m, kb, indexed) for m in found]
    for d in _describe(text, indexed):
        overlapping = [m for m in found if m.start < d.end and d.start < m.end]
        # A description that holds a name and says more ("Zhipu's compact GLM-4.5 variant") names the variant.
        if overlapping and all(m.model != d.model and m.start >= d.start and m.end <= d.end for m in overlapping):
            found = [m for m in found if m not in overlapping]
        if not any(m.start < d.end and d.start < m.end for m in found):
            found.append(d)
    return sorted(found, key=lambda m: m.start)


_SIZE_AFTER = re.compile(r"[\s-]+(\d+(?:\.\d+)?)\s?[Bb]\b")


def _member(text: str, mention: Mention, kb: KnowledgeBase, indexed: KBNames) -> Mention:
    """A family named with a size right after it ("OLMo 2 32B") is that member of the family."""
    if mention.model not in kb.family_ids:
        return mention  # asked first: most names are no family's, and then the text after them does not matter
    size = _SIZE_AFTER.match(text[mention.end:])
    if size is None:
        return mention
    family = normalise(kb.models[mention.model].name)
    billions = float(size.group(1))
    family_of = indexed.family_of
    members = [x for x in kb.models.values() if x.family and family_of[x.id] == family and x.params_total_b
               and abs(x.params_total_b - billions) <= 0.05 * billions]
    if len(members) != 1:
        return mention
    return Mention(members[0].id, mention.start, mention.end + size.end(), mention.kind)


def _short_name_fits(text: str, start: int, end: int) -> bool:
    """A short name is a model's when it reads as one: capitalised or a code ("Scout", "R1"), not "scout"."""
    word = text[start:end]
    return not word.islower() or any(ch.isdigit() for ch in word)


# --- descriptive names ---------------------------------------------------------------------------------------

_LARGE = re.compile(r"\b(?:larger|largest|bigger|biggest|flagship|top[- ]end|heavyweight|full[- ]size)\b", re.I)
_SMALL = re.compile(r"\b(?:smaller|smallest|small|little|compact|lightweight|mini)\b", re.I)
_OPEN_HINT = re.compile(r"\bopen(?:[- ]weights?|[- ]source)?\b", re.I)
_CLOSED_HINT = re.compile(r"\b(?:closed|proprietary)\b", re.I)
_HEAD = re.compile(r"\b(?:model|models|llm|line|family|release|system|sibling|version|variant|checkpoint|"
                   r"edition|generation)\b", re.I)
_SIZE_HINT = re.compile(QUANTITY + r"(?:[- ]parameters?|(?=\s+(?:dense\s+)?(?:model|llm)\b))", re.I)
# "OpenAI's larger open model", "the smaller gpt-oss", "Moonshot's trillion-parameter Kimi", "Mistral's flagship":
# an anchor (a developer's possessive, or "the"), then describing words up to a head noun or a family name.
# The lookahead names the letters an anchor starts with, so most positions are passed over at once; the
# possessive quantifiers give nothing back, as nothing they give back ([\w.] or a space) could be followed by
# what comes next (a capital, an apostrophe). Both leave the matches as they are and find them sooner.
_ANCHOR = re.compile(r"(?=[A-ZTt])\b(?:(?P<dev>[A-Z][\w.]*+(?:\s++[A-Z][\w.]*+)?)['’]s|[Tt]he)\s+")
_DESCRIPTION_WORDS = 6
_VERB = re.compile(r"(?:is|are|was|were|be|been|has|have|had|will|would|can|could|may|might|does|did|do|remains?|"
                   r"stays?|scores?|scored|runs?|uses?|ships?|came|comes|activates?|holds?|offers?|\w+ed)", re.I)


# Besides size words and a developer, what makes the words after an anchor a description.
_DESCRIBING = re.compile(r"\b(?:flagship|line)\b|\d+-experts?\b|-trained\b", re.I)
_VERB_WORD, _HEAD_WORD, _FLAGSHIP_WORD, _OTHER_WORD = "verb", "head", "flagship", ""


@lru_cache(maxsize=16384)
def _role(word: str) -> str:
    """What a word does to a description running through it: a verb ends it before the word, a head noun ends
    it with the word, "flagship" may end it, anything else lets it go on. Cached: sentences keep using the
    same few words, and each answer takes two patterns."""
    if _VERB.fullmatch(word):
        return _VERB_WORD
    if _HEAD.fullmatch(word):
        return _HEAD_WORD
    if word.lower() == "flagship":
        return _FLAGSHIP_WORD
    return _OTHER_WORD


def describe(text: str, kb: KnowledgeBase) -> list[Mention]:
    """Models named by description. Resolved only when exactly one KB model fits."""
    return _describe(text, kb_names(kb))


_word_start = itemgetter(0)


def _describe(text: str, indexed: KBNames) -> list[Mention]:
    out = []
    every = words(text)
    for anchor in _ANCHOR.finditer(text):
        # The words are in order: those after the anchor are found by bisection.
        first = bisect_left(every, anchor.end(), key=_word_start)
        end = _description_end(text, every[first:first + _DESCRIPTION_WORDS], indexed)
        if end is None:
            continue
        picked = _described_model(indexed, anchor.group("dev"), text[anchor.end():end])
        if picked is not None:
            out.append(Mention(picked.id, anchor.start(), end, "description"))
    return out


_DESCRIPTIONS_KEPT = 50_000


def _described_model(indexed: KBNames, developer: str | None, body: str) -> Model | None:
    """The one model a description means ("OpenAI's" + "larger open model"), or None. Answers are kept on the
    knowledge base's index, which a changed knowledge base replaces."""
    key = (developer, body)
    kept = indexed.described
    if key in kept:
        return kept[key]
    picked = _resolve_description(indexed, developer, body)
    if len(kept) >= _DESCRIPTIONS_KEPT:
        kept.clear()  # a long-running process meets new descriptions without end
    kept[key] = picked
    return picked


def _resolve_description(indexed: KBNames, developer: str | None, body: str) -> Model | None:
    # A developer's possessive is description enough; else the words must say more (the slow size pattern last).
    if not (developer or _LARGE.search(body) or _SMALL.search(body) or _DESCRIBING.search(body)
            or _SIZE_HINT.search(body)):
        return None
    candidates = _candidates(indexed, developer, body)
    return None if candidates is None else _by_size(candidates, body)


def _description_end(text: str, following: tuple[tuple[int, int, str], ...], indexed: KBNames) -> int | None:
    """Where a description that starts with `following` (the words after its anchor) ends: at its head noun
    ("... Llama 4 model"), else after the last family word in reach; None if it is no description."""
    end = None
    for start_w, end_w, norm in following:
        role = _role(text[start_w:end_w])
        if role == _VERB_WORD:
            break  # a description is a noun phrase: it ends where the sentence's verb begins
        if role == _HEAD_WORD:
            return end_w
        if role == _FLAGSHIP_WORD and end is None:
            # "Mistral's flagship" ends here, unless a name or a head noun follows ("flagship Qwen3 model")
            end = end_w
        if indexed.is_family_word(norm):
            end = end_w
        if text[end_w:end_w + 1] in ",;:":
            break
    return end


_VERSION = re.compile(r"\b[Vv](\d(?:\.\d)?)\b")


def _candidates(indexed: KBNames, developer: str | None, body: str) -> list[Model] | None:
    models = list(indexed.plain_models)
    family_of = indexed.family_of
    narrowed = False
    if developer:
        dev = normalise(developer)
        matching = [x for x in models if x.developer and indexed.developer_of[x.id].startswith(dev)]
        if not matching:
            return None
        models, narrowed = matching, True
    families = {family_of[x.id]: x.family for x in models if x.family}
    joined = normalise(body)
    # The longest family named in the description ("Llama 4", not "Llama"), or one a word starts ("Kimi").
    family = next((families[f] for f in sorted(families, key=len, reverse=True) if f and f in joined), None)
    if family is None:
        words_in = {w[2] for w in words(body)}
        family = next((x.family for x in models for w in words_in
                       if x.family and len(w) > 2 and family_of[x.id].startswith(w)), None)
    if family:
        exact = [x for x in models if x.family == family]
        wanted = normalise(family)
        models = exact or [x for x in models if family_of[x.id].startswith(wanted)]
        narrowed = True
    version = _VERSION.search(body)
    if version:
        models = [x for x in models if re.search(rf"v{re.escape(version.group(1))}\b", x.id)]
        models = [x for x in models if x.id.endswith(f"v{version.group(1)}")] or models
        narrowed = True
    if _OPEN_HINT.search(body):
        models = [x for x in models if x.openness in ("open-weight", "fully-open")]
    elif _CLOSED_HINT.search(body):
        models = [x for x in models if x.openness == "closed"]
    models = _by_descriptors(models, body, indexed)
    hint = _SIZE_HINT.search(body)
    if hint and "param" not in hint.group().lower() and (hint.group("scale") or "").lower() not in (
            "b", "billion", "bn", "t", "trillion", "tn"):
        hint = None  # "a 4K model" or "two models" name no size
    if hint:
        size = number_value(hint.group("num"), hint.group("scale"))
        if size:
            size_b = size / 1e9 if size >= 1e6 else size
            models = [x for x in models if x.params_total_b and abs(x.params_total_b - size_b) <= 0.1 * size_b]
            narrowed = True
    return models if narrowed and models else None


_PLAIN = re.compile(r"^(?:the|a|an|of|its|new|newer|newest|latest|model|models|llm|line|family|release|system|"
                    r"sibling|version|variant|checkpoint|edition|generation|open|closed|weights?|source|larger|largest|"
                    r"bigger|biggest|smaller|smallest|small|little|compact|flagship|lightweight|mini|top|end|"
                    r"heavyweight|full|size|first|second|current|original|open-weights?|open-source|"
                    r"closed-source|closed-weights?|proprietary)$", re.I)


_DESCRIPTOR = re.compile(r"[A-Za-z0-9][\w\-]*")
_MADE_SUFFIX = re.compile(r"-(?:trained|based|built|made)$")
_EXPERTS = re.compile(r"(\d+)-experts?", re.I)


def _by_descriptors(models: list[Model], body: str, indexed: KBNames) -> list[Model]:
    """Narrow by what else the description says ("reasoning", "multimodal", "128-expert", "dense"), each word
    kept only if some model's name, architecture or notes bear it out."""
    for word in _DESCRIPTOR.findall(body):
        if _PLAIN.match(word) or any(ch.isdigit() for ch in word) and not word.lower().endswith("-expert"):
            continue
        word = _MADE_SUFFIX.sub("", word)  # "Bittensor-trained" -> "Bittensor"
        experts = _EXPERTS.fullmatch(word)
        if experts:
            kept = [x for x in models if f"{experts.group(1)} experts" in x.architecture.lower()]
        else:
            lowered = word.lower()
            kept = [x for x in models if lowered in indexed.described_as[x.id]]
        if kept:
            models = kept
    return models


def _by_size(models: list[Model], body: str) -> Model | None:
    """The one model the description means: the largest or smallest when it says so, else the only one."""
    if len(models) == 1:
        return models[0]
    sized = [x for x in models if x.params_total_b]
    if not sized or len(sized) != len(models):
        return None
    if _LARGE.search(body):
        best = max(sized, key=lambda x: x.params_total_b)
    elif _SMALL.search(body):
        best = min(sized, key=lambda x: x.params_total_b)
    else:
        return None
    ties = [x for x in sized if x.params_total_b == best.params_total_b]
    return best if len(ties) == 1 else None


# --- references back ------------------------------------------------------------------------------------------

_COMPARATIVE = re.compile(r"\b[Tt]he\s+(larger|largest|bigger|biggest|smaller|smallest)\s+"
                          r"(?:model|one|sibling|version|variant)\b")


def comparative(text: str, compared: Sequence[Model]) -> Mention | None:
    """"The larger model" after a sentence that named two or more models (`compared`), when their sizes tell
    which it means: the largest or the smallest of them. Nothing when a size is unknown or sizes tie: a guess
    would put a figure on the wrong model."""
    m = _COMPARATIVE.search(text)
    if m is None or len(compared) < 2:
        return None
    picked = _by_size(list(compared), m.group(1))
    return Mention(picked.id, m.start(), m.end(), "description") if picked else None


REFERENCE = re.compile(r"^\s*(?:it|its|the model|this model|the system|the new model|that model|the release|"
                       r"the open model|the closed model|the llm)\b", re.I)


def reference(text: str) -> tuple[int, int] | None:
    """The span of a pronoun or definite reference that opens a sentence ("It came out in ...")."""
    m = REFERENCE.match(text)
    return (m.start() + len(m.group()) - len(m.group().lstrip()), m.end()) if m else None
