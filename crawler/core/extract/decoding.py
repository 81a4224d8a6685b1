"""Bytes to text: the declared charset when it holds, else a detected one; binary refused."""

from __future__ import annotations

import codecs
import logging
import re

from w3lib.encoding import html_to_unicode, read_bom, resolve_encoding, to_unicode

LOGGER = logging.getLogger(__name__)

# Bytes sampled for charset detection.
DETECT_SAMPLE_BYTES = 65_536


# A declared UTF-8 is not believed when more than this share of the non-ASCII characters
# it gives are U+FFFD (a stray bad byte in a UTF-8 page is not enough).
MAX_BAD_UTF8_SHARE = 0.3


# A "page" whose first characters hold more than this share of control characters or
# U+FFFD is binary content (an image or archive served as text/html), not HTML.
MAX_BINARY_SHARE = 0.05


BINARY_SAMPLE_CHARS = 4096


# What binary content decodes to: U+FFFD and the controls but tab, newline, CR and form feed
_BINARY_CHAR_RE = re.compile("[\ufffd\x00-\x08\x0b\x0e-\x1f]")


_META_CHARSET_RE = re.compile(
    r"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE
)


def _detect_encoding(body: bytes) -> str | None:
    sample = body[:DETECT_SAMPLE_BYTES]
    # a declaration further down than the 4 KB w3lib scans (long <head> full of scripts)
    match = _META_CHARSET_RE.search(sample.decode("latin-1"))
    if match:
        enc = resolve_encoding(match.group(1))
        if enc:
            return enc
    return _guess_encoding(sample)


def _is_utf8(sample: bytes) -> bool:
    """Strictly valid UTF-8 (an incomplete last character is fine: samples are cut)."""
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    except UnicodeDecodeError:
        return False
    return True


def _guess_encoding(sample: bytes) -> str:
    """The encoding of bytes whatever they declare: UTF-8, else charset_normalizer, else cp1252."""
    if _is_utf8(sample):  # most undeclared pages are UTF-8
        return "utf-8"
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(sample).best()
        if best is not None and best.encoding:
            return resolve_encoding(best.encoding) or best.encoding
    except Exception:  # detection is best effort
        LOGGER.debug("charset detection failed", exc_info=True)
    return "cp1252"


def _declaration_is_wrong(body: bytes, encoding: str, text: str) -> bool:
    """Whether declared bytes cannot be in the declared encoding: "UTF-8" that is mostly
    invalid UTF-8, or a legacy charset on bytes that are valid, non-ASCII UTF-8."""
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        return False
    if name.startswith(("utf-16", "utf-32")):
        return False
    if name == "utf-8":
        head = text[:DETECT_SAMPLE_BYTES]
        bad = head.count("\ufffd")
        return bad > 0 and bad > MAX_BAD_UTF8_SHARE * sum(1 for c in head if ord(c) > 127)
    sample = body[:DETECT_SAMPLE_BYTES]
    return not sample.isascii() and _is_utf8(sample)


def _looks_binary(text: str) -> bool:
    """Whether decoded "HTML" is really binary content (control characters, U+FFFD)."""
    sample = text[:BINARY_SAMPLE_CHARS]
    return len(_BINARY_CHAR_RE.findall(sample)) > MAX_BINARY_SHARE * len(sample)


def decode_html(body: bytes, content_type: str | None = None) -> str:
    """Bytes to str.

    Order (w3lib.encoding.html_to_unicode, i.e. the WHATWG order): a BOM, then the charset of
    the HTTP Content-Type header, then <meta charset> / <meta http-equiv>, then detection
    (a meta declaration beyond the first 4 KB, strict UTF-8, charset_normalizer, cp1252).
    A declaration the bytes contradict (see _declaration_is_wrong) gives way to detection.
    Undecodable bytes become U+FFFD. Never raises.
    """
    if isinstance(body, str):
        return body
    if not body:
        return ""
    try:
        if isinstance(content_type, bytes):
            content_type = content_type.decode("latin-1")
        body = bytes(body)
        enc, text = html_to_unicode(content_type or None, body, auto_detect_fun=_detect_encoding)
        if read_bom(body)[0] is None and _declaration_is_wrong(body, enc, text):
            guessed = _guess_encoding(body[:DETECT_SAMPLE_BYTES])
            LOGGER.debug("declared %s but the bytes say %s", enc, guessed)
            text = to_unicode(body, guessed)
        return text
    except Exception:
        LOGGER.debug("decode_html fell back to utf-8 with replacement", exc_info=True)
        return bytes(body).decode("utf-8", errors="replace")
