"""Search over the stored items, as people expect a search box to work.

Words combine with OR and the items with more of them rank first (`nemotron qwen`), common words such as "the"
counting only when nothing else was typed; "quoted words" must appear together as a phrase; a word finds its other
forms ("licenses" finds "license": the index stems words) and its other spelling ("licence" finds "license").
Nothing a user types is read as query syntax. Each hit comes with its title and a passage, the matched words
marked, and the stories it belongs to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from markupsafe import Markup, escape

from tidings.errors import TidingsError
from tidings.model import Item
from tidings.store import Store
from tidings.text import STOPWORDS

VERDICTS = ("supported", "contradicted", "disputed", "corroborated", "single-source", "unverified")
MAX_TERMS = 12  # words and phrases a query may have; the rest are left out
_TOKEN = re.compile(r'"([^"]*)"|(\S+)')
_WORD = re.compile(r"[^\W_]+(?:['’.-][^\W_]+)*")  # letters and digits, inner apostrophes, dots and hyphens kept
# The same word in British and American spelling, both ways; -ise/-ize and -isation/-ization follow a rule.
_SPELLINGS = {
    "licence": "license", "licenced": "licensed", "licences": "licenses", "licencing": "licensing",
    "colour": "color", "favour": "favor", "behaviour": "behavior", "honour": "honor", "labour": "labor",
    "centre": "center", "defence": "defense", "offence": "offense", "programme": "program", "analyse": "analyze",
    "analysed": "analyzed", "catalogue": "catalog", "dialogue": "dialog", "grey": "gray", "modelling": "modeling",
    "modelled": "modeled", "labelled": "labeled", "labelling": "labeling", "cancelled": "canceled",
    "travelled": "traveled",
}
_SPELLINGS.update({american: british for british, american in list(_SPELLINGS.items())})
_ISE = re.compile(r"(?<=\w{3})is(e|es|ed|ing|ation|ations)$")
_IZE = re.compile(r"(?<=\w{3})iz(e|es|ed|ing|ation|ations)$")


NOTHING_TO_SEARCH = 'nothing to search for: give some words, or "words in quotes" for a phrase'


class SearchError(TidingsError):
    """A search that cannot be run as asked (a filter with an unknown value)."""


@dataclass(frozen=True)
class Query:
    words: tuple[str, ...] = ()
    phrases: tuple[tuple[str, ...], ...] = ()

    @property
    def empty(self) -> bool:
        return not self.words and not self.phrases


@dataclass(frozen=True)
class Hit:
    item: Item
    title: Markup  # escaped, matched words in <mark>
    passage: Markup
    stories: tuple[tuple[int, str, str], ...]  # (story id, digest, title)


@dataclass(frozen=True)
class Results:
    query: str
    hits: tuple[Hit, ...]
    offset: int
    more: bool  # whether another page of hits follows


def parse(text: str) -> Query:
    """Words and "quoted phrases" of what a user typed; punctuation and query syntax are only separators."""
    words: list[str] = []
    phrases: list[tuple[str, ...]] = []
    for quoted, bare in _TOKEN.findall(text or ""):
        found = tuple(w.casefold() for w in _WORD.findall(quoted if quoted else bare))
        if quoted and len(found) > 1:
            phrases.append(found)
        else:
            words.extend(found)
    words = [w for w in dict.fromkeys(words) if w.upper() not in ("OR", "AND", "NOT", "NEAR")]
    # Any of the words matches, so "the" beside "nemotron" would match nearly every item: words like it count only
    # when nothing else was typed (a phrase keeps them: "state of the art").
    if any(w not in STOPWORDS for w in words) or phrases:
        words = [w for w in words if w not in STOPWORDS]
    return Query(tuple(words[:MAX_TERMS]), tuple(dict.fromkeys(phrases))[:MAX_TERMS])


def spellings(word: str) -> list[str]:
    """The word and its other spellings ("licence" -> licence, license)."""
    out = [word]
    if word in _SPELLINGS:
        out.append(_SPELLINGS[word])
    for pattern, letter in ((_ISE, "iz"), (_IZE, "is")):
        if pattern.search(word):
            out.append(pattern.sub(lambda m, k=letter: k + m.group(1), word))
    return list(dict.fromkeys(out))


def fts5_query(query: Query) -> str:
    """The FTS5 form: every word (with its other spellings) and every phrase, any of them."""
    parts = [" OR ".join(_quoted(s) for s in spellings(w)) for w in query.words]
    parts += [_quoted(" ".join(p)) for p in query.phrases]
    return " OR ".join(f"({p})" for p in parts)


def tsquery(query: Query) -> str:
    """The PostgreSQL tsquery form of the same search."""
    parts = [" | ".join(_lexeme(s) for s in spellings(w)) for w in query.words]
    parts += [" <-> ".join(_lexeme(w) for w in p) for p in query.phrases]
    return " | ".join(f"({p})" for p in parts)


def _quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _lexeme(word: str) -> str:
    return "'" + word.replace("'", "''").replace("\\", "") + "'"


def search(store: Store, text: str, *, digest: str | None = None, since: datetime | None = None,
           until: datetime | None = None, publisher: str | None = None, verdict: str | None = None,
           limit: int = 20, offset: int = 0) -> Results:
    """The items matching `text`, best first, `limit` of them from `offset`, with the filters given."""
    if verdict and verdict not in VERDICTS:
        raise SearchError(f"no verdict {verdict!r}; use one of: {', '.join(VERDICTS)}")
    if since is not None and until is not None and since > until:
        raise SearchError("since is after until: nothing can be in between")
    query = parse(text)
    if query.empty:
        raise SearchError(NOTHING_TO_SEARCH)
    rows = store.search(fts5_query(query), tsquery(query), digest=digest, since=since, until=until,
                        publisher=publisher, verdict=verdict, limit=limit + 1, offset=offset)
    more = len(rows) > limit
    rows = rows[:limit]
    items = {i.id: i for i in store.items([r[0] for r in rows])}
    stories = store.item_stories([r[0] for r in rows])
    hits = tuple(Hit(items[item_id], marked(title), marked(passage), tuple(stories.get(item_id, ())))
                 for item_id, title, passage in rows if item_id in items)
    return Results(text, hits, offset, more)


def marked(snippet: str) -> Markup:
    """A snippet escaped as HTML, its matched words (between \\x02 and \\x03) in <mark>."""
    return Markup(str(escape(snippet or "")).replace("\x02", "<mark>").replace("\x03", "</mark>"))


def plain(snippet: Markup) -> str:
    """A marked snippet as plain text."""
    return Markup(snippet).striptags()
