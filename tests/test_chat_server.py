"""The scripted chat-completions server (tests/chat_server.py) really speaks the OpenAI protocol over HTTP, and its
scripted model of the demo (tests/data/demo_articles.toml) writes a cited, faithful article for every demo story.

Everything stays on 127.0.0.1: the demo is run with name resolution refused for any other host.
"""

from __future__ import annotations

import json
import random
import re
import socket

import httpx
import pytest

from tests.chat_server import (
    DEMO_ARTICLES,
    UNUSABLE,
    ChatServer,
    Reply,
    always,
    choose,
    cites,
    from_articles,
    load_articles,
    normal,
    passages,
    render,
    sequence,
)
from tidings.demo import run_demo
from tidings.store import Store

KEY = "sk-test-0123456789abcdef"
HEADINGS = {"Summary", "What's new", "Background", "Perspectives", "Timeline", "What to watch"}
SENTENCE = re.compile(r"\s*(?P<text>[^\[\]]*?\S)\s*(?P<cites>(?:\[\d+\])+)")


def client(**kwargs) -> httpx.Client:
    return httpx.Client(trust_env=False, **kwargs)  # never a proxy from the environment


def chat_body(user: str, model: str = "test-model", system: str = "You write careful articles.") -> dict:
    return {"model": model, "temperature": 0,
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}]}


def post(server: ChatServer, body: dict, key: str = KEY, **kwargs) -> httpx.Response:
    with client(**kwargs) as c:
        return c.post(f"{server.base_url}/chat/completions", json=body, headers={"Authorization": f"Bearer {key}"})


# --- the protocol --------------------------------------------------------------------------------------------------

def test_a_normal_reply_is_a_chat_completion_object():
    body = chat_body("Write about the harbour barrier, please.", model="my-model")
    with ChatServer(always("The barrier was approved. [1]")) as server:
        assert server.base_url.startswith("http://127.0.0.1:") and server.base_url.endswith("/v1")
        resp = post(server, body)
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("application/json")
    data = resp.json()
    assert data["object"] == "chat.completion"
    assert isinstance(data["id"], str) and data["id"]
    assert isinstance(data["created"], int)
    assert data["model"] == "my-model"  # echoed
    [choice] = data["choices"]
    assert choice["index"] == 0
    assert choice["message"] == {"role": "assistant", "content": "The barrier was approved. [1]"}
    assert choice["finish_reason"] == "stop"
    prompt_words = len("You write careful articles.".split()) + len("Write about the harbour barrier, please.".split())
    assert data["usage"] == {"prompt_tokens": prompt_words, "completion_tokens": 5,
                             "total_tokens": prompt_words + 5}


def test_usage_can_be_given_or_left_out():
    with ChatServer(sequence([Reply.text("four words right here", prompt_tokens=120, completion_tokens=9),
                              Reply.text("no usage at all", usage=False)])) as server:
        given = post(server, chat_body("hello")).json()
        omitted = post(server, chat_body("hello")).json()
    assert given["usage"] == {"prompt_tokens": 120, "completion_tokens": 9, "total_tokens": 129}
    assert "usage" not in omitted
    assert omitted["choices"][0]["message"]["content"] == "no usage at all"


@pytest.mark.parametrize("status", [500, 503, 429, 401])
def test_an_error_status_comes_with_an_openai_error_body(status):
    reply = Reply.fail(status, "the model is overloaded", headers=(("Retry-After", "3"),))
    with ChatServer(always(reply)) as server:
        resp = post(server, chat_body("hello"))
    assert resp.status_code == status
    assert resp.headers["retry-after"] == "3"
    error = resp.json()["error"]
    assert error["message"] == "the model is overloaded"
    assert error["type"] == ("server_error" if status >= 500 else "invalid_request_error")


def test_a_delayed_reply_times_the_client_out_and_the_server_keeps_serving():
    with ChatServer(sequence([Reply.slow(30, "far too late"), Reply.text("on time")])) as server:
        with pytest.raises(httpx.TimeoutException):
            post(server, chat_body("first"), timeout=0.3)
        resp = post(server, chat_body("second"), timeout=10)
        assert resp.status_code == 200
        assert resp.json()["choices"][0]["message"]["content"] == "on time"
        assert [r.body["messages"][1]["content"] for r in server.chat_requests()] == ["first", "second"]
    # leaving the block did not wait for the pending 30-second reply, and nothing was raised by the dropped client


def test_a_pending_delayed_reply_does_not_hold_up_closing():
    with ChatServer(always(Reply.slow(60, "never sent"))) as server:
        with pytest.raises(httpx.TimeoutException):
            post(server, chat_body("hello"), timeout=0.2)
        assert len(server.requests) == 1
    assert server.errors == []


def test_a_raw_non_json_body():
    with ChatServer(always(Reply.garbage("<html><body>502 Bad Gateway</body></html>"))) as server:
        resp = post(server, chat_body("hello"))
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "text/html"
    with pytest.raises(json.JSONDecodeError):
        resp.json()


def test_empty_and_null_content_and_no_choices():
    with ChatServer(sequence([Reply.empty(), Reply(content=None), Reply.no_choices()])) as server:
        empty, null, none = (post(server, chat_body("hello")).json() for _ in range(3))
    assert empty["choices"][0]["message"]["content"] == ""
    assert empty["usage"]["completion_tokens"] == 0
    assert null["choices"][0]["message"]["content"] is None
    assert none["choices"] == []
    assert none["object"] == "chat.completion"


def test_a_plain_string_from_the_responder_is_normal_content():
    with ChatServer(lambda body: f"You sent {len(body['messages'])} messages.") as server:
        data = post(server, chat_body("hello")).json()
    assert data["choices"][0]["message"]["content"] == "You sent 2 messages."


def test_sequence_repeats_its_last_reply():
    with ChatServer(sequence(["one", Reply.text("two")])) as server:
        got = [post(server, chat_body("hello")).json()["choices"][0]["message"]["content"] for _ in range(4)]
    assert got == ["one", "two", "two", "two"]
    with pytest.raises(ValueError):
        sequence([])


def test_requests_are_recorded_with_their_headers_and_the_key_only_in_authorization():
    body = chat_body("Write it.", model="recorder")
    with ChatServer(always("Done. [1]")) as server:
        post(server, body)
        post(server, body, key="sk-other")
        seen = server.requests
    assert len(seen) == 2
    first = seen[0]
    assert first.method == "POST"
    assert first.path == "/v1/chat/completions"
    assert first.body == body
    assert first.headers["authorization"] == f"Bearer {KEY}"
    assert first.header("Authorization") == f"Bearer {KEY}"
    assert first.headers["content-type"] == "application/json"
    assert seen[1].header("authorization") == "Bearer sk-other"
    # the key travels in the Authorization header and nowhere else
    assert KEY not in first.path and KEY.encode() not in first.raw
    assert [name for name, value in first.headers.items() if KEY in value] == ["authorization"]


def test_only_chat_completions_is_served():
    with ChatServer(always("hello")) as server, client() as c:
        models = c.get(f"{server.base_url}/models")
        embeddings = c.post(f"{server.base_url}/embeddings", json={"input": "x"})
        root = c.get(server.url + "/")
        wrong_method = c.get(f"{server.base_url}/chat/completions")
        not_json = c.post(f"{server.base_url}/chat/completions", content=b"this is not json",
                          headers={"Content-Type": "application/json"})
        recorded = [(r.method, r.path) for r in server.requests]
        chat = server.chat_requests()
    for resp in (models, embeddings, root):
        assert resp.status_code == 404
        assert "error" in resp.json()
    assert wrong_method.status_code == 405 and wrong_method.headers["allow"] == "POST"
    assert not_json.status_code == 400 and "error" in not_json.json()
    assert recorded == [("GET", "/v1/models"), ("POST", "/v1/embeddings"), ("GET", "/"),
                        ("GET", "/v1/chat/completions"), ("POST", "/v1/chat/completions")]
    assert len(chat) == 2 and chat[1].body is None and chat[1].raw == b"this is not json"


def test_a_failing_responder_gives_a_500_and_is_recorded():
    def broken(body):
        raise RuntimeError("script error")

    with ChatServer(broken) as server:
        resp = post(server, chat_body("hello"))
    assert resp.status_code == 500
    assert "script error" in resp.json()["error"]["message"]
    assert [str(e) for e in server.errors] == ["script error"]


def test_passages_reads_the_numbered_lines_of_the_user_message():
    user = ("Sources:\n[1] Wire, 2026-03-13: A title. Some text [with brackets].\n"
            "  [12]   Other, 2026-03-14: Another. More text.  \nnot a passage [3]\n[x] nor this\n")
    body = {"messages": [{"role": "system", "content": "[9] not from the system prompt"},
                         {"role": "user", "content": user},
                         {"role": "user", "content": [{"type": "text", "text": "[4] Parts, 2026-03-15: T. Text."}]}]}
    assert passages(body) == {1: "Wire, 2026-03-13: A title. Some text [with brackets].",
                              12: "Other, 2026-03-14: Another. More text.",
                              4: "Parts, 2026-03-15: T. Text."}
    assert passages({}) == {}
    assert passages({"messages": "nonsense"}) == {}


# --- the scripted model of the demo ----------------------------------------------------------------------------------

def _local_only(real):
    def getaddrinfo(host, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name in ("localhost", "::1") or name.startswith("127."):
            return real(host, *args, **kwargs)
        raise socket.gaierror(socket.EAI_NONAME, f"{name}: the test allows no network outside 127.0.0.1")
    return getaddrinfo


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo's final state: for each story, its items (in store order)."""
    folder = tmp_path_factory.mktemp("chat-demo")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket, "getaddrinfo", _local_only(socket.getaddrinfo))
        run_demo(folder)
    store = Store(f"sqlite:///{folder / 'tidings.db'}")
    try:
        stories = {s.id: store.story_items(s.id) for s in store.stories()}
        items = {item.id: item for its in stories.values() for item in its}
        revisions = {sid: [r.item_ids for r in store.revisions(sid)] for sid in stories}
    finally:
        store.close()
    return {"stories": stories, "items": items, "revisions": revisions}


def passage_line(item) -> str:
    return f"{item.publisher}, {item.published.date().isoformat()}: {item.title}. {' '.join(item.text.split())}"


def numbered(items, seed: int) -> dict[int, str]:
    """The items as passages under numbers that are not simply 1..n, so a citation can only come from the request."""
    numbers = random.Random(seed).sample(range(1, 3 * len(items) + 1), len(items))
    return dict(zip(numbers, (passage_line(item) for item in items), strict=True))


def request_for(found: dict[int, str]) -> dict:
    lines = "\n".join(f"[{n}] {text}" for n, text in sorted(found.items()))
    return chat_body(f"Write the article for this story from these passages.\n\n{lines}\n\nCite every sentence.",
                     model="scripted-demo")


def article_sentences(markdown: str) -> list[tuple[str, str, list[int], int]]:
    """(heading, sentence, cited numbers, its position in its line) for every sentence; every line must parse."""
    out, heading = [], None
    for line in markdown.splitlines():
        if not line.strip():
            continue
        if line.startswith("## "):
            heading = line[3:].strip()
            assert heading in HEADINGS, line
            continue
        assert heading, f"a paragraph before any heading: {line!r}"
        parsed = list(SENTENCE.finditer(line))
        assert parsed and "".join(m.group(0) for m in parsed).strip() == line.strip(), f"unparsed: {line!r}"
        for position, m in enumerate(parsed):
            out.append((heading, m["text"], [int(n) for n in re.findall(r"\d+", m["cites"])], position))
    return out


@pytest.fixture(scope="module")
def articles():
    return load_articles(DEMO_ARTICLES)


@pytest.fixture(scope="module")
def matched(demo, articles):
    """Each scripted article with the demo story (id) its phrases pick, in the demo's final state."""
    pairs = {}
    for sid, items in demo["stories"].items():
        article = choose(articles, numbered(items, sid))
        assert article is not None, f"no scripted article for story {sid}: {items[0].title}"
        pairs[sid] = article
    return pairs


def test_the_script_covers_every_demo_story_once(demo, articles, matched):
    assert len(demo["stories"]) == 9
    assert len(articles) == len(demo["stories"])
    assert len({id(a) for a in matched.values()}) == len(articles), "two stories got the same article"
    for article in articles:
        assert 6 <= len(article.sentences()) <= 12, article.name
        assert {s.heading for s in article.sections} <= HEADINGS
        assert all(s.sources for s in article.sentences())


def test_every_demo_story_gets_a_cited_article_over_http(demo, matched):
    with ChatServer(from_articles()) as server, client(timeout=10) as c:
        two_in_a_line = 0
        for sid, items in demo["stories"].items():
            found = numbered(items, sid)
            resp = c.post(f"{server.base_url}/chat/completions", json=request_for(found),
                          headers={"Authorization": f"Bearer {KEY}"})
            assert resp.status_code == 200
            content = resp.json()["choices"][0]["message"]["content"]
            assert content != UNUSABLE and content.startswith("## ")
            sentences = article_sentences(content)
            assert len(sentences) >= 6, f"story {sid}: {len(sentences)} sentences"
            for _, text, numbers, _ in sentences:
                assert numbers and set(numbers) <= set(found), f"story {sid} cites outside the request: {text}"
                assert numbers == sorted(set(numbers))
            two_in_a_line += sum(1 for *_, position in sentences if position > 0)
            # the article is exactly the scripted one for this story
            assert content == render(matched[sid], found)
        assert len(server.chat_requests()) == len(demo["stories"])
    assert two_in_a_line > 0, "no paragraph holds two sentences on one line"


def test_every_source_phrase_is_in_an_item_of_its_story(demo, matched):
    for sid, article in matched.items():
        texts = [normal(passage_line(item)) for item in demo["stories"][sid]]
        for sentence in article.sentences():
            for phrase in sentence.sources:
                assert any(normal(phrase) in t for t in texts), f"{article.name}: no item has {phrase!r}"


NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
         "ten": 10, "eleven": 11, "twelve": 12, "twenty": 20, "hundred": 100}


def figures(text: str) -> set[float]:
    """The numbers in a text, in any of the forms used: 1,400 / 1400 / 41.90 / 41.9 / 'one' (million) ..."""
    out = {float(m.replace(",", "")) for m in NUMBER.findall(text)}
    return out | {float(WORDS[w]) for w in re.findall(r"[a-z]+", text.lower()) if w in WORDS}


def test_every_figure_of_a_sentence_is_in_a_passage_it_cites(demo, matched):
    for sid, article in matched.items():
        found = numbered(demo["stories"][sid], sid)
        for sentence in article.sentences():
            numbers = cites(sentence, found)
            assert numbers, f"{article.name}: {sentence.text}"
            cited = set().union(*(figures(found[n]) for n in numbers))
            missing = {m for m in NUMBER.findall(sentence.text) if float(m.replace(",", "")) not in cited}
            assert not missing, f"{article.name}: {sorted(missing)} in no cited passage of: {sentence.text}"


def test_earlier_revisions_get_shorter_articles(demo, articles, matched):
    for sid, revisions in demo["revisions"].items():
        assert revisions, sid
        counts = []
        for n, item_ids in enumerate(revisions):
            found = numbered([demo["items"][i] for i in item_ids if i in demo["items"]], 1000 + n)
            assert choose(articles, found) is matched[sid], f"revision {n + 1} of story {sid} got another article"
            counts.append(len(article_sentences(render(matched[sid], found))))
        assert counts[0] <= counts[-1] and counts[0] < len(matched[sid].sentences()), (sid, counts)


def test_a_request_about_nothing_in_the_script_gets_an_unusable_reply():
    body = request_for({1: "Harbour Wire, 2026-03-13: Tidal barrier approved. The harbour authority approved it."})
    with ChatServer(from_articles()) as server:
        content = post(server, body).json()["choices"][0]["message"]["content"]
    assert content == UNUSABLE and "[" not in content and "##" not in content
    assert from_articles()(chat_body("no passages at all")).content == UNUSABLE
