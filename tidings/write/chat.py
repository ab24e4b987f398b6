"""A client for any OpenAI-compatible chat-completions server (Ollama, vLLM, llama.cpp's server, LM Studio, OpenAI):
one non-streaming request, its reply's text and token counts, and a one-line `WriterUnavailable` for everything
that can go wrong on the way. The API key is read from the environment when a request is made and goes nowhere
but the request's Authorization header.

A server is untrusted like any source: its answer must come whole within the timeout (not merely keep trickling
bytes) and within MAX_REPLY_BYTES, or it is not read."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass

import httpx

from tidings.urls import without_login
from tidings.write import WriterUnavailable

MAX_REPLY_BYTES = 256 * 1024  # an article of a dozen sentences is a few kilobytes; a reply this big is not one
_SHOWN = 120  # characters of a server's error message repeated in ours
_FOR_THE_RUN = (401, 403, 404, 429)  # no key, a wrong key, no such model, too many requests: the same for every story


class ServerUnreachable(WriterUnavailable):
    """The server cannot answer any request of this run (refused, unreachable, too slow, the key or the model
    refused, rate-limited): asking again for the next story would only fail, or wait, as long again."""


@dataclass(frozen=True)
class Answer:
    text: str
    prompt_tokens: int | None = None  # from the reply's `usage`, when the server gives it
    completion_tokens: int | None = None
    finished: bool = True  # the model stopped by itself (not cut off at its length limit)


def complete(base_url: str, model: str, messages: list[dict[str, str]], timeout: float,
             api_key_env: str = "") -> Answer:
    """POST {base_url}/chat/completions and return the first choice's text."""
    url = f"{base_url.rstrip('/')}/chat/completions"
    key = os.environ.get(api_key_env, "") if api_key_env else ""
    where = f"the model server at {without_login(base_url)}"
    try:
        status, reason, raw = _post(url, {"model": model, "messages": messages, "stream": False, "temperature": 0},
                                    {"Authorization": f"Bearer {key}"} if key else {}, timeout)
    except WriterUnavailable as exc:
        raise type(exc)(_hide(f"{where} {exc}", key)) from None
    except httpx.TimeoutException:
        raise ServerUnreachable(f"{where} did not answer within {timeout:g} s") from None
    except (httpx.HTTPError, httpx.InvalidURL, UnicodeError, ValueError) as exc:
        # (A key or an address that cannot be sent at all is as unusable as a server that cannot be reached.)
        raise ServerUnreachable(_hide(f"{where} cannot be reached: {type(exc).__name__}: {exc}", key)) from None
    if status != 200:
        kind = ServerUnreachable if status in _FOR_THE_RUN else WriterUnavailable
        raise kind(_hide(f"{where} answered HTTP {status}: {_said(raw) or reason}", key))
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise WriterUnavailable(f"{where} answered with something that is not JSON") from None
    text = _content(data)
    if text is None:
        raise WriterUnavailable(f"{where} answered JSON without a chat completion in it")
    if not text.strip():
        raise WriterUnavailable(f"{where} answered with an empty reply")
    usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
    finish = _first(data).get("finish_reason")
    return Answer(text, _count(usage.get("prompt_tokens")), _count(usage.get("completion_tokens")),
                  finished=finish in (None, "stop"))


def _post(url: str, body: dict, headers: dict[str, str], timeout: float) -> tuple[int, str, bytes]:
    """(status, reason, body) of one POST that must be over within `timeout` seconds and MAX_REPLY_BYTES."""
    deadline = time.monotonic() + timeout
    with httpx.stream("POST", url, json=body, headers=headers, timeout=timeout) as response:
        chunks, size = [], 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > MAX_REPLY_BYTES:
                raise WriterUnavailable(f"answered more than {MAX_REPLY_BYTES // 1024} KB: not an article")
            if time.monotonic() > deadline:
                raise ServerUnreachable(f"did not finish its answer within {timeout:g} s")
            chunks.append(chunk)
        return response.status_code, response.reason_phrase, b"".join(chunks)


def _first(data: object) -> dict:
    try:
        choice = data["choices"][0]  # type: ignore[index]
    except (KeyError, IndexError, TypeError):
        return {}
    return choice if isinstance(choice, dict) else {}


def _content(data: object) -> str | None:
    """choices[0].message.content, if the reply has that shape."""
    message = _first(data).get("message")
    if not isinstance(message, dict) or "content" not in message:
        return None
    content = message["content"]
    return content if isinstance(content, str) else ("" if content is None else None)


def _count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _said(raw: bytes) -> str:
    """The server's own error message, short and on one line."""
    try:
        data = json.loads(raw)
        message = data.get("error", data) if isinstance(data, dict) else data
        if isinstance(message, dict):
            message = message.get("message", message)
        said = str(message)
    except (json.JSONDecodeError, UnicodeDecodeError):
        said = raw.decode("utf-8", "replace")
    said = " ".join(said.split())
    return (said[:_SHOWN] + "…") if len(said) > _SHOWN else said


def _hide(message: str, key: str) -> str:
    """A message with the key taken out, should a server or a library have repeated it."""
    return message.replace(key, "[key]") if key else message
