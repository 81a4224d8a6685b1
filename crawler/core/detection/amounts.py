"""Money amounts: '900 millions de dirhams', '3 MMDH', '$500 million', '€320m',
'200 مليون درهم', 'مليار و500 مليون درهم' -> value in base units + currency."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, TypedDict

from .text import fold


class Amount(TypedDict):
    """A money amount as records, rows and the database carry it."""

    value: int | float
    currency: str
    text: str


_NUM = r"\d{1,3}(?:[ .]\d{3})+(?:,\d+)?|\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:[.,]\d+)?"


@dataclass(frozen=True, slots=True)
class RawAmount:
    """An amount found in the folded text; currency None means 'inherit'."""

    start: int
    end: int
    value: Decimal
    currency: str | None


def parse_number(raw: str, language: str) -> Decimal | None:
    """'2,4' -> 2.4 ; '1 500' -> 1500 ; '4.2' -> 4.2 ; '1,500' (en) -> 1500."""
    s = raw.replace(" ", "")
    if "," in s and "." in s:  # both separators: the last one is the decimal mark
        decimal_mark = "," if s.rfind(",") > s.rfind(".") else "."
        thousands = "." if decimal_mark == "," else ","
        s = s.replace(thousands, "").replace(decimal_mark, ".")
    elif "," in s:
        head, _, tail = s.rpartition(",")
        is_thousands = language == "en" and len(tail) == 3 and s.count(",") >= 1
        s = s.replace(",", "") if is_thousands else head.replace(",", "") + "." + tail
    elif "." in s:
        head, _, tail = s.rpartition(".")
        is_thousands = language != "en" and len(tail) == 3
        s = s.replace(".", "") if is_thousands else s
    try:
        return Decimal(s)
    except InvalidOperation:
        return None


def _alternation(keys: list[str]) -> str:
    return "|".join(f"(?:{fold(k)})" for k in sorted(keys, key=len, reverse=True))


def _lookup(table: dict[str, Any], word: str) -> Any:
    for key, value in table.items():
        if re.fullmatch(fold(key), word):
            return value
    return None


class AmountGrammar:
    """Compiled money grammar, built once from the rules files' vocabulary.

    `latin` tables come from common.toml ([amounts.*]); `arabic_scales` and
    `arabic_currencies` from ar.toml.
    """

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        scales = _alternation(list(config["latin_scales"]))
        compact = _alternation(list(config["latin_compact"]))
        cur = _alternation(list(config["latin_currencies"]))
        pcur = _alternation(list(config["latin_prefix_currencies"]))
        words = _alternation(list(config["word_numbers"]))
        self.latin = re.compile(
            rf"(?<![\w$€])(?:"
            rf"(?P<pc>{pcur})\s?(?P<pn>{_NUM})\s*(?P<ps>{scales}|m|b)?(?![\w])"
            rf"|(?P<n>{_NUM}|(?:{words})(?=\s+(?:{scales})))\s*"
            rf"(?:(?P<k>{compact})|(?:(?P<s>{scales})\s*)?(?:de\s+|d'|of\s+)?(?P<c>{cur}))(?![\w])"
            rf"|(?P<bn>{_NUM})\s+(?P<bs>{scales})(?=\s*[),;]|\s*$|\.(?:\s|$))"
            rf")"
        )
        ar_scales = _alternation(list(config.get("arabic_scales", {}) or {"$^": 1}))
        ar_cur = _alternation(list(config.get("arabic_currencies", {}) or {"$^": 1}))
        self.arabic = re.compile(
            rf"(?:(?P<n1>{_NUM})\s*)?(?P<s1>{ar_scales})"
            rf"(?:\s*و\s*(?:(?P<n2>{_NUM})\s*)?(?P<s2>{ar_scales}))?\s*(?:من\s+)?(?:ال)?(?P<c>{ar_cur})"
            rf"|(?P<n>{_NUM})\s*(?:ال)?(?P<c2>{ar_cur})"
        )


def _scale(table: dict[str, float], word: str | None) -> Decimal:
    if not word:
        return Decimal(1)
    value = _lookup(table, word)
    return Decimal(str(value)) if value is not None else Decimal(1)


def find_amounts(low: str, language: str, g: AmountGrammar) -> list[RawAmount]:
    """All money amounts in the folded text `low` (Latin and Arabic notations)."""
    cfg = g.config
    out: list[RawAmount] = []
    for m in g.latin.finditer(low):
        if m.group("pc"):
            num = parse_number(m.group("pn"), language)
            scale_word = m.group("ps")
            scale = {"m": Decimal(10**6), "b": Decimal(10**9)}.get(scale_word or "")
            scale = scale or _scale(cfg["latin_scales"], scale_word)
            currency = _lookup(cfg["latin_prefix_currencies"], m.group("pc"))
        elif m.group("n"):
            raw = m.group("n")
            word_value = _lookup(cfg["word_numbers"], raw)
            num = Decimal(word_value) if word_value is not None else parse_number(raw, language)
            if m.group("k"):
                multiplier, currency = _lookup(cfg["latin_compact"], m.group("k"))
                scale = Decimal(str(multiplier))
            else:
                scale = _scale(cfg["latin_scales"], m.group("s"))
                currency = _lookup(cfg["latin_currencies"], m.group("c"))
        else:
            num = parse_number(m.group("bn"), language)
            scale = _scale(cfg["latin_scales"], m.group("bs"))
            currency = None
        if num is not None and num > 0:
            out.append(RawAmount(m.start(), m.end(), num * scale, currency))
    for m in g.arabic.finditer(low):
        currency = _lookup(cfg["arabic_currencies"], m.group("c") or m.group("c2"))
        if m.group("n") is not None:
            value = parse_number(m.group("n"), language)
        else:
            value = Decimal(0)
            for n_group, s_group in (("n1", "s1"), ("n2", "s2")):
                word = m.group(s_group)
                if word is None:
                    continue
                multiplier, implied = _lookup(cfg["arabic_scales"], word)
                count = parse_number(m.group(n_group), language) if m.group(n_group) else None
                if count is None:
                    if not implied:
                        value = None
                        break
                    count = Decimal(implied)
                value += count * Decimal(str(multiplier))
        if value:
            out.append(RawAmount(m.start(), m.end(), value, currency))
    out.sort(key=lambda a: a.start)
    return out


def as_number(value: Decimal) -> int | float:
    """Integral amounts as int, others as float."""
    return int(value) if value == value.to_integral_value() else float(value)
