import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tidings.dedupe import canonical_url, entry_keys
from tidings.model import Entry
from tidings.text import html_to_text, lead_tokens, sentences, tokens


def test_sentences_keep_decimals_abbreviations_and_model_names():
    text = "Dr. Ames said Qwen3.5 ran 2.2x faster. gpt-oss-120b is open-weight. It ships today!"
    assert sentences(text) == ["Dr. Ames said Qwen3.5 ran 2.2x faster.", "gpt-oss-120b is open-weight.",
                               "It ships today!"]


def test_paragraphs_always_end_sentences():
    assert sentences("A heading\n\nThe body starts here.") == ["A heading", "The body starts here."]


def test_tokens_keep_model_names_and_figures_whole():
    assert tokens("Qwen3.5-397B-A17B scored 87.8 on MMLU-Pro") == ["qwen3.5-397b-a17b", "scored", "87.8",
                                                                    "mmlu-pro"]


def test_html_to_text_drops_active_content():
    text = html_to_text('<p>Safe <b>text</b>.</p><script>alert(1)</script><img src=x onerror="bad()">'
                        '<p><a href="javascript:evil()">link</a> stays as words.</p>')
    assert text == "Safe text.\n\nlink stays as words."


@pytest.mark.parametrize("url, expected", [
    ("HTTPS://News.Example.COM/a/b/?utm_source=x&utm_medium=rss#top", "https://news.example.com/a/b"),
    ("https://news.example.com/a/b?fbclid=1&id=7&gclid=2", "https://news.example.com/a/b?id=7"),
    ("https://news.example.com:443/a/b/", "https://news.example.com/a/b"),
    ("https://news.example.com/a/b/amp/", "https://news.example.com/a/b"),
    ("https://news.example.com/a/b.amp.html", "https://news.example.com/a/b.html"),
    ("https://amp.news.example.com/a/b", "https://news.example.com/a/b"),
    ("https://news-example-com.cdn.ampproject.org/c/s/news.example.com/a/b", "https://news.example.com/a/b"),
    ("https://news.example.com/a/b?amp=1", "https://news.example.com/a/b"),
    ("https://news.example.com/a?b=2&a=1", "https://news.example.com/a?a=1&b=2"),
    # Not URLs that can be taken apart (a port out of range, a broken IPv6 address): compared as they are.
    ("https://news.example.com:99999/a#top", "https://news.example.com:99999/a"),
    ("http://[::1/a", "http://[::1/a"),
])
def test_canonical_url(url, expected):
    assert canonical_url(url) == expected


def test_local_guid_is_scoped_to_its_source_and_short_text_not_hashed():
    entry = Entry(url="https://a.example/1", title="Live", text="", publisher="A", guid="17")
    keys_a, _ = entry_keys(entry, 1)
    keys_b, _ = entry_keys(entry, 2)
    assert "guid:1:17" in keys_a and "guid:2:17" in keys_b
    assert not any(k.startswith("hash:") for k in keys_a)


_PIECES = st.sampled_from(list("abcxyz019 .-+_\n") + ["é", "e\u0301", "İ", "ﬁ", " the ", "qwen3.5", "\u0301"])


@settings(max_examples=300, deadline=None)
@example("x" * 60 + " tail", 1)  # the cut falls inside the first token
@example("word " * 7 + "qwen3" * 30 + ".5 end", 8)
@given(st.lists(_PIECES, max_size=1500).map("".join), st.integers(min_value=1, max_value=40))
def test_the_lead_tokens_of_a_text_are_its_first_tokens(text, n):
    assert lead_tokens(text, n) == tokens(text)[:n]


def test_a_run_with_nothing_new_needs_no_numpy():
    """Keys and content hashes are all a feed that repeats itself needs; MinHash (and numpy) wait for a new entry."""
    import subprocess
    import sys

    code = ("import sys; from tidings import dedupe; from tidings.model import Entry; "
            "dedupe.keyed(Entry(url='https://a.example/1', title='t', text='x ' * 200, publisher='p'), 1); "
            "dedupe.sign_all([]); print('numpy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_signatures_made_together_are_each_documents_minhash():
    """Many documents signed at once, in blocks (a long text in several), give each one's MinHash as defined:
    for each permutation, the least (a * x + b) mod p over the document's shingle hashes."""
    import random

    import numpy as np

    from tidings import minhash

    rng = random.Random(3)
    words = [f"w{n}" for n in range(400)]
    sizes = [3, 40, 90, 700, 60, 2 * minhash.SIGNATURE_CHUNK + 5, 15, 400, 90]
    documents = [(f"title {n}", " ".join(rng.choice(words) for _ in range(size))) for n, size in enumerate(sizes)]
    # a text of exactly one block of shingles, and of one more (distinct words: n words make n - 2 shingles)
    documents += [("", " ".join(f"x{n}" for n in range(minhash.SIGNATURE_CHUNK + extra))) for extra in (2, 3)]
    got = minhash.signatures(documents)
    for (title, text), signature in zip(documents, got, strict=True):
        hashes = minhash._shingle_hashes(title, text)
        if hashes is None:
            assert signature is None
            continue
        expected = np.array([min((int(a) * int(x) + int(b)) % int(minhash._PRIME) for x in hashes.tolist())
                             for a, b in zip(minhash._A, minhash._B, strict=True)], dtype=np.uint32)
        assert signature.dtype == np.uint32 and (signature == expected).all()
    assert got[0] is None and len(minhash._shingle_hashes(*documents[5])) > 2 * minhash.SIGNATURE_CHUNK
    assert [len(minhash._shingle_hashes(*d)) for d in documents[-2:]] == [minhash.SIGNATURE_CHUNK,
                                                                          minhash.SIGNATURE_CHUNK + 1]
