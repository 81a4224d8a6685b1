"""Loading and compiling the rules files (crawler/core/rules/*.toml), once."""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

from crawler.core import common

from .amounts import AmountGrammar
from .text import fold

RULES_DIR = Path(__file__).resolve().parent.parent / "rules"
LANGUAGES = common.LANGUAGES
_ARABIC_CLITIC = r"(?:وال|بال|فال|كال|لل|ال|و|ف|ب|ل|ك)?"


def rules_hash(contents: Iterable[tuple[str, bytes]]) -> str:
    """Short stable hash of (file name, file bytes) pairs, order-independent."""
    digest = hashlib.sha256()
    for name, data in sorted(contents):
        digest.update(name.encode("utf-8") + b"\0" + data + b"\0")
    return digest.hexdigest()[:16]


def _rule_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.toml"))


def compute_rules_version(directory: Path = RULES_DIR) -> str:
    """Hash of the rules files and of the detector's code: changes whenever either does, so
    `veille reclassify` knows which stored verdicts are stale."""
    code = sorted(Path(__file__).resolve().parent.glob("*.py"))
    return rules_hash((p.name, p.read_bytes()) for p in [*_rule_files(directory), *code])


def _body(raw: str, arabic: bool) -> str:
    """Fold a pattern like the text and expand '~'; Latin patterns end at a word end."""
    body = fold(raw).replace("~", r"\w*")
    return f"(?:{body})" if arabic else f"(?:{body})(?!\\w)"


def _start(arabic: bool) -> str:
    # The word-start test is hoisted in front of the alternation: the engine
    # rejects mid-word positions at once (this is what keeps detection fast).
    return rf"(?<!\w){_ARABIC_CLITIC}" if arabic else r"(?<!\w)"


def _pattern(raw: str, arabic: bool) -> str:
    """A single pattern, anchored at a word start."""
    return _start(arabic) + _body(raw, arabic)


def _compile(patterns: Iterable[str], arabic: bool) -> re.Pattern[str] | None:
    parts = [_body(p, arabic) for p in patterns]
    return re.compile(_start(arabic) + "(?:" + "|".join(parts) + ")") if parts else None


def _compile_groups(groups: list[list[str]], arabic: bool) -> re.Pattern[str] | None:
    """One regex over every pattern of every entry; `entry_of` tells which entry matched.
    Each pattern ends with an empty group named after its entry: a group opened before the
    pattern would be entered at every word start, where a leading letter is rejected at
    once."""
    parts = [
        f"{_body(p, arabic)}(?P<g{i}_{j}>)"
        for i, patterns in enumerate(groups)
        for j, p in enumerate(patterns)
    ]
    return re.compile(_start(arabic) + "(?:" + "|".join(parts) + ")") if parts else None


def entry_of(match: re.Match[str]) -> int:
    """The index of the entry whose pattern a `_compile_groups` regex matched."""
    return int((match.lastgroup or "g0")[1:].partition("_")[0])


@dataclass(frozen=True)
class WeightedGroups:
    """Named, weighted vocabulary lists compiled into one regex."""

    names: tuple[str, ...]
    weights: tuple[float, ...]
    regex: re.Pattern[str] | None

    def hits(
        self, text: str, spans: list[tuple[int, int]] | None = None
    ) -> list[tuple[int, int, str, float]]:
        """(start, end, name, weight) of every match in `text` (or in its `spans` only)."""
        if self.regex is None:
            return []
        out = []
        for a, b in spans if spans is not None else [(0, len(text))]:
            for m in self.regex.finditer(text, a, b):
                i = entry_of(m)
                out.append((m.start(), m.end(), self.names[i], self.weights[i]))
        return out


def _locative(words: list[str], arabic: bool) -> re.Pattern[str] | None:
    """A locative word followed by up to three words, at the end of the text before a hit."""
    if not words:
        return None
    alts = "|".join(fold(w).replace("~", r"\w*") for w in words)
    if arabic:  # "بالمنطقة": the clitic sits on the word itself
        return re.compile(rf"(?:(?<!\w)(?:{alts})\s+(?:\S+\s+){{0,2}}|(?<!\w)ب)$")
    return re.compile(rf"(?<!\w)(?:{alts})\s+(?:[\w'-]+\s+){{0,4}}$")


@dataclass(frozen=True)
class LanguageRules:
    """Compiled rules of one language (its own file merged with common.toml)."""

    language: str
    scoring: dict[str, Any]
    agreement_types: tuple[tuple[str, ...], ...]
    agreement: re.Pattern[str] | None
    ignore: re.Pattern[str] | None
    signing: re.Pattern[str] | None
    cancel: WeightedGroups  # names: future | negation | background | generic
    reference: re.Pattern[str] | None
    dates: re.Pattern[str] | None
    sectors: WeightedGroups
    industry: WeightedGroups
    negative: WeightedGroups
    morocco: re.Pattern[str] | None  # places and institutions
    places: re.Pattern[str] | None  # Moroccan and foreign places only
    morocco_weak: re.Pattern[str] | None
    foreign: re.Pattern[str] | None
    amount_exclude: re.Pattern[str] | None
    party_heads: frozenset[str]
    party_stop: frozenset[str]
    amounts: AmountGrammar
    party_clause: re.Pattern[str] | None = None  # attendants, events, beneficiaries
    party_events: frozenset[str] = frozenset()
    party_cut: frozenset[str] = frozenset()
    record_new: re.Pattern[str] | None = None  # "la deuxième", "in a second agreement"
    record_batch: re.Pattern[str] | None = None  # "six conventions", "plusieurs accords"
    record_batch_parties: re.Pattern[str] | None = None  # "avec cinq investisseurs"
    record_group: re.Pattern[str] | None = None  # inside a batch: "deux projets"
    record_batch_subjects: re.Pattern[str] | None = None  # "six équipementiers" + plural noun
    record_industrial_part: re.Pattern[str] | None = None  # "dont trois dans l'industrie"
    record_total: re.Pattern[str] | None = None  # "au total", "combined"
    record_link: re.Pattern[str] | None = None  # "entre", "associe", "with"
    record_numbers: tuple[tuple[str, int], ...] = ()
    locative: re.Pattern[str] | None = None  # "dans la", "in the": a zone as a location
    location_sectors: frozenset[str] = frozenset()  # sectors marked `location = true`


def _weighted(entries: list[dict[str, Any]], key: str, arabic: bool) -> WeightedGroups:
    return WeightedGroups(
        names=tuple(str(e.get(key, "")) for e in entries),
        weights=tuple(float(e.get("weight", 1.0)) for e in entries),
        regex=_compile_groups([list(e["patterns"]) for e in entries], arabic),
    )


def _build(
    language: str, own: dict[str, Any], common: dict[str, Any], arabic_amounts: dict[str, Any]
) -> LanguageRules:
    arabic = language == "ar"
    agreements = own.get("agreement", [])
    parties = {**own.get("parties", {}), **own.get("parties_clean", {})}
    records = own.get("records", {})
    cancel = own.get("cancel", {})
    # Latin-script places and institutions also appear in Arabic articles (OCP).
    places = list(own.get("morocco", {}).get("patterns", []))
    institutions = list(own.get("morocco", {}).get("institutions", []))
    foreign = list(own.get("foreign", {}).get("patterns", []))
    weak = list(own.get("morocco", {}).get("weak", []))
    latin_places = [_body(p, False) for p in common["morocco"]["patterns"]]
    latin_institutions = [_body(p, False) for p in common["morocco"].get("institutions", [])]
    latin_foreign = [_body(p, False) for p in common["foreign"]["patterns"]]
    latin_weak = [_body(p, False) for p in common["morocco"].get("weak", [])]

    def merged(own_patterns: list[str], latin: list[str]) -> re.Pattern[str] | None:
        own_regex = _compile(own_patterns, arabic)
        parts = ([own_regex.pattern] if own_regex else []) + (
            [_start(False) + "(?:" + "|".join(latin) + ")"] if latin else []
        )
        return re.compile("|".join(parts)) if parts else None

    return LanguageRules(
        language=language,
        scoring=dict(common["scoring"]),
        agreement_types=tuple(tuple(e.get("types", [])) for e in agreements),
        agreement=_compile_groups([list(e["patterns"]) for e in agreements], arabic),
        ignore=_compile(own.get("ignore", {}).get("patterns", []), arabic),
        signing=_compile(own.get("signing", {}).get("patterns", []), arabic),
        cancel=_weighted(
            [
                {"name": k, "patterns": cancel.get(k, [])}
                for k in ("future", "negation", "background", "generic")
            ],
            "name",
            arabic,
        ),
        reference=_compile(own.get("reference", {}).get("patterns", []), arabic),
        dates=_compile(own.get("dates", {}).get("patterns", []), arabic),
        sectors=_weighted(own.get("sector", []), "name", arabic),
        industry=_weighted(own.get("industry", []), "name", arabic),
        negative=_weighted(own.get("negative", []), "domain", arabic),
        morocco=merged(places + institutions, latin_places + latin_institutions),
        places=merged(places + foreign, latin_places + latin_foreign),
        morocco_weak=merged(weak, latin_weak),
        foreign=merged(foreign, latin_foreign),
        amount_exclude=_compile(own.get("amounts", {}).get("exclude_before", []), arabic),
        party_heads=frozenset(fold(w) for w in own.get("parties", {}).get("heads", [])),
        party_stop=frozenset(fold(w) for w in own.get("parties", {}).get("stop", [])),
        party_clause=_compile(parties.get("clause", []), arabic),
        party_events=frozenset(fold(w) for w in parties.get("events", [])),
        party_cut=frozenset(fold(w) for w in parties.get("cut", [])),
        record_new=_compile(records.get("new", []), arabic),
        record_batch=_compile(records.get("batch", []), arabic),
        record_batch_parties=_compile(records.get("batch_parties", []), arabic),
        record_total=_compile(records.get("total", []), arabic),
        record_group=_compile(records.get("group", []), arabic),
        record_batch_subjects=_compile(records.get("batch_subjects", []), arabic),
        record_industrial_part=_compile(records.get("industrial_part", []), arabic),
        locative=_locative(records.get("locative", []), arabic),
        location_sectors=frozenset(
            str(e["name"]) for e in own.get("sector", []) if e.get("location", False)
        ),
        record_link=_compile(records.get("link", []), arabic),
        record_numbers=tuple(
            sorted(
                ((fold(k), int(v)) for k, v in records.get("numbers", {}).items()),
                key=lambda kv: -len(kv[0]),
            )
        ),
        amounts=AmountGrammar(
            {
                **common.get("amounts", {}),
                "arabic_scales": arabic_amounts.get("scales", {}),
                "arabic_currencies": arabic_amounts.get("currencies", {}),
            }
        ),
    )


class _Languages(Mapping[str, LanguageRules]):
    """The rules of each language, compiled when first asked for: reading one page compiles
    one language's rules, not the three (a fifth of `veille extract`'s start-up)."""

    def __init__(self, builders: Mapping[str, Callable[[], LanguageRules]]) -> None:
        self._builders = builders
        self._built: dict[str, LanguageRules] = {}

    def __getitem__(self, lang: str) -> LanguageRules:
        if lang not in self._built:
            self._built[lang] = self._builders[lang]()
        return self._built[lang]

    def __contains__(self, lang: object) -> bool:
        return lang in self._builders

    def __iter__(self) -> Iterator[str]:
        return iter(self._builders)

    def __len__(self) -> int:
        return len(self._builders)


@dataclass(frozen=True)
class RuleSet:
    """All compiled rules, per language, and the version of rules and code."""

    languages: Mapping[str, LanguageRules]
    version: str


@lru_cache(maxsize=4)
def load_rules(directory: Path = RULES_DIR) -> RuleSet:
    """Read and compile the rules files (cached: done once per process)."""
    data = {p.stem: tomllib.loads(p.read_text(encoding="utf-8")) for p in _rule_files(directory)}
    common = data.get("common", {})
    arabic_amounts = data.get("ar", {}).get("amounts", {})
    builders = {
        lang: partial(_build, lang, data[lang], common, arabic_amounts)
        for lang in LANGUAGES
        if lang in data
    }
    return RuleSet(_Languages(builders), compute_rules_version(directory))


@lru_cache(maxsize=4)
def sector_names(directory: Path = RULES_DIR) -> tuple[str, ...]:
    """The sector vocabulary: every `[[sector]]` name of the rules files, in file order."""
    names: dict[str, None] = {}
    for path in _rule_files(directory):
        for entry in tomllib.loads(path.read_text(encoding="utf-8")).get("sector", []):
            names.setdefault(str(entry["name"]), None)
    return tuple(names)
