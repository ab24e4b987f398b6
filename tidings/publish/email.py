"""The email edition: one message with the stories updated since the last edition, for readers who would rather
have the news come to them than visit the site.

An edition is a multipart/alternative message: a plain-text part and an HTML part. The HTML is rendered by the
site's own Jinja environment (autoescaped, every printed value cleared of control characters) with inline styles
only, since mail clients ignore style sheets; the text part by the same environment with autoescaping off, since
"&lt;" in a text part is shown to the reader as it is. Every link goes through `tidings.urls.web_url`.

The edition is sent to an SMTP server or written to an `.eml` file, and the store remembers when it went out, so
the next edition can start where this one ended.
"""

from __future__ import annotations

import contextlib
import os
import smtplib
import socket
import ssl
import textwrap
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, make_msgid
from pathlib import Path

from jinja2 import Environment

from tidings.check.words import claim_words
from tidings.dates import as_utc
from tidings.errors import EmailError
from tidings.model import Digest, Revision, Story
from tidings.publish.feeds import one_line
from tidings.publish.pages import coverage, format_day, headline, rank
from tidings.publish.site import display_names, environment
from tidings.store import Store
from tidings.urls import is_loopback_host, web_url

LAST_EDITION = "email:last_edition"  # store meta key: when the last edition went out (ISO 8601)
SENDER = "tidings <tidings@localhost>"
SMTP_TIMEOUT = 30.0  # seconds to wait for the mail server before giving up
SOURCES_SHOWN = 5  # the latest sources listed per story; the story's page lists them all
_SUBJECT_HEADLINE = 90  # characters of the top headline in the subject
_TEXT_WIDTH = 76  # plain-text lines, as mail readers expect them
_CONTROLS = frozenset(chr(c) for c in (*range(0x20), 0x7F))


@dataclass(frozen=True)
class Edition:
    """One edition: the message (multipart/alternative, text and HTML), the stories in it in the order shown."""

    message: EmailMessage
    story_ids: tuple[int, ...]
    subject: str


@dataclass(frozen=True)
class EditionResult:
    """What `email_edition` did: the edition (None when no story was updated), and where it went."""

    edition: Edition | None
    since: datetime
    now: datetime
    sent_via: str | None = None  # "host:port" of the mail server it was sent through
    path: Path | None = None  # the .eml file it was written to

    @property
    def stories(self) -> int:
        return len(self.edition.story_ids) if self.edition else 0


# --- checking what the user gave ---------------------------------------------------------------------------------

def check_address(address: str, what: str = "--to") -> str:
    """`address` if it is one email address ("ann@example.org" or "Ann <ann@example.org>"), else `EmailError`
    naming `what` (the option or setting it came from)."""
    text = address.strip() if isinstance(address, str) else ""
    pairs = getaddresses([text]) if text and not _CONTROLS.intersection(text) else []
    _, addr = pairs[0] if len(pairs) == 1 else ("", "")
    local, at, domain = addr.rpartition("@")
    if not (at and local and domain) or any(c.isspace() for c in addr):
        raise EmailError(f"{what} {address!r}: not an email address; give one address, like news@example.org")
    return text


def parse_smtp(smtp: str) -> tuple[str, int]:
    """"host:port" -> (host, port); an IPv6 host is written in brackets: "[::1]:25". Else `EmailError`."""
    host, colon, port = smtp.strip().rpartition(":") if isinstance(smtp, str) else ("", "", "")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    valid_port = port.isascii() and port.isdigit() and 0 < int(port) < 65536
    if not (colon and host and valid_port) or any(c.isspace() or c in _CONTROLS for c in host):
        raise EmailError(f"--smtp {smtp!r}: not host:port; give the mail server as host:port, like localhost:25")
    return host, int(port)


def _site_base(site_url: str) -> str:
    base = web_url(site_url.rstrip("/") + "/" if isinstance(site_url, str) else "")
    if not base:
        raise EmailError(f"site_url {site_url!r}: not an absolute http(s) URL, so an edition could not link to the "
                         "site; set site_url in tidings.toml")
    return base


# --- what goes into an edition -----------------------------------------------------------------------------------

def build_edition(store: Store, since: datetime, now: datetime, site_url: str, to: str,
                  sender: str = SENDER) -> Edition | None:
    """The edition of the stories revised after `since` (up to `now`): by digest, the most important first, as
    on the digest's page. None when no story was revised: there is nothing to send."""
    to, sender = check_address(to), check_address(sender, "sender")
    since, now = as_utc(since), as_utc(now)
    base = _site_base(site_url)
    updated = _updated_stories(store, since, now)
    if not updated:
        return None
    groups = _groups(store, updated, since, base)
    order = [s for g in groups for s in g["stories"]]
    subject = _subject(order)
    context = {"subject": subject, "groups": groups, "count": len(order), "since": _moment(since),
               "now": _moment(now), "site": base}
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = to
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid("tidings", domain=_domain(sender))
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to a newsletter
    message.set_content(_text_environment().get_template("email.txt").render(context))
    message.add_alternative(environment().get_template("email.html").render(context), subtype="html")
    return Edition(message=message, story_ids=tuple(s["id"] for s in order), subject=subject)


def _updated_stories(store: Store, since: datetime, now: datetime) -> list[tuple[Story, list[Revision]]]:
    """Live stories with a revision made after `since` and by `now`, each with its revisions up to `now`.
    Revisions after `now` are left for the next edition, which starts at this one's `now`."""
    out = []
    for story in store.stories():
        # A story's 'updated' moves with every revision, and `stories()` lists the latest first, so the first
        # story not updated since the last edition ends the list of candidates.
        if story.updated <= since:
            break
        revisions = [r for r in store.revisions(story.id) if r.created <= now]
        if revisions and revisions[-1].created > since:
            out.append((story, revisions))
    return out


def _groups(store: Store, updated: list[tuple[Story, list[Revision]]], since: datetime, base: str) -> list[dict]:
    """The stories by digest (in the site's order of digests), each digest's ranked as on its page."""
    digests = {d.slug: d for d in store.digests()}
    by_digest: dict[str, list[dict]] = {}
    for story, revisions in updated:
        entry = _story_entry(story, revisions, since, base)
        entry["weight"] = coverage(store.story_coverage([story.id]).get(story.id, []))
        by_digest.setdefault(story.digest, []).append(entry)
    slugs = [slug for slug in digests if slug in by_digest] + sorted(set(by_digest) - set(digests))
    groups = []
    for slug in slugs:
        digest = digests.get(slug, Digest(slug, slug))
        ranked = rank(by_digest[slug])
        groups.append({"title": one_line(digest.title) or slug, "url": web_url(f"{base}{slug}/index.html"),
                       "stories": ranked})
    return groups


def _story_entry(story: Story, revisions: list[Revision], since: datetime, base: str) -> dict:
    latest = revisions[-1]
    fresh = [r for r in revisions if r.created > since]
    is_new = fresh[0].number == revisions[0].number  # its first revision is in this edition: all of it is news
    # Every change since the last edition, not only the latest revision's, so a story revised twice in between
    # reads as one account; a new story has no "what changed".
    changes = [] if is_new else list(dict.fromkeys(one_line(c) for r in fresh for c in r.changes if c.strip()))
    page = f"{base}{story.digest}/stories/{story.id}"
    # An edition is about what is new: a story's latest sources, not its first ones.
    shown = sorted(latest.sources, key=lambda c: (c.published, c.n), reverse=True)[:SOURCES_SHOWN]
    sources = len(latest.sources)
    meta = f"Updated {format_day(latest.created)} · {sources} source{'s' * (sources != 1)}"
    return {"id": story.id, "headline": one_line(headline(latest, story.id)), "url": web_url(f"{page}.html"),
            "revision_url": web_url(f"{page}/r{latest.number}.html"), "number": latest.number, "new": is_new,
            "meta": meta, "lede": one_line(latest.lede.text) if latest.lede else "", "changes": changes,
            "contradicted": _contradicted(latest),
            "sources": [{"publisher": one_line(c.publisher), "title": one_line(c.title) or "Untitled",
                         "url": web_url(c.url)} for c in shown],
            "more_sources": sources - len(shown), "updated_at": latest.created}


def _contradicted(revision: Revision) -> list[dict]:
    """The revision's contradicted claims by sentence: each sentence once, with its claims in words and the
    knowledge base's fact against each."""
    groups: dict[str, list[dict]] = {}
    for f in revision.fact_check:
        if f.verdict != "contradicted":
            continue
        claim = one_line(f.claim or claim_words(f, display_names()))
        # A sentence that only reports someone else's claim does not make it: say so, as the story's page does.
        said = (f"Reports that {one_line(f.attributed_to)} says {claim} (the source quotes it, it does not claim "
                "it).") if f.attributed_to else f"Says {claim}."
        fact, source = f.evidence[0] if f.evidence else ("", "")
        claims = groups.setdefault(one_line(f.sentence), [])
        if all(c["said"] != said for c in claims):
            claims.append({"said": said, "evidence": one_line(fact), "evidence_url": web_url(source)})
    return [{"sentence": sentence, "claims": claims} for sentence, claims in groups.items()]


def _subject(stories: list[dict]) -> str:
    top = stories[0]["headline"]
    if len(top) > _SUBJECT_HEADLINE:
        top = top[:_SUBJECT_HEADLINE].rsplit(" ", 1)[0] + "…"
    more = len(stories) - 1
    return f"tidings: {top}" + (f" (+{more} more)" if more else "")


def _text_environment() -> Environment:
    """The site's environment with autoescaping off, for the plain-text part (control characters are still
    taken out of every printed value by the site's finalize)."""
    env = environment().overlay(autoescape=False, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters = dict(env.filters)  # an overlay shares its parent's filters: add to a copy
    env.filters["fill"] = _fill
    return env


def _fill(text: str, indent: str = "", first: str | None = None) -> str:
    """A paragraph wrapped for a text mail; a long word (a URL) is never broken."""
    return textwrap.fill(text, _TEXT_WIDTH, initial_indent=indent if first is None else first,
                         subsequent_indent=indent, break_long_words=False, break_on_hyphens=False)


def _moment(value: datetime) -> str:
    value = value.astimezone(UTC)
    return f"{format_day(value)}, {value:%H:%M} UTC"


def _domain(address: str) -> str:
    addr = getaddresses([address])[0][1]
    return addr.rpartition("@")[2] or "localhost"


# --- sending and writing -----------------------------------------------------------------------------------------

IMPLICIT_TLS_PORTS = frozenset({465})  # ports where the connection is TLS from the first byte (SMTPS)


def send_edition(edition: Edition, smtp: str, user: str = "", password: str = "") -> None:
    """Send the edition through the SMTP server at "host:port", encrypted where the server allows it: TLS from
    the start on port 465, else STARTTLS whenever the server offers it, with its certificate checked. With `user`,
    log in first; a password is never sent unencrypted to another machine. A server that cannot be reached, or
    that refuses the login or the message, raises `EmailError` naming it."""
    host, port = parse_smtp(smtp)
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    context = ssl.create_default_context()
    if not user:
        # Nothing secret to protect but the edition itself: encrypted if the server can, as mail servers pass mail
        # to one another, whatever its certificate (a local relay's is often self-signed). A login is only sent
        # to a certificate that checks out.
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    implicit = port in IMPLICIT_TLS_PORTS
    server = None
    try:
        # Connected as it is made: then the host name is the one the server's certificate is checked against.
        server = smtplib.SMTP_SSL(host, port, timeout=SMTP_TIMEOUT, context=context) if implicit else \
            smtplib.SMTP(host, port, timeout=SMTP_TIMEOUT)
        if not implicit:
            if server.ehlo()[0] != 250:
                server.helo()  # a server that only speaks the older greeting offers no STARTTLS either
            if server.has_extn("starttls"):
                server.starttls(context=context)
                server.ehlo()
            elif user and not is_loopback_host(host):
                raise EmailError(_unsent(where, "it offers no STARTTLS, and the password would cross the network "
                                                "unencrypted"))
        if user:
            try:
                server.login(user, password)
            except smtplib.SMTPNotSupportedError as exc:
                raise EmailError(_unsent(where, f"it does not take logins ({_reason(exc)})")) from exc
        refused = server.send_message(edition.message)
        with contextlib.suppress(smtplib.SMTPException, OSError):
            server.quit()  # polite; the message is accepted by now, so a failure here changes nothing
    except smtplib.SMTPRecipientsRefused as exc:
        raise EmailError(_unsent(where, f"recipient refused: {_refusals(exc.recipients)}")) from exc
    except smtplib.SMTPAuthenticationError as exc:
        raise EmailError(_unsent(where, f"login as {user!r} refused: {exc.smtp_code} {_decoded(exc.smtp_error)}")) \
            from exc
    except ssl.SSLError as exc:
        raise EmailError(_unsent(where, f"no secure connection: {exc.reason or _reason(exc)}")) from exc
    except smtplib.SMTPResponseException as exc:
        raise EmailError(_unsent(where, f"the server answered {exc.smtp_code} {_decoded(exc.smtp_error)}")) from exc
    except socket.gaierror as exc:
        raise EmailError(_unsent(where, "no such host")) from exc
    except TimeoutError as exc:
        raise EmailError(_unsent(where, f"no answer within {SMTP_TIMEOUT:g} seconds")) from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise EmailError(_unsent(where, _reason(exc))) from exc
    finally:
        if server is not None:
            server.close()  # after a failure, no QUIT: a server that stopped answering would be waited for again
    if refused:  # accepted for some recipients only
        raise EmailError(_unsent(where, f"recipient refused: {_refusals(refused)}"))


def _unsent(where: str, why: str) -> str:
    return one_line(f"{where}: cannot send the edition ({why}); check --smtp, or write the edition to a file "
                     "with -o")[:500]


def _refusals(recipients: dict) -> str:
    return "; ".join(f"{addr} ({code} {_decoded(text)})" for addr, (code, text) in recipients.items())


def _decoded(text: bytes | str) -> str:
    return text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def write_edition(edition: Edition, path: str | Path) -> Path:
    """Write the edition as an .eml file, whole: under a temporary name beside it, then renamed over it, so no
    reader (or mail client) ever opens half of one. Returns the path written."""
    target = Path(path)
    data = edition.message.as_bytes(policy=policy.SMTP)  # RFC 5322 lines end in CRLF
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_bytes(data)
        os.replace(temporary, target)
    except OSError as exc:
        raise EmailError(f"{target}: cannot write the edition ({one_line(_reason(exc))}); choose a file you can "
                         "write with -o") from exc
    finally:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
    return target


def default_path(now: datetime) -> Path:
    """Where an edition goes when no file is named: edition-YYYY-MM-DD.eml in the current folder."""
    return Path(f"edition-{as_utc(now):%Y-%m-%d}.eml")


# --- the edition as the CLI asks for it --------------------------------------------------------------------------

def email_edition(store: Store, since: datetime, to: str, now: datetime, site_url: str, smtp: str | None = None,
                  out: str | Path | None = None, sender: str = SENDER,
                  login: tuple[str, str] | None = None) -> EditionResult:
    """Build the edition of the stories revised since `since` and send it through `smtp` ("host:port"), or write
    it to `out` (a file, or a folder to write it in; default: `default_path(now)`); with both, both; `login` is
    (user, password) for the mail server. Then remember `now` as the time of the last edition. With no story
    revised, nothing is sent or written, and nothing remembered.

    The store is held as a run holds it, so a run writing revisions meanwhile finishes first: its revisions
    (stamped with the run's start) are then in this edition, not missed by it and the next. So do not call this
    from inside a run."""
    to = check_address(to)
    if smtp is not None:
        parse_smtp(smtp)
    with store.run_lock():
        edition = build_edition(store, since, now, site_url, to, sender)
        if edition is None:
            return EditionResult(None, since, now)
        if out is not None and (str(out).endswith(os.sep) or Path(out).is_dir()):
            out = Path(out) / default_path(now).name  # a folder: the edition goes in it under its usual name
        path = write_edition(edition, out) if out is not None else None
        if smtp is not None:
            try:
                send_edition(edition, smtp, *(login or ()))
            except EmailError as exc:
                if path is None:
                    raise
                sent = str(exc).split("; check --smtp", 1)[0]
                raise EmailError(f"{sent}; it is written to {path}; check --smtp and send again") from exc
        else:
            path = path or write_edition(edition, default_path(now))
        # Only once it went out: a failed send leaves the next edition to carry these stories.
        store.set_meta(LAST_EDITION, as_utc(now).isoformat())
    return EditionResult(edition, since, now, sent_via=one_line(smtp) if smtp is not None else None, path=path)


def last_edition(store: Store) -> datetime | None:
    """When the last edition went out; None before the first (or if what is stored is not a time)."""
    value = store.meta(LAST_EDITION)
    try:
        return as_utc(datetime.fromisoformat(value)) if value else None
    except ValueError:
        return None


def edition_since(store: Store, now: datetime, window: timedelta) -> datetime:
    """Where the next edition starts: at the last edition, so none is missed and none repeated, but no earlier
    than `window` before `now`, so a first edition (or one after a long pause) is not the whole archive."""
    start = as_utc(now) - window
    last = last_edition(store)
    return max(start, last) if last is not None else start
