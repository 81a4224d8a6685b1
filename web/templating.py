"""What templates use besides the rows: text direction and language attributes, amounts in
MDH, short dates, links that change one filter."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from markupsafe import Markup, escape

from alerts.channels import amount_text, signatories
from web.filters import is_active, link

ARABIC = re.compile(r"[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]")
LATIN = re.compile(r"[A-Za-zÀ-ÿ]")


def lang_attrs(language: str | None, text: str | None = None) -> Markup:
    """`dir` and `lang` for an element holding text in `language` (or, unknown, in the script
    most of `text` is written in): Arabic right to left, French and English left to right."""
    if language is None and text:
        language = "ar" if len(ARABIC.findall(text)) > len(LATIN.findall(text)) else None
    if language == "ar":
        return Markup(' dir="rtl" lang="ar"')
    if language in ("fr", "en"):
        return Markup(f' dir="ltr" lang="{language}"')
    return Markup(' dir="auto"')


def highlight(text: str, evidence: str | None) -> Markup:
    """The text escaped, with the evidence sentence in <mark> where it occurs (whatever the
    spacing); unchanged when it does not occur."""
    words = (evidence or "").split()
    if not words:
        return escape(text)
    found = re.search(r"\s+".join(re.escape(w) for w in words), text)
    if found is None:
        return escape(text)
    start, end = found.span()
    return (
        escape(text[:start])
        + Markup('<mark id="evidence">')
        + escape(text[start:end])
        + Markup("</mark>")
        + escape(text[end:])
    )


def short_date(value: Any) -> str:
    """An ISO time (or a datetime) as its date."""
    return str(value or "")[:10]


def install_filters(app: Flask) -> None:
    """Filters and globals every template may use."""
    app.jinja_env.filters.update(lang_attrs=lang_attrs, highlight=highlight, short_date=short_date)
    app.jinja_env.globals.update(
        link=link, is_active=is_active, amount_text=amount_text, signatories=signatories
    )
