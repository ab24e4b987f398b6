"""A scripted OpenAI-compatible chat-completions server on 127.0.0.1, for the tests and the benchmark of the LLM writer.

    with ChatServer(responder) as server:
        server.base_url   # "http://127.0.0.1:PORT/v1"
        server.requests   # every request received, in order: Seen(method, path, headers, body, raw)

Only `POST .../chat/completions` is served (non-streaming); any other path gets a 404 JSON error, another method on
that path a 405. `responder(request_body) -> Reply | str` decides each answer (a plain string is normal content).
A `Reply` can be normal content wrapped as a `chat.completion` object (with a `usage` estimated as words, given, or
left out), an HTTP error status with an OpenAI-style error body, a delay before answering, an empty content, a raw
non-JSON body, or a completion with no choices. A responder that raises gets a 500 naming the exception.

Convenience responders: `always(text)`, `sequence([...])` (one reply per request, the last one repeated) and
`from_articles(path)`, a scripted "model" that writes the hand-written articles of tests/data/demo_articles.toml
for the demo's stories, citing the passages of each request. `passages(request_body)` reads the `[n] text` lines
of a request's user message.

Handler threads are daemons and a delayed reply waits on an event that closing the server sets, so leaving the
`with` block is quick even while a delayed reply is pending; a client that has gone away is not an error.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import re
import threading
import time
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

DEMO_ARTICLES = Path(__file__).parent / "data" / "demo_articles.toml"
UNUSABLE = "I cannot write this."  # what the scripted model answers when no story of its script fits the request


@dataclass(frozen=True)
class Reply:
    """One scripted answer. The defaults give a normal completion of `content` with a word-count `usage`."""

    content: str | None = ""  # the assistant message's content (None: JSON null)
    status: int = 200
    error: str = ""  # the message of the error body when status is not 2xx
    delay: float = 0.0  # seconds to wait before answering
    raw: bytes | None = None  # sent verbatim as the body instead of JSON (with `content_type`)
    content_type: str = "application/json"
    choices: bool = True  # False: "choices": []
    usage: bool = True  # False: no "usage" object
    prompt_tokens: int | None = None  # None: estimated as the words of the request's messages
    completion_tokens: int | None = None  # None: estimated as the words of the content
    finish_reason: str = "stop"
    headers: tuple[tuple[str, str], ...] = ()  # extra response headers, e.g. (("Retry-After", "2"),)

    @classmethod
    def text(cls, content: str, **kwargs: Any) -> Reply:
        return cls(content=content, **kwargs)

    @classmethod
    def fail(cls, status: int = 500, message: str = "the model server failed", **kwargs: Any) -> Reply:
        return cls(status=status, error=message, **kwargs)

    @classmethod
    def slow(cls, seconds: float, content: str = "late answer", **kwargs: Any) -> Reply:
        return cls(content=content, delay=seconds, **kwargs)

    @classmethod
    def empty(cls, **kwargs: Any) -> Reply:
        return cls(content="", **kwargs)

    @classmethod
    def garbage(cls, body: bytes | str = b"<html><body>502 Bad Gateway</body></html>",
                content_type: str = "text/html", status: int = 200) -> Reply:
        return cls(raw=body.encode("utf-8") if isinstance(body, str) else body, content_type=content_type,
                   status=status)

    @classmethod
    def no_choices(cls, **kwargs: Any) -> Reply:
        return cls(choices=False, **kwargs)


Responder = Callable[[dict], "Reply | str"]


@dataclass(frozen=True)
class Seen:
    """One request as the server received it. Header names are lower-cased."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any  # the parsed JSON body, None when it was empty or not JSON
    raw: bytes = b""

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def _words(text: str) -> int:
    return len(text.split())


def _message_text(content: Any) -> str:
    """The text of a message's content: a string, or a list of parts ({"type": "text", "text": ...})."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""


def completion(body: dict, reply: Reply, number: int) -> dict:
    """The `chat.completion` object for a normal reply."""
    out: dict[str, Any] = {
        "id": f"chatcmpl-scripted-{number}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "scripted") if isinstance(body, dict) else "scripted",
        "choices": [],
        "system_fingerprint": "fp_scripted",
    }
    if reply.choices:
        out["choices"] = [{"index": 0, "message": {"role": "assistant", "content": reply.content},
                           "logprobs": None, "finish_reason": reply.finish_reason}]
    if reply.usage:
        messages = body.get("messages", []) if isinstance(body, dict) else []
        prompt = reply.prompt_tokens if reply.prompt_tokens is not None else sum(
            _words(_message_text(m.get("content"))) for m in messages if isinstance(m, dict))
        done = reply.completion_tokens if reply.completion_tokens is not None else _words(reply.content or "")
        out["usage"] = {"prompt_tokens": prompt, "completion_tokens": done, "total_tokens": prompt + done}
    return out


def error_body(message: str, status: int) -> dict:
    kind = "server_error" if status >= 500 else "invalid_request_error"
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer  # type: ignore[assignment]
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def do_POST(self) -> None:  # noqa: N802 - the names http.server calls
        self._serve()

    def do_GET(self) -> None:  # noqa: N802
        self._serve()

    def do_PUT(self) -> None:  # noqa: N802
        self._serve()

    def do_DELETE(self) -> None:  # noqa: N802
        self._serve()

    def _serve(self) -> None:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError):
            self._answer()

    def _answer(self) -> None:
        chat = self.server.chat
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        path = self.path.split("?", 1)[0]
        chat._record(Seen(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body, raw))
        if not path.rstrip("/").endswith("/chat/completions"):
            self._json(404, error_body(f"no route for {self.command} {path}", 404))
            return
        if self.command != "POST":
            self._json(405, error_body(f"{self.command} is not allowed on {path}", 405), (("Allow", "POST"),))
            return
        if not isinstance(body, dict):
            self._json(400, error_body("the request body is not a JSON object", 400))
            return
        if body.get("stream"):
            self._json(400, error_body("this scripted server does not stream", 400))
            return
        try:
            reply = chat.responder(body)
        except Exception as exc:  # noqa: BLE001 - a broken responder is reported to the client, not swallowed
            chat.errors.append(exc)
            self._json(500, error_body(f"the responder failed: {type(exc).__name__}: {exc}", 500))
            return
        if isinstance(reply, str):
            reply = Reply(content=reply)
        if reply.delay > 0 and chat._closing.wait(reply.delay):
            self.close_connection = True  # the server is closing: drop the pending reply
            return
        if reply.raw is not None:
            self._send(reply.status, reply.raw, reply.content_type, reply.headers)
        elif reply.status >= 300:
            self._json(reply.status, error_body(reply.error or f"HTTP {reply.status}", reply.status), reply.headers)
        else:
            self._json(reply.status, completion(body, reply, chat._next_id()), reply.headers)

    def _json(self, status: int, obj: dict, headers: Sequence[tuple[str, str]] = ()) -> None:
        self._send(status, json.dumps(obj).encode("utf-8"), "application/json", headers)

    def _send(self, status: int, body: bytes, content_type: str, headers: Sequence[tuple[str, str]] = ()) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def finish(self) -> None:
        with contextlib.suppress(OSError, ValueError):  # the client may have hung up already
            super().finish()


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True  # a pending handler never blocks shutdown
    block_on_close = False
    chat: ChatServer

    def handle_error(self, request, client_address) -> None:  # a client hanging up is part of the tests
        pass


@dataclass
class ChatServer:
    responder: Responder
    errors: list[BaseException] = field(default_factory=list)  # what the responder raised
    _seen: list[Seen] = field(default_factory=list, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _closing: threading.Event = field(default_factory=threading.Event, repr=False)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1), repr=False)
    _httpd: _HTTPServer | None = field(default=None, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)

    def start(self) -> ChatServer:
        httpd = _HTTPServer(("127.0.0.1", 0), _Handler)
        httpd.chat = self
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="chat-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._closing.set()  # pending delayed replies return at once
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None

    def __enter__(self) -> ChatServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._httpd is not None, "the server is not running"
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    @property
    def requests(self) -> list[Seen]:
        """Every request received so far, in order (a copy)."""
        with self._lock:
            return list(self._seen)

    def chat_requests(self) -> list[Seen]:
        """Only the requests to the chat-completions route."""
        return [r for r in self.requests if r.path.split("?", 1)[0].rstrip("/").endswith("/chat/completions")]

    def _record(self, seen: Seen) -> None:
        with self._lock:
            self._seen.append(seen)

    def _next_id(self) -> int:
        with self._lock:
            return next(self._ids)


# --- responders --------------------------------------------------------------------------------------------------

def always(text: str | Reply) -> Responder:
    reply = text if isinstance(text, Reply) else Reply(content=text)
    return lambda body: reply


def sequence(replies: Sequence[Reply | str]) -> Responder:
    """One reply per request, in order; once they run out, the last one again."""
    if not replies:
        raise ValueError("sequence() needs at least one reply")
    items = [r if isinstance(r, Reply) else Reply(content=r) for r in replies]
    lock = threading.Lock()
    count = itertools.count()

    def respond(body: dict) -> Reply:
        with lock:
            n = next(count)
        return items[min(n, len(items) - 1)]

    return respond


# --- the scripted model of the demo's stories ---------------------------------------------------------------------

_PASSAGE = re.compile(r"^\s*\[(\d+)\]\s*(.*\S)\s*$")
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u00a0": " "})


def normal(text: str) -> str:
    """Text as the scripted model compares it: case-folded, straight quotes, single spaces."""
    return " ".join(text.translate(_QUOTES).casefold().split())


def passages(request_body: dict) -> dict[int, str]:
    """The `[n] text` lines of the request's user message(s), by number (a later line with a number wins)."""
    messages = request_body.get("messages", []) if isinstance(request_body, dict) else []
    out: dict[int, str] = {}
    for message in messages:
        if not isinstance(message, dict) or message.get("role") != "user":
            continue
        for line in _message_text(message.get("content")).splitlines():
            m = _PASSAGE.match(line)
            if m:
                out[int(m.group(1))] = m.group(2)
    return out


@dataclass(frozen=True)
class Sentence:
    text: str
    sources: tuple[str, ...]
    join: bool = False  # continue the previous sentence's paragraph instead of starting a new line


@dataclass(frozen=True)
class Section:
    heading: str
    sentences: tuple[Sentence, ...]


@dataclass(frozen=True)
class Article:
    match: tuple[str, ...]
    sections: tuple[Section, ...]
    name: str = ""

    def sentences(self) -> list[Sentence]:
        return [s for section in self.sections for s in section.sentences]


def load_articles(path: str | Path = DEMO_ARTICLES) -> list[Article]:
    with open(path, "rb") as f:
        data = tomllib.load(f)
    return [Article(match=tuple(story["match"]), name=story.get("name", ""),
                    sections=tuple(Section(section["heading"],
                                           tuple(Sentence(s["text"], tuple(s["sources"]), bool(s.get("join", False)))
                                                 for s in section.get("sentence", [])))
                                   for section in story.get("section", [])))
            for story in data.get("story", [])]


def choose(articles: Sequence[Article], found: dict[int, str]) -> Article | None:
    """The article whose match phrases occur most often in the passages (the first on a tie); None if none occur."""
    texts = [normal(t) for t in found.values()]
    best, best_score = None, 0
    for article in articles:
        score = sum(text.count(normal(phrase)) for text in texts for phrase in article.match)
        if score > best_score:
            best, best_score = article, score
    return best


def cites(sentence: Sentence, found: dict[int, str]) -> list[int]:
    """The numbers of the passages that contain one of the sentence's source phrases."""
    phrases = [normal(p) for p in sentence.sources]
    return sorted(n for n, text in found.items() if any(p in normal(text) for p in phrases))


def render(article: Article, found: dict[int, str]) -> str:
    """The Markdown article for these passages: only sentences with a source among them, each citing its sources."""
    blocks = []
    for section in article.sections:
        lines: list[str] = []
        for sentence in section.sentences:
            numbers = cites(sentence, found)
            if not numbers:
                continue
            cited = f"{sentence.text} " + "".join(f"[{n}]" for n in numbers)
            if sentence.join and lines:
                lines[-1] += " " + cited
            else:
                lines.append(cited)
        if lines:
            blocks.append(f"## {section.heading}\n\n" + "\n\n".join(lines))
    return "\n\n".join(blocks)


def from_articles(path: str | Path = DEMO_ARTICLES) -> Responder:
    """A scripted model that answers each request with the article of the story its passages belong to."""
    articles = load_articles(path)

    def respond(body: dict) -> Reply:
        found = passages(body)
        article = choose(articles, found)
        text = render(article, found) if article else ""
        return Reply(content=text or UNUSABLE)

    return respond
