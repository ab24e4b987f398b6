"""Sentences that only made sense where they came from.

An article is made of sentences lifted from many sources, so a sentence must read on its own: not a question to
the reader, not the writer speaking ("I expect", "we will update", "it is easy to see why"), not the text talking
about itself ("Here are the figures", "read on"), not a teaser cut off mid-thought, not a section label ("What to
watch: ..."). A sentence that opens by pointing back ("It", "The company", "But") needs the sentence before it.
"""

from __future__ import annotations

import re

# Speech inside quotation marks is someone else's: "we" and "I" there are not the writer's.
_QUOTED = re.compile(r"“[^”]*(?:”|$)|\"[^\"]*(?:\"|$)|«[^»]*(?:»|$)|"
                     r"(?<![^\W\d_])‘(?:[^‘’]|’(?=[^\W\d_]))*(?:’|$)")
_CLOSERS = " \t\"'”’»)]*_"

_QUESTION = re.compile(r"\?[!?]*$")
_TEASER = re.compile(r"(?:…|\.\.\.+|\[\s*(?:…|\.\.\.)\s*\]|\bread more|\bcontinue reading|\bmore\s*»)\W*$", re.I)
# What a teaser's last words cannot be without, in lower case ("nue" of "continue": letters that case folding ties
# to no other letter, so a lower-cased sentence shows them wherever the pattern would): most sentences have none.
# An ending added to the pattern needs its cue here.
_TEASER_CUES = ("…", "...", "more", "nue")

# "I", "we", "us" and their forms; "US" (the country) and "ME" are written in capitals and do not match. Each form
# starts with its letter and then looks back for the word's start (a \b before it): a pattern made of alternatives
# that start with letters is scanned for those letters, where one that starts with \b is tried at every position.
_FIRST_PERSON = re.compile(
    r"(?:I(?<!\wI)(?:['’](?:m|ve|d|ll))?(?![\w\-.'’])"
    r"|M(?<!\wM)(?:e|y|ine|yself)|m(?<!\wm)(?:e|y|ine|yself)"
    r"|W(?<!\wW)e(?:['’](?:re|ve|d|ll))?|w(?<!\ww)e(?:['’](?:re|ve|d|ll))?"
    r"|U(?<!\wU)s|u(?<!\wu)s"
    r"|O(?<!\wO)(?:ur|urs|urselves)|o(?<!\wo)(?:ur|urs|urselves))\b(?![\-'’]\w)")
# "World War I", "Phase I", "Type I": a capital I after a capitalised word that is not a sentence opener.
_ROMAN_BEFORE = re.compile(r"\b[A-Z][a-z]+\s+$")
_OPENER_WORDS = frozenset("and but so then when if because as while though although since after before until "
                          "once where what why how that which who here there now yet also still".split())

# Talk about the text itself or to its reader, each pattern behind a word it needs, so that most sentences are
# cleared by a few substring tests (lower-cased text).
_META = tuple((cue, re.compile(pattern)) for cue, pattern in (
    ("here", r"^here(?:['’]s| is| are)\b"),
    ("this ", r"\bthis (?:guide|article|post|newsletter|piece|explainer|blog|podcast|episode|liveblog|live blog|"
              r"roundup|digest|thread|video|story has been|story was|page)\b"),
    # The two cues found in most sentences: their patterns start with the cue and look back for the word's start
    # after it, so that the search skips from one "in " (or "as ") to the next.
    ("in ", r"in (?<!\win )(?:this|today['’]s|this week['’]s) (?:piece|article|post|newsletter|issue|edition|episode|"
            r"guide)\b"),
    ("below", r"\b(?:see|shown|listed|linked|embedded|described|explained|detailed|outlined|included|read|scroll|"
              r"details|chart|table|graphic|list|map|image|photo|box|links?|comments|form|video|more) below\b|"
              r"^below\b|\bbelow\s*:|\bbelow (?:is|are)\b"),
    ("read ", r"\bread (?:on|more)\b"),
    ("subscribe", r"\bsubscribe\b"),
    ("sign", r"\bsign(?:ing)? up\b"),
    ("click", r"\bclick(?:ing)? (?:here|on|the|to|through|this|a)\b"),
    ("updat", r"\bwe(?:['’]ll| will) (?:update|keep (?:you|this)|be updating)\b|\bupdat(?:e|ed|ing) this\b"),
    ("stay tuned", r"\bstay tuned\b"),
    ("need to know", r"\byou need to know\b"),
    ("let", r"\blet['’]s\b"),
    ("as ", r"as (?<!\was )(?:(?:mentioned|noted|discussed|explained) (?:above|earlier|before|previously)\b|"
            r"mentioned\b)"),
    ("see also", r"\bsee also\b"),
    ("editor", r"\beditor['’]s note\b"),
    ("disclosure", r"^disclosure\b|\bdisclosure:"),
    ("thanks for reading", r"\bthanks for reading\b"),
    ("welcome to", r"\bwelcome to (?:the|this|our|today)\b"),
    ("follow us", r"\bfollow us\b"),
    ("share this", r"\bshare this\b"),
    ("sponsored by", r"\bsponsored by\b"),
    ("credit", r"\b(?:photo|image) credit\b"),
    ("all rights reserved", r"\ball rights reserved\b"),
    # The writer's own verdict, told to the reader: an opinion in the source's voice, not a fact it reports.
    ("to see why", r"\b(?:it is|it['’]s|it was) (?:easy|not hard|hard) to see why\b"),
    ("make no mistake", r"\bmake no mistake\b"),
    ("needless to say", r"\bneedless to say\b"),
    ("safe to say", r"\b(?:it is|it['’]s) safe to say\b"),
    ("no doubt", r"\bthere(?: is|['’]s) no doubt\b"),
    ("everyone wants to know", r"\beveryone wants to know\b"),
))

_KNOWN_LABELS = re.compile(
    r"^(?:what to watch|why it matters|why this matters|the bottom line|bottom line|update|updated|context|"
    r"background|key takeaways?|takeaways?|tl;?dr|in short|the big picture|big picture|what['’]s next|analysis|"
    r"editor['’]s note|note|correction|clarification|breaking|the takeaway|what it means|the upshot)\s*:", re.I)
# Any short capitalised phrase before a colon ("Size: 120.6 billion", "Long context: ..."), unless it reads as
# the start of a sentence ("It has two subsets: ...").
_LABEL = re.compile(r"^([A-Z][\w'’\-&/]*(?:\s+[\w'’\-&/]+){0,3})\s*:(?!\d)")
_SENTENCE_WORDS = frozenset("is are was were has have had says said will would can could does do did may might "
                            "must shall it he she they we i you this that these those there".split())

_BACK = re.compile(
    r"^(?:it|its|it['’]s|this|that|these|those|they|their|theirs|them|he|she|his|her|hers|him|such|both|"
    r"also|but|and|so|however|still|yet|instead|meanwhile|nevertheless|nonetheless|moreover|furthermore|"
    r"additionally|besides|thus|hence|therefore|then|likewise|similarly|otherwise|neither|either|"
    r"in addition|as a result|by contrast|in contrast|on the other hand|even so|that said|"
    # (each only before a comma: "After all votes were counted", "In comparison with 2024" stand alone)
    r"(?:for comparison|by comparison|in comparison|in turn|after all|if so|if not|even then|next up|up next)(?=,)|"
    r"(?:all|none|one|some|many|most|each|both|either|neither|few|several|two|three|four) of (?:them|these|those|"
    r"this|it|which|their)|"
    r"the (?:two|three|four|five|other|others|former|latter|same|pair|rest|remaining|"
    r"(?:new|larger|smaller|bigger|older|newer|original) (?:model|version|one)|"
    r"group|company|companies|firm|model|models|move|result|results|figure|figures|researchers|team|lab|study|"
    r"benchmark|paper|authors|project|consortium|agency|operator|ministry|plan|decision|deal|findings|release|"
    r"run|outcome|change|claim|gap|comparison|approach|method|technique|proposal|effort|initiative|question|"
    r"debate|survey|report|answer|problem|issue|idea|scheme|system|tool|trend|shift|split|choice|design|"
    r"difference|distinction|discovery|announcement|launch|update|expedition|delay|organisation|organization|"
    r"institute|university|council|board|commission|government|official|officials|spokesperson|"
    r"spokesman|spokeswoman|startup|chatbot|vendor|developer|developers|site|region|town|city|country|"
    r"winner|winners|bidder|bidders|consortia|scientists|experts|analysts|risk|risks|"
    # what only a sentence before can say: "The bases were ...", "The caveat is ...", "The licence question ..."
    r"bases|caveat|catch|saving grace|upshot|twist|irony|licence question|license question|verdict|"
    # "The licence allows ...": the licence of something named before ("The licence fee ..." stands alone)
    r"licen[cs]e(?= (?:allows|permits|lets|requires|forbids|grants|includes|covers|bars|prohibits)\b))(?:['’]s)?)\b|"
    # working on figures given before: "Multiplying the two means ...", "Comparing them shows ..."
    r"(?:multiplying|combining|comparing|adding|dividing|subtracting|averaging|weighing) (?:the (?:two|three|four|"
    r"pair|figures|numbers|results|scores)|both|them|these|those)\b|"
    # a pronoun after a short opening phrase: "On paper it makes a strong case", "So far, they have ..."
    r"(?:on paper|in practice|in theory|for now|so far|at first|at least|in the end|on balance|overall|in short|"
    r"for its part|for their part|to be fair),? (?:it|its|it['’]s|they|their|he|she)\b",
    re.I)
# Openers the pattern above would take that do not point back: "This week ...", "That year ..." name a time.
_NOT_BACK = re.compile(r"^(?:this|that|these|those) (?:week|month|year|morning|afternoon|evening|night|spring|"
                       r"summer|autumn|fall|winter|weekend|quarter|season|days|decade|time)\b", re.I)
# Reported speech about something named before: "Officials say the risk is higher ...", "Analysts said the move
# ...": a few words of attribution, then a definite description that only the sentence before defined.
_SAYS = re.compile(r"^(?:[\w'’.\-]+\s+){1,4}?(?:say|says|said|warn|warns|warned|believe|believes|argue|argues|"
                   r"argued|note|notes|noted|add|adds|added|think|thinks)\s+(?:that\s+)?(?=the\s)", re.I)
# ... and the description is the whole subject ("the risk is", not "the approach route to the glacier has"). The
# "the" lookahead rules out "Officials say they ...": those are the officials.
_VERB_NEXT = re.compile(r"\s+(?:is|are|was|were|has|have|had|will|would|could|can|may|might|should|must|"
                        r"remains?|seems?|looks?)\b", re.I)
_DEFINED = re.compile(r"\s+(?:of|from|behind|for|over|about|between|with|that|whether)\s+"
                      r"(?!(?:it|them|this|that|these|those|its|their|his|her)\b)")
_BOTH = re.compile(r"^both\s+(\S+)", re.I)
_LEADING = " \t\"'“‘(«[—–-*•"


def _unquoted(sentence: str) -> str:
    return _QUOTED.sub(" ", sentence) if any(map(sentence.__contains__, "“\"«‘")) else sentence


def _first_person(text: str) -> bool:
    for m in _FIRST_PERSON.finditer(text):
        if m.group() != "I":
            return True
        # A lone capital I after a capitalised word is a numeral ("World War I"), unless that word opens a clause
        # ("Then I ...", "When I ...").
        prev = _ROMAN_BEFORE.search(text, 0, m.start())
        if prev is None or prev.group().strip().lower() in _OPENER_WORDS:
            return True
    return False


def _label(sentence: str) -> bool:
    if ":" not in sentence:
        return False  # every label ends in a colon: most sentences need no pattern
    if _KNOWN_LABELS.match(sentence):
        return True
    m = _LABEL.match(sentence)
    if m is None:
        return False
    words = m.group(1).lower().split()
    return not any(w.strip("'’") in _SENTENCE_WORDS or w.endswith(("'s", "’s")) and w[:-2] in _SENTENCE_WORDS
                   for w in words)


def _is_teaser(text: str) -> bool:
    """Whether the text ends as a teaser does ("read more", "…"): told by its last words."""
    tail = text[-40:]
    return any(cue in tail.lower() for cue in _TEASER_CUES) and bool(_TEASER.search(tail))


def unusable(sentence: str) -> str | None:
    """Why a sentence cannot stand in an article on its own, or None: 'question', 'first person', 'meta',
    'teaser', 'label'."""
    text = sentence.strip()
    if not text:
        return "teaser"
    if _QUESTION.search(text.rstrip(_CLOSERS)):
        return "question"
    if _is_teaser(text):
        return "teaser"
    own = _unquoted(text)
    low = own.lower()
    # Every cue looked for first (a list, not a generator over the pairs: this runs for every sentence of a story).
    if any(pattern.search(low) for pattern in [pattern for cue, pattern in _META if cue in low]):
        return "meta"
    if _label(text.lstrip(_LEADING)):
        return "label"
    if _first_person(own):
        return "first person"
    return None


# "OpenAI's gpt-oss models also use Apache-2.0": as well as someone a sentence before told of. (Not "also known as",
# "also called", nor "not only ... but also".)
_ALSO = re.compile(r"^(?:[^\s,;:]+\s+){0,4}(?!(?:and|but|or|nor|both)\s)[^\s,;:]+\s+also\s+"
                   r"(?!(?:known|called|spelled|spelt|referred|written|named|dubbed|styled|sold as|marketed as)\b)"
                   r"[a-z]", re.I)


def points_back(sentence: str) -> bool:
    """Whether the sentence opens by pointing back at something before it: a pronoun ("It", "They", "Its"), a
    connective ("But", "Also", "However", "Still"), a definite description of something already named ("The
    company", "The model", "The two", "The other", "The researchers"), or its subject does "also" what another
    did ("NVIDIA also lists ...")."""
    text = sentence.lstrip(_LEADING)
    m = _BACK.match(text)
    if m is None and "also" in text[:80] and _ALSO.match(text) and "not only" not in text.lower():
        return True
    if m is None and " the " in text[:80]:
        says = _SAYS.match(text)
        if says is not None:
            rest = text[says.end():]
            told = _BACK.match(rest)
            return told is not None and told.group().lower().startswith("the ") and \
                _VERB_NEXT.match(rest, told.end()) is not None
    if m is None or _NOT_BACK.match(text):
        return False
    if m.group().lower().startswith("the ") and _DEFINED.match(text, m.end()):
        return False  # "The results of the national offshore wind auction ..." says what it refers to
    both = _BOTH.match(text)
    if both is not None:
        # "Both gpt-oss models ...", "Both CreativeBench subsets ..." name what they mean; "Both models ..." do not.
        word = both.group(1)
        return not (word[0].isupper() or any(c.isdigit() for c in word) or "-" in word)
    return True
