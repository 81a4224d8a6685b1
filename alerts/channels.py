"""The channels: a signed JSON webhook, an e-mail digest (text and HTML), Apprise URLs."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import smtplib
import ssl
import urllib.error
import urllib.request
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from html import escape
from typing import Any
from urllib.parse import unquote, urlsplit

from alerts.core import Delivery
from crawler.core.agreements import largest_in_mad
from crawler.settings import VERSION
from storage.queries import iso

TIMEOUT = 30


class ChannelError(Exception):
    """A channel that did not accept a delivery."""


def payload(d: Delivery) -> dict[str, Any]:
    """The webhook body: the alert, when, and the agreements as `veille agreements` rows."""
    body: dict[str, Any] = {"alert": d.alert, "sent_at": iso(d.sent_at), "agreements": d.agreements}
    if d.sources:
        body["sources"] = d.sources
    return body


def signature(secret: str, body: bytes) -> str:
    """The `X-Veille-Signature` header value: sha256=<hex HMAC of the body>."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def send_webhook(url: str, d: Delivery) -> None:
    """POST the JSON body; only a 2xx answer counts as delivered."""
    body = json.dumps(payload(d), ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json", "User-Agent": f"veille/{VERSION}"}
    if d.secret:
        headers["X-Veille-Signature"] = signature(d.secret, body)
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        raise ChannelError(f"{url} answered {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise ChannelError(f"{url}: {getattr(exc, 'reason', exc)}") from None
    if not 200 <= status < 300:
        raise ChannelError(f"{url} answered {status}")


# -- the digest, as text and HTML -------------------------------------------------------------


def amount_text(row: dict[str, Any]) -> str:
    """The largest amount in MDH, with the words the article used."""
    mad = largest_in_mad(row["amounts"])
    texts = [a.get("text") or "" for a in row["amounts"] if a.get("text")]
    if mad is None:
        return ""
    return f"{mad / 1e6:,.0f} MDH" + (f" ({texts[0]})" if texts else "")


def signatories(row: dict[str, Any]) -> list[str]:
    """The organisations that signed, else the parties as written."""
    return [o["name"] for o in row["organisations"]] or row["parties"]


def subject(d: Delivery) -> str:
    if d.sources:
        return f"veille · {d.alert}: {len(d.sources)} source(s) need a look"
    return f"veille · {d.alert}: {len(d.agreements)} agreement(s)"


def digest_text(d: Delivery) -> str:
    """The plain-text digest: each agreement's parties, type, sector, amount, evidence and
    the articles that reported it."""
    lines = [subject(d), ""]
    for row in d.agreements:
        lines.append("• " + (" / ".join(signatories(row)) or "(parties not named)"))
        lines.append(f"  type: {', '.join(row['types']) or '-'}")
        lines.append(f"  sector: {', '.join(row['sectors']) or '-'}")
        if amount := amount_text(row):
            lines.append(f"  amount: {amount}")
        lines.append(f"  « {row['evidence']} »")
        for a in row["articles"]:
            lines.append(f"  - [{a['source']}] {a['title']} <{a['url']}>")
        lines.append("")
    for s in d.sources:
        lines.append(f"• {s['source']}: {s['problem']}")
    return "\n".join(lines).rstrip() + "\n"


def _lang(language: str | None) -> str:
    dir_ = ' dir="rtl"' if language == "ar" else ' dir="ltr"'
    return f' lang="{escape(language or "fr")}"{dir_}'


def digest_html(d: Delivery) -> str:
    """The HTML digest; each article's title and each evidence sentence in its language,
    Arabic right to left."""
    parts = [
        '<!DOCTYPE html><html><head><meta charset="utf-8">',
        f"<title>{escape(subject(d))}</title></head><body>",
        f"<h1>{escape(subject(d))}</h1>",
    ]
    for row in d.agreements:
        first = row["articles"][0]["language"] if row["articles"] else None
        parts.append('<div class="agreement">')
        parts.append(
            f"<h2>{escape(' / '.join(signatories(row)) or '(parties not named)')}</h2><ul>"
        )
        parts.append(f"<li>type: {escape(', '.join(row['types']) or '-')}</li>")
        parts.append(f"<li>sector: {escape(', '.join(row['sectors']) or '-')}</li>")
        if amount := amount_text(row):
            parts.append(f"<li>amount: {escape(amount)}</li>")
        parts.append(f"</ul><blockquote{_lang(first)}>{escape(row['evidence'])}</blockquote><ul>")
        for a in row["articles"]:
            parts.append(
                f'<li{_lang(a["language"])}><a href="{escape(a["url"])}">{escape(a["title"] or a["url"])}'
                f"</a> ({escape(a['source'])})</li>"
            )
        parts.append("</ul></div>")
    if d.sources:
        parts.append("<ul>")
        parts += [f"<li>{escape(s['source'])}: {escape(s['problem'])}</li>" for s in d.sources]
        parts.append("</ul>")
    parts.append("</body></html>")
    return "".join(parts)


def send_email(address: str, d: Delivery) -> None:
    """The digest by SMTP: `VEILLE_SMTP_URL` (smtp://user:pass@host:port, smtps:// for TLS)
    from `VEILLE_MAIL_FROM`."""
    url = os.environ.get("VEILLE_SMTP_URL")
    if not url:
        raise ChannelError("VEILLE_SMTP_URL is not set (smtp://user:pass@host:port)")
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ChannelError("VEILLE_SMTP_URL must be smtp://host:port or smtps://host:port")
    sender = os.environ.get("VEILLE_MAIL_FROM") or f"veille@{parts.hostname}"
    message = EmailMessage()
    message["Subject"] = subject(d)
    message["From"] = formataddr(("veille", sender))
    message["To"] = address
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message.set_content(digest_text(d))
    message.add_alternative(digest_html(d), subtype="html")
    smtp_class = smtplib.SMTP_SSL if parts.scheme == "smtps" else smtplib.SMTP
    port = parts.port or (465 if parts.scheme == "smtps" else 25)
    kwargs: dict[str, Any] = {"timeout": TIMEOUT}
    if parts.scheme == "smtps":
        kwargs["context"] = ssl.create_default_context()
    try:
        with smtp_class(parts.hostname, port, **kwargs) as smtp:
            if parts.scheme == "smtp" and smtp.has_extn("starttls"):
                smtp.starttls(context=ssl.create_default_context())
            if parts.username:
                smtp.login(unquote(parts.username), unquote(parts.password or ""))
            smtp.send_message(message)
    except (smtplib.SMTPException, OSError) as exc:
        raise ChannelError(f"SMTP {parts.hostname}:{port}: {exc}") from None


def send_apprise(url: str, d: Delivery) -> None:
    """Slack, Telegram, ntfy, Matrix... through an Apprise URL."""
    import apprise

    notifier = apprise.Apprise()
    if not notifier.add(url):
        raise ChannelError("not an Apprise URL veille can use (see the Apprise wiki)")
    if not notifier.notify(
        title=subject(d), body=digest_text(d), body_format=apprise.NotifyFormat.TEXT
    ):
        raise ChannelError("the Apprise service did not accept the notification")


SENDERS = {"webhook": send_webhook, "email": send_email, "notify": send_apprise}


def send(kind: str, target: str, d: Delivery) -> None:
    """Deliver through one channel; ChannelError (or another exception) if not accepted."""
    SENDERS[kind](target, d)
