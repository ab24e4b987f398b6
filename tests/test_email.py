"""The email edition: the stories updated since the last edition, sent through a real SMTP server on 127.0.0.1 or
written to an .eml file, made from a store the real pipeline filled from small local feeds."""

from __future__ import annotations

import email
import json
import shutil
import socket
import threading
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select, update

from tests.conftest import ARTICLE_A, ARTICLE_A2, ARTICLE_B, NOW, make_config, rss
from tidings.errors import EmailError, TidingsError
from tidings.pipeline import run
from tidings.publish.email import (
    LAST_EDITION,
    build_edition,
    default_path,
    edition_since,
    email_edition,
    last_edition,
    write_edition,
)
from tidings.store import Store
from tidings.store import schema as t

SITE = "https://news.example/"
TO = "Reader <reader@example.org>"
DAY2 = NOW + timedelta(days=1)  # the second run, which revises the barrier story
HOSTILE = "Comet <script>alert(1)</script> visible this weekend"
CLOSED = ("<p>Nemotron 3 Super puts up numbers that rival closed models like gpt-oss-120b and Qwen3.5. The lab "
          "released the model weights on Tuesday for anyone to download. Researchers at the lab said the list of "
          "benchmarks keeps growing every month.</p>")
BARRIER = {"title": "Port Ellery approves tidal barrier", "link": "https://wire.example/barrier", "text": ARTICLE_A,
           "date": "Fri, 13 Mar 2026 09:00:00 +0000"}
# The title is escaped twice in the feed, so the text the feed carries is literally "<script>...".
COMET = {"title": HOSTILE.replace("<", "&amp;lt;").replace(">", "&amp;gt;"), "link": "https://wire.example/comet",
         "text": ARTICLE_B, "date": "Fri, 13 Mar 2026 10:00:00 +0000"}
NEMOTRON = {"title": "Nemotron 3 Super rivals closed models", "link": "https://wire.example/nemotron",
            "text": CLOSED, "date": "Fri, 13 Mar 2026 11:00:00 +0000"}
FOLLOW_UP = {"title": "Tidal barrier building to begin in October", "link": "https://wire.example/barrier-2",
             "text": ARTICLE_A2, "date": "Sat, 14 Mar 2026 09:00:00 +0000"}
DIGESTS = [{"slug": "news", "title": "News", "keywords": ["harbour", "barrier", "model", "benchmarks"]},
           {"slug": "sky", "title": "Sky watch", "keywords": ["comet", "telescope"]}]


# --- a store, a mail server --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Path]:
    """Stores the real pipeline made from one local feed: after the first run (three new stories in two digests)
    and after the second, a day later (the barrier story revised with a follow-up)."""
    folder = tmp_path_factory.mktemp("email")
    feed = folder / "feeds" / "wire.rss"
    feed.parent.mkdir()
    feed.write_text(rss([BARRIER, COMET, NEMOTRON]))
    config = make_config(folder, [{"url": str(feed), "name": "Wire"}], DIGESTS, fetch_full_text=False)
    out = {}
    store = Store(str(folder / "live.db"))
    try:
        run(config, store, now=NOW, publish=False)
        out["day1"] = _snapshot(store, folder / "day1.db")
        feed.write_text(rss([BARRIER, COMET, NEMOTRON, FOLLOW_UP]))
        run(config, store, now=DAY2, publish=False)
        out["day2"] = _snapshot(store, folder / "day2.db")
    finally:
        store.close()
    return out


def _snapshot(store: Store, path: Path) -> Path:
    with store.engine.connect() as conn:  # a consistent copy of the database, WAL and all
        conn.exec_driver_sql(f"VACUUM INTO '{path}'")
    return path


def _open(built: dict[str, Path], day: str, tmp_path: Path):
    path = tmp_path / f"{day}.db"
    shutil.copy(built[day], path)
    store = Store(str(path))
    yield store
    store.close()


@pytest.fixture
def day1(built, tmp_path):
    yield from _open(built, "day1", tmp_path)


@pytest.fixture
def day2(built, tmp_path):
    yield from _open(built, "day2", tmp_path)


class Collector:
    """An SMTP handler that keeps every message it accepts."""

    def __init__(self, refuse: str | None = None) -> None:
        self.envelopes: list = []
        self.refuse = refuse

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse:
            return self.refuse
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def messages(self) -> list[EmailMessage]:
        return [email.message_from_bytes(e.content, policy=policy.default) for e in self.envelopes]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(handler: Collector):
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield handler, f"127.0.0.1:{controller.port}"
    finally:
        controller.stop()


@pytest.fixture
def mail_server():
    """(collector, "host:port") of a real SMTP server on 127.0.0.1."""
    yield from _serve(Collector())


@pytest.fixture
def refusing_server():
    yield from _serve(Collector(refuse="550 5.1.1 no such mailbox here"))


@pytest.fixture
def closed_port():
    """A port on 127.0.0.1 that refuses connections: bound (so nothing else takes it) but not listening."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        yield s.getsockname()[1]


def story_named(store: Store, word: str):
    return next(s for s in store.stories() if word in s.title.lower())


def parts(message: EmailMessage) -> tuple[str, str]:
    """(plain text, HTML) of an edition, checking it is multipart/alternative with exactly those two parts."""
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    return message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content()


def words(text: str) -> str:
    """Text with its line wrapping undone, to look for a sentence in the wrapped plain-text part."""
    return " ".join(text.split())


# --- what an edition holds ---------------------------------------------------------------------------------------

def test_an_edition_is_sent_over_smtp_with_what_changed_and_the_links(day2, mail_server):
    handler, smtp = mail_server
    barrier = story_named(day2, "barrier")
    latest = day2.latest_revision(barrier.id)
    assert latest.number == 2 and latest.changes and latest.lede
    now = DAY2 + timedelta(hours=1)

    result = email_edition(day2, since=NOW + timedelta(hours=1), to=TO, now=now, site_url=SITE, smtp=smtp)

    assert result.sent_via == smtp and result.path is None and result.edition.story_ids == (barrier.id,)
    ([envelope], [message]) = handler.envelopes, handler.messages()
    assert envelope.rcpt_tos == ["reader@example.org"]
    assert message["Subject"] == "tidings: Port Ellery approves tidal barrier" == result.edition.subject
    assert message["To"] == TO and message["Date"] == format_datetime(now)
    text, html = parts(message)
    story_url = f"{SITE}news/stories/{barrier.id}.html"
    for part in (words(text), html):
        assert "Port Ellery approves tidal barrier" in part and latest.lede.text in part
        assert all(change in part for change in latest.changes)
        assert story_url in part and f"{SITE}news/stories/{barrier.id}/r2.html" in part
        assert "https://wire.example/barrier-2" in part and f"{SITE}news/index.html" in part
        assert "Comet" not in part and "Nemotron" not in part  # not revised since: not in this edition
    assert f'<a href="{story_url}"' in html
    assert last_edition(day2) == now


def test_a_first_edition_has_new_stories_by_digest_with_their_contradicted_claims(day2, tmp_path):
    out = tmp_path / "editions" / "first.eml"
    result = email_edition(day2, since=NOW - timedelta(days=1), to=TO, now=DAY2, site_url=SITE, out=out)

    assert result.path == out and result.sent_via is None
    message = email.message_from_bytes(out.read_bytes(), policy=policy.default)
    assert out.read_bytes() == result.edition.message.as_bytes(policy=policy.SMTP)
    assert [p.name for p in out.parent.iterdir()] == ["first.eml"]  # no temporary file left beside it
    text, html = parts(message)
    # By digest (News, then Sky watch), the most widely covered story first: the barrier has two articles.
    barrier, nemotron, comet = (story_named(day2, w) for w in ("barrier", "nemotron", "comet"))
    assert result.edition.story_ids == (barrier.id, nemotron.id, comet.id)
    assert text.index("NEWS") < text.index("Port Ellery") < text.index("Nemotron") < text.index("SKY WATCH")
    assert text.index("SKY WATCH") < text.index("Comet")
    assert message["Subject"] == "tidings: Port Ellery approves tidal barrier (+2 more)"
    # A story new since the last edition is new as a whole: no "what changed", not even its first revision's.
    assert "First version" not in text and "What changed" not in text and "New story" in text
    # The claims the knowledge base contradicts, sentence and claim in words, with the evidence's link.
    check = next(f for f in day2.latest_revision(nemotron.id).fact_check if f.model == "gpt-oss-120b")
    assert check.verdict == "contradicted" and check.evidence
    for part in (words(text), html):
        assert "rival closed models like gpt-oss-120b and Qwen3.5." in part
        assert "Says gpt-oss-120b is closed." in part and "Says Qwen3.5 is closed." in part
        assert check.evidence[0][0] in part and check.evidence[0][1] in part


def test_the_html_part_escapes_hostile_text_and_the_text_part_keeps_it_as_text(day1):
    edition = build_edition(day1, NOW - timedelta(days=1), NOW, SITE, TO)
    text, html = parts(edition.message)
    assert story_named(day1, "comet").title == HOSTILE  # the feed's text reached the store as it was
    assert "<script" not in html.lower()
    assert "Comet &lt;script&gt;alert(1)&lt;/script&gt; visible this weekend" in html
    assert HOSTILE in text and "&lt;" not in text  # the text part is not HTML: nothing to escape


def test_links_that_are_not_web_links_and_control_characters_never_reach_an_edition(day1):
    comet = story_named(day1, "comet")
    with day1.engine.begin() as conn:
        row = conn.execute(select(t.revisions.c.id, t.revisions.c.body)
                           .where(t.revisions.c.story_id == comet.id)).one()
        body = row.body if isinstance(row.body, dict) else json.loads(row.body)
        body["sources"][0]["url"] = "javascript:alert(document.cookie)"
        conn.execute(update(t.revisions).where(t.revisions.c.id == row.id)
                     .values(body=body, headline="Comet\x01 visible\x0b this\x7f weekend"))
    edition = build_edition(day1, NOW - timedelta(days=1), NOW, SITE, TO)
    text, html = parts(edition.message)
    for part in (text, html, edition.subject):
        assert "javascript:" not in part
        assert not any(ord(c) < 32 and c not in "\t\n\r" or c == "\x7f" for c in part)
    assert "Comet visible this weekend" in html and "Comet visible this weekend" in text
    escaped = HOSTILE.replace("<", "&lt;").replace(">", "&gt;")
    assert f"Wire — {escaped}</li>" in html  # the source's title, shown but not linked


def test_a_revision_made_after_now_waits_for_the_next_edition(day2):
    barrier = story_named(day2, "barrier")
    first = build_edition(day2, NOW - timedelta(days=1), NOW + timedelta(hours=1), SITE, TO)
    text, _ = parts(first.message)
    assert barrier.id in first.story_ids and "Revision 2" not in text and "barrier-2" not in text
    second = build_edition(day2, NOW + timedelta(hours=1), DAY2 + timedelta(hours=1), SITE, TO)
    text, _ = parts(second.message)
    assert second.story_ids == (barrier.id,) and "Revision 2" in text and "barrier-2" in text


# --- when there is nothing to send -------------------------------------------------------------------------------

def test_no_edition_when_nothing_changed_since_the_last_one(day2, mail_server, tmp_path, monkeypatch):
    handler, smtp = mail_server
    monkeypatch.chdir(tmp_path)
    window = timedelta(days=2)
    assert edition_since(day2, DAY2, window) == DAY2 - window  # no edition yet: the window
    first = email_edition(day2, edition_since(day2, DAY2, window), TO, DAY2, SITE, smtp=smtp)
    assert first.stories == 3 and len(handler.envelopes) == 1

    later = DAY2 + timedelta(hours=6)
    assert edition_since(day2, later, window) == DAY2  # the last edition, not the window's start
    again = email_edition(day2, edition_since(day2, later, window), TO, later, SITE, smtp=smtp)
    assert again.edition is None and again.stories == 0
    assert len(handler.envelopes) == 1 and list(tmp_path.glob("*.eml")) == []
    assert last_edition(day2) == DAY2  # nothing went out: the last edition is still the one before
    # After a long pause the window, not the old edition, bounds the next one.
    assert edition_since(day2, DAY2 + timedelta(days=5), window) == DAY2 + timedelta(days=3)


def test_the_default_file_is_named_by_the_day_in_the_current_folder(day1, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = email_edition(day1, NOW - timedelta(days=1), TO, NOW, SITE)
    assert result.path == Path("edition-2026-03-20.eml")
    assert (tmp_path / "edition-2026-03-20.eml").read_bytes() == result.edition.message.as_bytes(policy=policy.SMTP)
    assert day1.meta(LAST_EDITION) == NOW.isoformat()


def test_write_edition_replaces_a_file_whole_and_names_one_it_cannot_write(day1, tmp_path):
    edition = build_edition(day1, NOW - timedelta(days=1), NOW, SITE, TO)
    target = tmp_path / "out" / "edition.eml"
    target.parent.mkdir()
    target.write_bytes(b"an older edition")
    assert write_edition(edition, target) == target
    assert email.message_from_bytes(target.read_bytes(), policy=policy.default)["Subject"] == edition.subject
    assert [p.name for p in target.parent.iterdir()] == ["edition.eml"]  # no temporary file left beside it
    blocked = target / "inside.eml"  # under a file: cannot be written
    with pytest.raises(EmailError) as raised:
        write_edition(edition, blocked)
    message = str(raised.value)
    assert "\n" not in message and message.startswith(f"{blocked}: cannot write the edition")


# --- what the user gets wrong, and servers that fail -------------------------------------------------------------

def _one_line_error(call) -> str:
    with pytest.raises(TidingsError) as raised:
        call()
    assert isinstance(raised.value, EmailError)
    message = str(raised.value)
    assert message and "\n" not in message and "\r" not in message and "Traceback" not in message
    return message


@pytest.mark.parametrize("to", ["reader", "", "reader@", "@example.org", "reader@example.org\nBcc: x@evil.example",
                                "one@example.org, two@example.org", "two words@example.org"])
def test_an_address_that_is_not_one_email_address_is_refused(day2, mail_server, to, tmp_path, monkeypatch):
    handler, smtp = mail_server
    monkeypatch.chdir(tmp_path)
    message = _one_line_error(lambda: email_edition(day2, NOW - timedelta(days=1), to, DAY2, SITE, smtp=smtp))
    assert message.startswith("--to ") and "not an email address" in message
    assert handler.envelopes == [] and last_edition(day2) is None


@pytest.mark.parametrize("smtp", ["localhost", "localhost:", "localhost:smtp", "localhost:0", "localhost:99999",
                                  ":25", "local host:25", "localhost:²5"])
def test_a_server_that_is_not_host_and_port_is_refused(day2, smtp, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    message = _one_line_error(lambda: email_edition(day2, NOW - timedelta(days=1), TO, DAY2, SITE, smtp=smtp))
    assert message.startswith("--smtp ") and "host:port" in message
    assert list(tmp_path.glob("*.eml")) == [] and last_edition(day2) is None


def test_an_unreachable_server_is_named_and_the_stories_wait_for_the_next_edition(day2, closed_port, tmp_path,
                                                                                 monkeypatch):
    monkeypatch.chdir(tmp_path)
    smtp = f"127.0.0.1:{closed_port}"
    message = _one_line_error(lambda: email_edition(day2, NOW - timedelta(days=1), TO, DAY2, SITE, smtp=smtp))
    assert message.startswith(f"{smtp}: cannot send the edition (") and "refused" in message.lower()
    assert last_edition(day2) is None and list(tmp_path.glob("*.eml")) == []


def test_an_edition_written_to_a_folder_or_before_a_failed_send_says_where_it_is(day2, closed_port, tmp_path):
    folder = tmp_path / "editions"
    folder.mkdir()
    smtp = f"127.0.0.1:{closed_port}"
    message = _one_line_error(lambda: email_edition(day2, NOW - timedelta(days=1), TO, DAY2, SITE, smtp=smtp,
                                                    out=folder))
    written = folder / default_path(DAY2).name
    assert written.is_file() and message.endswith(f"it is written to {written}; check --smtp and send again")
    assert last_edition(day2) is None  # not sent: the next edition carries these stories too
    result = email_edition(day2, NOW - timedelta(days=1), TO, DAY2, SITE, out=f"{tmp_path}/new/")
    assert result.path == tmp_path / "new" / default_path(DAY2).name and result.path.is_file()


def test_a_server_that_refuses_the_recipient_is_named_with_its_answer(day2, refusing_server):
    handler, smtp = refusing_server
    message = _one_line_error(lambda: email_edition(day2, NOW - timedelta(days=1), TO, DAY2, SITE, smtp=smtp))
    assert message.startswith(f"{smtp}: cannot send the edition") and "550" in message
    assert "no such mailbox here" in message and "reader@example.org" in message
    assert handler.envelopes == [] and last_edition(day2) is None


def test_a_site_url_that_is_not_a_web_address_is_refused(day2):
    message = _one_line_error(lambda: build_edition(day2, NOW - timedelta(days=1), DAY2, "file:///srv/site/", TO))
    assert message.startswith("site_url 'file:///srv/site/'")


def test_a_time_without_a_zone_is_taken_as_utc(day2):
    naive = build_edition(day2, (NOW + timedelta(hours=1)).replace(tzinfo=None), DAY2.replace(tzinfo=None), SITE, TO)
    aware = build_edition(day2, NOW + timedelta(hours=1), DAY2, SITE, TO)
    assert naive.story_ids == aware.story_ids == (story_named(day2, "barrier").id,)
    assert naive.message["Date"] == aware.message["Date"] == format_datetime(datetime(2026, 3, 21, 12, tzinfo=UTC))


def test_the_email_command_sends_once_then_has_nothing_to_send(day1, mail_server, tmp_path):
    from click.testing import CliRunner

    from tidings.cli import cli

    collector, smtp = mail_server
    day1.close()
    base = ["--db", str(tmp_path / "day1.db"), "email"]
    args = [*base, "--to", "reader@example.org", "--since", "5000d", "--smtp", smtp]
    first = CliRunner().invoke(cli, args)
    assert first.exit_code == 0, first.output
    assert first.output.strip() == f"edition of 3 stories sent to reader@example.org through {smtp}"
    assert len(collector.messages()) == 1
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 0 and again.output.startswith(
        "nothing to send: no story was updated since the last edition, at ")
    assert len(collector.messages()) == 1
    bad = CliRunner().invoke(cli, [*base, "--to", "nobody"])
    assert bad.exit_code == 1
    assert bad.output.strip() == "Error: --to 'nobody': not an email address; give one address, like news@example.org"


# --- a mail server that wants encryption and a login -------------------------------------------------------------

PASSWORD = "correct horse battery staple"


class Gatekeeper:
    """Accepts the login `news` / PASSWORD only, and remembers who logged in."""

    def __init__(self) -> None:
        self.logins: list[str] = []

    def __call__(self, server, session, envelope, mechanism, auth_data):
        from aiosmtpd.smtp import AuthResult, LoginPassword

        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            b"news", PASSWORD.encode())
        if ok:
            self.logins.append(auth_data.login.decode())
        return AuthResult(success=ok, handled=False)  # (handled: aiosmtpd answers a failure with 535 itself)


@pytest.fixture(scope="module")
def certificate_authority(tmp_path_factory):
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    folder = tmp_path_factory.mktemp("tls")
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    return ca, folder / "ca.pem"


def _tls_server(certificate_authority, monkeypatch, implicit: bool):
    import ssl

    ca, ca_file = certificate_authority
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(context)
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))  # the client trusts this test's authority, and only it
    handler, gate = Collector(), Gatekeeper()
    port = _free_port()
    if implicit:
        monkeypatch.setattr("tidings.publish.email.IMPLICIT_TLS_PORTS", frozenset({port}))
        # (The server knows nothing of TLS it did not negotiate itself: it is told not to ask for STARTTLS.)
        controller = Controller(handler, hostname="127.0.0.1", port=port, ssl_context=context,
                                server_hostname="localhost", authenticator=gate, auth_required=True,
                                auth_require_tls=False, auth_exclude_mechanism=["LOGIN"])
    else:
        controller = Controller(handler, hostname="127.0.0.1", port=port, tls_context=context,
                                require_starttls=True, authenticator=gate, auth_required=True, auth_require_tls=True,
                                auth_exclude_mechanism=["LOGIN"])
    controller.start()
    return controller, handler, gate, f"localhost:{port}"


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
@pytest.mark.parametrize("implicit", [False, True], ids=["STARTTLS", "TLS from the start"])
def test_an_edition_goes_encrypted_to_a_server_that_wants_a_login(day2, certificate_authority, monkeypatch,
                                                                   implicit):
    controller, handler, gate, smtp = _tls_server(certificate_authority, monkeypatch, implicit)
    try:
        result = email_edition(day2, since=NOW + timedelta(hours=1), to=TO, now=DAY2, site_url=SITE, smtp=smtp,
                               login=("news", PASSWORD))
    finally:
        controller.stop()
    assert result.sent_via == smtp and gate.logins == ["news"] and len(handler.messages()) == 1


def test_a_wrong_password_or_an_untrusted_certificate_is_one_line(day2, certificate_authority, monkeypatch,
                                                                  tmp_path):
    controller, handler, gate, smtp = _tls_server(certificate_authority, monkeypatch, implicit=False)
    try:
        with pytest.raises(EmailError) as wrong:
            email_edition(day2, since=NOW + timedelta(hours=1), to=TO, now=DAY2, site_url=SITE, smtp=smtp,
                          login=("news", "guess"))
        monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "nothing-trusted.pem"))
        (tmp_path / "nothing-trusted.pem").write_text("")
        with pytest.raises(EmailError) as untrusted:
            email_edition(day2, since=NOW + timedelta(hours=1), to=TO, now=DAY2, site_url=SITE, smtp=smtp,
                          login=("news", PASSWORD))
    finally:
        controller.stop()
    assert "login as 'news' refused: 535" in str(wrong.value) and "guess" not in str(wrong.value)
    assert "no secure connection: CERTIFICATE_VERIFY_FAILED" in str(untrusted.value)
    assert PASSWORD not in str(untrusted.value) and not handler.messages() and gate.logins == []
    assert edition_since(day2, DAY2, timedelta(days=1)) == DAY2 - timedelta(days=1)  # nothing marked as sent


def test_the_email_command_logs_in_with_the_password_from_the_environment(day1, certificate_authority,
                                                                           monkeypatch, tmp_path):
    from click.testing import CliRunner

    from tidings.cli import cli

    controller, handler, gate, smtp = _tls_server(certificate_authority, monkeypatch, implicit=False)
    day1.close()
    args = ["--db", str(tmp_path / "day1.db"), "email", "--to", TO, "--since", "5000d", "--smtp", smtp,
            "--smtp-user", "news"]
    try:
        missing = CliRunner().invoke(cli, args)
        monkeypatch.setenv("TIDINGS_SMTP_PASSWORD", PASSWORD)
        sent = CliRunner().invoke(cli, args)
    finally:
        controller.stop()
    assert missing.exit_code == 1 and missing.output.strip() == (
        "Error: --smtp-user 'news' needs the password in the environment variable TIDINGS_SMTP_PASSWORD; set it "
        "(or name another with --smtp-password-env)")
    assert sent.exit_code == 0, sent.output
    assert gate.logins == ["news"] and len(handler.messages()) == 1 and PASSWORD not in sent.output


def test_without_a_login_an_untrusted_certificate_still_gets_the_edition(day2, certificate_authority, monkeypatch,
                                                                           tmp_path):
    # A local relay's certificate is often self-signed: with nothing secret to send, the edition goes encrypted
    # all the same (as mail servers pass mail to one another), not refused.
    import ssl

    ca, _ = certificate_authority
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(context)
    (tmp_path / "nothing-trusted.pem").write_text("")
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "nothing-trusted.pem"))
    handler = Collector()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port(), tls_context=context,
                            require_starttls=True)
    controller.start()
    try:
        email_edition(day2, since=NOW + timedelta(hours=1), to=TO, now=DAY2, site_url=SITE,
                      smtp=f"localhost:{controller.port}")
    finally:
        controller.stop()
    assert len(handler.messages()) == 1


def test_a_server_that_only_speaks_helo_gets_the_edition(day2):
    # An old server answers EHLO with an error: the client greets it the older way, as smtplib alone would.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    got: list[bytes] = []

    def serve() -> None:
        conn, _ = listener.accept()
        with conn, conn.makefile("rb") as lines:
            conn.sendall(b"220 old.example ready\r\n")
            for line in lines:
                command = line[:4].upper()
                if command == b"EHLO":
                    conn.sendall(b"502 5.5.1 EHLO not understood\r\n")
                elif command == b"DATA":
                    conn.sendall(b"354 go ahead\r\n")
                    body = []
                    for data in lines:
                        if data == b".\r\n":
                            break
                        body.append(data)
                    got.append(b"".join(body))
                    conn.sendall(b"250 queued\r\n")
                elif command == b"QUIT":
                    conn.sendall(b"221 bye\r\n")
                    return
                else:  # HELO, MAIL, RCPT, RSET, NOOP
                    conn.sendall(b"250 ok\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        email_edition(day2, since=NOW + timedelta(hours=1), to=TO, now=DAY2, site_url=SITE,
                      smtp=f"127.0.0.1:{listener.getsockname()[1]}")
    finally:
        thread.join(5)
        listener.close()
    assert len(got) == 1 and b"Port Ellery approves tidal barrier" in got[0]
