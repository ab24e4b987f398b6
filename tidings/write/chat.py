"""A client for any OpenAI-compatible chat-completions server (Ollama, vLLM, llama.cpp's server, LM Studio, OpenAI):
one non-streaming request, its reply's text and token counts, and a one-line `WriterUnavailable` for everything
that can go wrong on the way. The API key is read from the environment when a request is made and goes nowhere
but the request's Authorization header."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import httpx

from tidings.write import WriterUnavailable

_SHOWN = 120  # characters of a server's error message repeated in ours


class ServerUnreachable(WriterUnavailable):
    """The server did not answer at all (refused, unreachable, too slow): asking again in the same run would only
    wait as long again."""


@dataclass(frozen=True)
class Answer:
    text: str
    prompt_tokens: int | None = None  # from the reply's `usage`, when the server gives it
    completion_tokens: int | None = None


def complete(base_url: str, model: str, messages: list[dict[str, str]], timeout: float,
             api_key_env: str = "") -> Answer:
    """POST {base_url}/chat/completions and return the first choice's text."""
    url = f"{base_url.rstrip('/')}/chat/completions"
    key = os.environ.get(api_key_env, "") if api_key_env else ""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    body = {"model": model, "messages": messages, "stream": False, "temperature": 0}
    where = f"the model server at {base_url}"
    try:
        response = httpx.post(url, json=body, headers=headers, timeout=timeout)
    except httpx.TimeoutException:
        raise ServerUnreachable(f"{where} did not answer within {timeout:g} s") from None
    except httpx.HTTPError as exc:
        raise ServerUnreachable(_hide(f"{where} cannot be reached: {exc}", key)) from None
    if response.status_code != 200:
        raise WriterUnavailable(_hide(f"{where} answered HTTP {response.status_code}: {_said(response)}", key))
    try:
        data = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise WriterUnavailable(f"{where} answered with something that is not JSON") from None
    text = _content(data)
    if text is None:
        raise WriterUnavailable(f"{where} answered JSON without a chat completion in it")
    if not text.strip():
        raise WriterUnavailable(f"{where} answered with an empty reply")
    usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
    return Answer(text, _count(usage.get("prompt_tokens")), _count(usage.get("completion_tokens")))


def _content(data: object) -> str | None:
    """choices[0].message.content, if the reply has that shape."""
    try:
        content = data["choices"][0]["message"]["content"]  # type: ignore[index]
    except (KeyError, IndexError, TypeError):
        return None
    return content if isinstance(content, str) else ("" if content is None else None)


def _count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _said(response: httpx.Response) -> str:
    """The server's own error message, short and on one line."""
    try:
        data = response.json()
        message = data.get("error", data) if isinstance(data, dict) else data
        if isinstance(message, dict):
            message = message.get("message", message)
        said = str(message)
    except (json.JSONDecodeError, UnicodeDecodeError):
        said = response.text
    said = " ".join(said.split())
    return (said[:_SHOWN] + "…") if len(said) > _SHOWN else (said or response.reason_phrase)


def _hide(message: str, key: str) -> str:
    """A message with the key taken out, should a server or a library have repeated it."""
    return message.replace(key, "[key]") if key else message
