"""`tidings.toml` -> frozen dataclasses, with errors that name the file, the key and what is allowed."""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tidings.errors import TidingsError
from tidings.model import Digest, Source
from tidings.urls import is_loopback_host, without_login

CONFIG_NAME = "tidings.toml"


class ConfigError(TidingsError, ValueError):
    """A config file that cannot be used; the message is one line naming file and key."""


@dataclass(frozen=True)
class Settings:
    cluster_threshold: float = 0.2  # TF-IDF cosine an item needs to join a story
    story_window_days: float = 4.0  # a story quiet for longer than this goes dormant
    revive_threshold: float = 0.3  # cosine an item needs to revive a dormant story
    revive_within_days: float = 30.0  # how long a dormant story can still be revived
    route_threshold: float = 0.05  # similarity to a digest's profile needed to route an item there
    near_duplicate_threshold: float = 0.5  # MinHash similarity at which two articles are one (1 = off)
    max_sentences: int = 12  # sentences per article, all sections together
    fetch_timeout: float = 10.0  # seconds, per request
    fetch_full_text: bool = True  # fetch the page of an entry whose feed text is truncated
    full_text_min_chars: int = 300  # feed text shorter than this counts as truncated
    user_agent: str = "tidings/0.1 (+https://github.com/tidings)"
    writer: str = "extractive"  # which registered writer writes the articles
    max_body_mb: float = 10.0  # a feed or page larger than this, once decompressed, is refused
    allow_private_networks: bool = False  # may sources and links reach private, loopback or link-local addresses
    poll_interval_minutes: float = 60.0  # how often a healthy source is read by 'tidings run --every'
    max_backoff_hours: float = 24.0  # the longest a failing source waits before it is tried again
    host_connections: int = 2  # requests open at once to one host
    host_delay: float = 1.0  # seconds between the starts of two requests to one host
    source_deadline: float = 60.0  # seconds for one source in all: its feed and the pages of its teasers
    run_deadline: float = 600.0  # seconds for the fetch stage in all; sources not read by then wait for the next run
    respect_robots: bool = True  # read a page (a page source or a teaser's page) only where robots.txt allows it
    processes: int = 0  # worker processes for large batches of pure work (0: one per processor; 1: none)


@dataclass(frozen=True)
class WriterSettings:
    """The `[writer]` table: which writer writes the articles and, for a model writer, the server it asks."""

    backend: str = "extractive"  # a registered writer: "extractive" (no model) or "openai" (any compatible server)
    base_url: str = "http://127.0.0.1:11434/v1"  # the chat-completions server (Ollama's address by default)
    model: str = ""
    api_key_env: str = ""  # the environment variable holding the key, if the server needs one; the key is never kept
    timeout: float = 60.0  # seconds per request
    max_passage_chars: int = 1500  # how much of each source the model is given (its title and opening)


@dataclass(frozen=True)
class Config:
    path: Path | None = None
    db: str = "tidings.db"
    site_dir: str = "site"
    site_url: str = "http://localhost:8000/"
    settings: Settings = field(default_factory=Settings)
    writer: WriterSettings = field(default_factory=WriterSettings)
    digests: tuple[Digest, ...] = ()
    sources: tuple[Source, ...] = ()
    kb: tuple[str, ...] = ()  # the user's own knowledge-base files, beside the built-in one

    @property
    def base_dir(self) -> Path:
        return self.path.parent if self.path else Path.cwd()

    def resolve(self, path_or_url: str) -> str:
        """A path relative to the config file's folder, made absolute; URLs pass through."""
        if "://" in path_or_url:
            return path_or_url
        return str((self.base_dir / path_or_url).resolve())

    @property
    def db_url(self) -> str:
        if "://" in self.db:
            return self.db
        return "sqlite:///" + self.resolve(self.db)

    def digest(self, slug: str) -> Digest | None:
        return next((d for d in self.digests if d.slug == slug), None)


_TOP_KEYS = {"db": str, "site_dir": str, "site_url": str, "kb": list, "settings": dict, "writer": dict,
             "digests": list, "sources": list}
_DIGEST_KEYS = {"slug": str, "title": str, "description": str, "keywords": list}
_SOURCE_KEYS = {"url": str, "name": str, "digests": list, "credibility": float, "kind": str}
_TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true or false",
               list: "a list", dict: "a table"}


def _check(where: str, key: str, value: Any, expected: type) -> Any:
    ok = isinstance(value, expected) and not (expected in (int, float) and isinstance(value, bool))
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not ok:
        raise ConfigError(f"{where}: {key} must be {_TYPE_NAMES[expected]}, got {value!r}")
    return value


def _check_keys(where: str, table: dict, allowed: dict) -> None:
    for key in table:
        if key not in allowed:
            raise ConfigError(f"{where}: unknown key '{key}' (allowed: {', '.join(allowed)})")


def _settings(where: str, table: dict) -> Settings:
    allowed = {f.name: type(f.default) for f in fields(Settings)}
    _check_keys(f"{where} [settings]", table, allowed)
    values = {k: _check(f"{where} [settings]", k, v, allowed[k]) for k, v in table.items()}
    for name in ("cluster_threshold", "revive_threshold", "route_threshold", "near_duplicate_threshold"):
        if name in values and not 0 <= values[name] <= 1:
            raise ConfigError(f"{where} [settings]: {name} must be between 0 and 1, got {values[name]}")
    for name, least, strict in _LOWER_BOUNDS:
        if name in values:
            value = values[name]
            # NaN fails every comparison, and an infinite timeout or window would never end.
            if not math.isfinite(value) or value < least or (strict and value == least):
                bound = f"greater than {least}" if strict else f"at least {least}"
                raise ConfigError(f"{where} [settings]: {name} must be a finite number {bound}, got {value}")
    return Settings(**values)


# (setting, bound, whether the bound itself is excluded): values below make no sense and would be silently odd.
_LOWER_BOUNDS = (("fetch_timeout", 0, True), ("story_window_days", 0, True), ("revive_within_days", 0, False),
                 ("max_sentences", 0, True), ("full_text_min_chars", 0, False), ("max_body_mb", 0, True),
                 ("poll_interval_minutes", 0, True), ("max_backoff_hours", 0, True), ("host_connections", 0, True),
                 ("host_delay", 0, False), ("source_deadline", 0, True), ("run_deadline", 0, True),
                 ("processes", 0, False))


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _writer(where: str, table: dict, settings: Settings) -> WriterSettings:
    """The `[writer]` table; without one, `[settings] writer` (the older place) names the writer."""
    where = f"{where} [writer]"
    allowed = {f.name: type(f.default) for f in fields(WriterSettings)}
    _check_keys(where, table, allowed)
    if "api_key_env" in table and not (isinstance(table["api_key_env"], str)
                                       and _ENV_NAME.fullmatch(table["api_key_env"])):
        # Never echo the value: it may be the key itself, pasted in the wrong place.
        raise ConfigError(f"{where}: api_key_env must name the environment variable that holds the key "
                          f"(like OPENAI_API_KEY), not hold the key itself")
    values = {k: _check(where, k, v, allowed[k]) for k, v in table.items()}
    if "backend" in values and settings.writer not in ("extractive", values["backend"]):
        raise ConfigError(f"{where}: backend = {values['backend']!r} but [settings] writer = {settings.writer!r}; "
                          f"name the writer in [writer] only")
    values.setdefault("backend", settings.writer)
    from tidings.write import is_writer, writer_names  # the writers registered, add-ons included

    if not is_writer(values["backend"]):
        raise ConfigError(f"{where}: backend must be one of {', '.join(writer_names())}, got {values['backend']!r}")
    for name in ("timeout", "max_passage_chars"):
        if name in values and not (math.isfinite(values[name]) and values[name] > 0):
            raise ConfigError(f"{where}: {name} must be a finite number greater than 0, got {values[name]}")
    base_url = values.get("base_url", WriterSettings.base_url)
    # The default address is known to be good: a config that keeps it does not import the HTTP client to check it.
    host = _server_host(base_url) if "base_url" in values else _DEFAULT_HOST
    if host is None:
        raise ConfigError(f"{where}: base_url must be an http:// or https:// address, got {without_login(base_url)!r}")
    if values.get("api_key_env") and base_url.startswith("http://") and not is_loopback_host(host):
        raise ConfigError(f"{where}: base_url is plain http:// to another machine; the key in {values['api_key_env']} "
                          f"would cross the network unencrypted (use https://)")
    values["base_url"] = base_url.rstrip("/")
    if values["backend"] == "openai" and not values.get("model"):
        raise ConfigError(f"{where}: backend = \"openai\" needs a model (the name the server knows it by)")
    return WriterSettings(**values)


_DEFAULT_HOST = urlsplit(WriterSettings.base_url).hostname


def _server_host(url: str) -> str | None:
    """The host of an http(s) address that can be requested, or None."""
    import httpx  # the client the writer uses decides what it can send to

    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError, TypeError):
        return None
    return parsed.host if parsed.scheme in ("http", "https") and parsed.host else None


def _digest(where: str, table: Any) -> Digest:
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: each [[digests]] entry must be a table")
    _check_keys(where, table, _DIGEST_KEYS)
    if "slug" not in table:
        raise ConfigError(f"{where}: a digest needs a 'slug'")
    values = {k: _check(where, k, v, _DIGEST_KEYS[k]) for k, v in table.items()}
    slug = values["slug"]
    if not slug.replace("-", "").replace("_", "").isalnum():
        raise ConfigError(f"{where}: slug {slug!r} may hold only letters, digits, '-' and '_'")
    return Digest(slug=slug, title=values.get("title", slug), description=values.get("description", ""),
                  keywords=tuple(str(k) for k in values.get("keywords", ())))


def _source(where: str, table: Any, digests: set[str]) -> Source:
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: each [[sources]] entry must be a table")
    _check_keys(where, table, _SOURCE_KEYS)
    if "url" not in table:
        raise ConfigError(f"{where}: a source needs a 'url' (a feed or page URL, or a file path)")
    values = {k: _check(where, k, v, _SOURCE_KEYS[k]) for k, v in table.items()}
    for slug in values.get("digests", ()):
        if slug not in digests:
            raise ConfigError(f"{where}: digest {slug!r} is not defined (defined: {', '.join(sorted(digests))})")
    cred = values.get("credibility")
    if cred is not None and not 0 <= cred <= 1:
        raise ConfigError(f"{where}: credibility must be between 0 and 1, got {cred}")
    kind = values.get("kind", "")
    if kind:
        from tidings.ingest.readers import kinds  # the readers registered, add-ons included

        if kind not in kinds():
            raise ConfigError(f"{where}: kind must be one of {', '.join(kinds())}, got {kind!r}")
    return Source(url=values["url"], name=values.get("name", ""), digests=tuple(values.get("digests", ())),
                  credibility=cred, kind=kind)


def parse_config(data: dict, path: Path | None = None) -> Config:
    where = str(path) if path else CONFIG_NAME
    _check_keys(where, data, _TOP_KEYS)
    for key, expected in _TOP_KEYS.items():
        if key in data:
            _check(where, key, data[key], expected)
    settings = _settings(where, data.get("settings", {}))
    writer = _writer(where, data.get("writer", {}), settings)
    digests = tuple(_digest(f"{where} digests[{i}]", t) for i, t in enumerate(data.get("digests", [])))
    slugs = [d.slug for d in digests]
    if len(set(slugs)) != len(slugs):
        raise ConfigError(f"{where}: digest slugs must be unique, got {slugs}")
    config = Config(path=path, settings=settings, writer=writer, digests=digests,
                    **{k: data[k] for k in ("db", "site_dir", "site_url") if k in data})
    sources = tuple(_source(f"{where} sources[{i}]", t, set(slugs)) for i, t in enumerate(data.get("sources", [])))
    # Relative paths in a config file mean "beside this file", wherever tidings is run from.
    sources = tuple(replace(s, url=config.resolve(s.url)) for s in sources)
    kb = data.get("kb", [])
    if not all(isinstance(k, str) for k in kb):
        raise ConfigError(f"{where}: kb must be a list of file paths, got {kb!r}")
    return Config(path=path, db=config.db, site_dir=config.site_dir, site_url=config.site_url,
                  settings=settings, writer=writer, digests=digests, sources=sources,
                  kb=tuple(config.resolve(k) for k in kb))


def load_config(path: str | Path | None = None) -> Config:
    """Read `path`, or `tidings.toml` in the current folder if it exists, or return the defaults."""
    if path is None:
        candidate = Path(CONFIG_NAME)
        if not candidate.exists():
            return Config()
        path = candidate
    path = Path(path).resolve()
    _, data = read_toml(path, ConfigError, "no such config file (run 'tidings init' to write one)")
    return parse_config(data, path)


def read_toml(path: Path, error: type[Exception], missing: str) -> tuple[str, dict]:
    """(text, parsed) of a TOML file; any problem raises `error` with a one-line message naming the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{path}: {missing}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{path}: cannot read: {exc}") from None
    try:
        return text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{path}: not valid TOML: {exc}") from None


STARTER = '''\
# tidings.toml -- what to read, how to group it, where to publish.
# Paths are relative to this file. Every key is optional except where noted.

db = "tidings.db"              # a SQLite file, or postgresql://user@host/dbname (pip install 'tidings[postgres]')
site_dir = "site"              # where `tidings publish` writes the static site
site_url = "http://localhost:8000/"   # the address the site will be served from (used in feeds)
# kb = ["my-facts.toml"]      # your own knowledge-base files, added to the built-in one

[settings]
cluster_threshold = 0.2        # how similar (0..1) an item must be to a story to join it
story_window_days = 4.0        # a story quiet for longer than this goes dormant
revive_threshold = 0.3         # how similar (0..1) an item must be to revive a dormant story
revive_within_days = 30.0      # a dormant story older than this is closed for good
route_threshold = 0.05         # how similar (0..1) an item must be to a digest to be routed there
near_duplicate_threshold = 0.5 # shingle similarity (0..1) at which two articles count as one (1 = off)
max_sentences = 12             # sentences per article
fetch_timeout = 10.0           # seconds per HTTP request
fetch_full_text = true         # fetch the page when a feed entry's text is truncated
full_text_min_chars = 300      # feed text shorter than this counts as truncated

# Who writes the articles. The default needs no model: every sentence is a source's own. "openai" asks any
# OpenAI-compatible chat server (Ollama, vLLM, llama.cpp's server, LM Studio, OpenAI) and publishes only the
# sentences the sources they cite bear out; if the server fails, that article is written the default way.
[writer]
backend = "extractive"
# base_url = "http://127.0.0.1:11434/v1"   # Ollama's address
# model = "qwen3:8b"
# api_key_env = "OPENAI_API_KEY"           # the environment variable holding the key, if the server needs one
# timeout = 60                             # seconds per request

# A digest is one topic. Items are routed to it by similarity to its description and keywords.
[[digests]]
slug = "ai"                    # required; used in URLs
title = "AI research & misinformation"
description = "New AI models, benchmarks and research, and claims about them that need checking."
keywords = ["model", "open-weight", "benchmark", "training", "LLM", "parameters"]

# A source is a feed (RSS, Atom, JSON Feed), a web page, or a local file of either.
# [[sources]]
# url = "https://example.org/feed.xml"   # required
# name = "Example News"
# digests = ["ai"]                      # which digests it feeds (default: all)
# credibility = 0.8                     # 0..1, your judgement of the publisher
'''


def write_starter(path: Path) -> None:
    if path.exists():
        raise ConfigError(f"{path}: already exists; not overwriting it")
    path.write_text(STARTER, encoding="utf-8")
