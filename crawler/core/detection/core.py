"""The detector: does a news article report a signed industrial agreement?"""

from __future__ import annotations

import bisect
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

from crawler.core.language import detect_language

from .amounts import Amount, RawAmount, as_number, find_amounts
from .parties import PartyContext, arabic_parties, latin_parties
from .records import Mention, Record, cluster
from .rules import LanguageRules, entry_of, load_rules
from .text import build_document, fold, fold_case_preserving, fold_word

_MAX_EVIDENCE_CHARS = 400
_LOWER_WORD = re.compile(r"(?<![\w.!?:] )(?<!^)\b[a-zà-ÿ][\w-]+")
_POSSESSIVE = re.compile(r"(?:sa|son|ses|leur|leurs|its|their)\s")
_CLAUSE_END = re.compile(r"[,;.:،؛]")
_INDEFINITE = re.compile(r"(?:^|[\s'])(?:un|une|a|an)\s+(?:[\w-]+\s+){0,2}$")
_ARABIC_DEFINITE = re.compile(r"(?:[وفب]?ال|لل)|(?:هذه|هذا|تلك|ذلك)\s+\S*$")


@dataclass(frozen=True)
class Verdict:
    """Outcome of `detect` for one article (see GUIDELINE.md for the rule)."""

    is_agreement: bool
    score: float
    agreement_types: list[str] = field(default_factory=list)
    sectors: list[str] = field(default_factory=list)
    parties: list[str] = field(default_factory=list)
    amounts: list[Amount] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    # One record per agreement: {"types", "parties", "sectors", "amounts", "count", "evidence"}
    agreements: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Plain dict of all fields (JSON-serialisable)."""
        return asdict(self)


@dataclass(frozen=True)
class Components:
    """Article-level features; `score_components` turns them into a score."""

    events: list[int]  # sentences where an agreement is signed (not cancelled)
    refs: list[int]  # sentences that mention an agreement
    context: list[int]  # title, lead and paragraphs about the agreement
    strength: float  # best signing sentence (zone weight, generic penalty)
    refs_in_title_lead: bool
    industrial: float  # weighted industrial vocabulary in the context
    non_industrial: float  # weighted tourism/sport/culture/... vocabulary
    abroad: bool  # foreign places in title/lead/events, no Moroccan anchor in title/events


def score_components(c: Components, cfg: dict[str, Any]) -> float:
    """score = event x substance x domain x morocco, each factor in 0..1."""
    substantial = c.refs_in_title_lead or len(c.refs) >= cfg["min_references"]
    substance = 1.0 if substantial else cfg["single_mention_factor"]
    ratio = c.industrial / (c.industrial + c.non_industrial) if c.industrial > 0 else 0.0
    low, high = cfg["domain_low"], cfg["domain_high"]
    domain = _clamp((ratio - low) / (high - low))
    morocco = cfg["abroad_factor"] if c.abroad else 1.0
    if c.events:
        score = c.strength * substance * domain * morocco
    else:
        score = cfg["no_event_score"] * min(1.0, len(c.refs) / 2) * domain * morocco
    return round(_clamp(score), 4)


T = TypeVar("T")
# start, end, label, weight; the label is what a kind of hit names: the agreement types
# (a tuple), a sector, a cancel kind, or nothing.
_Hit = tuple[int, int, Any, float]


class _OnDemand(dict[int, list[_Hit]]):
    """Sentence index -> hits, each sentence scanned the first time it is asked for."""

    def __init__(self, scan: Callable[[int], list[_Hit]]) -> None:
        super().__init__()
        self._scan = scan

    def get(self, index: int, default: Any = None) -> Any:
        if index not in self:
            self[index] = self._scan(index)
        return dict.get(self, index) or default


class _Hits:
    """Regex matches bucketed by sentence index (scanned up front, or on demand)."""

    def __init__(self, starts: list[int], scan: Callable[[int], list[_Hit]] | None = None) -> None:
        self._starts = starts
        self.by_sentence: dict[int, list[_Hit]] = (
            _OnDemand(scan) if scan is not None else defaultdict(list)
        )

    def add(self, start: int, end: int, label: Any = None, weight: float = 1.0) -> None:
        index = bisect.bisect_right(self._starts, start) - 1
        if index >= 0:
            self.by_sentence[index].append((start, end, label, weight))

    def add_all(
        self, regex: re.Pattern[str] | None, text: str, spans: list[tuple[int, int]] | None = None
    ) -> _Hits:
        if regex is not None:
            for a, b in spans if spans is not None else [(0, len(text))]:
                for m in regex.finditer(text, a, b):
                    self.add(m.start(), m.end())
        return self

    def count(self, index: int) -> int:
        return len(self.by_sentence.get(index, ()))

    def weight(self, indices: Iterable[int], title_lead: set[int], factor: float) -> float:
        total = 0.0
        for i in indices:
            w = sum(h[3] for h in self.by_sentence.get(i, ()))
            total += w * (factor if i in title_lead else 1.0)
        return total


def _unique(items: Iterable[T]) -> list[T]:
    """Items in first-seen order, without repeats."""
    out: list[T] = []
    for x in items:
        if x not in out:
            out.append(x)
    return out


def _specific(types: Iterable[str]) -> list[str]:
    """A generic type is dropped when a more specific one of its family is present."""
    found = _unique(types)
    families = {t.split(" ")[0].split("-")[0] for t in found if " " in t or "-" in t}
    return [t for t in found if " " in t or "-" in t or t not in families]


def _longest(names: list[str]) -> list[str]:
    """Keep the longest form when one name contains another."""
    return [x for x in names if not any(x != y and x in y for y in names)]


def _clamp(x: float) -> float:
    return max(0.0, min(1.0, x))


def _mask(text: str, regex: re.Pattern[str] | None) -> str:
    """Blank out (same length) the spans matched by `regex`."""
    if regex is None:
        return text
    return regex.sub(lambda m: " " * len(m.group()), text)


def detect(title: str, lead: str, text: str, language: str | None) -> Verdict:
    """Classify one article against the GUIDELINE rule (rules: crawler/core/rules/*.toml)."""
    return analyse(title, lead, text, language).verdict()


def analyse(title: str, lead: str, text: str, language: str | None) -> _Analysis:
    """The analysis object behind `detect` (used by the bench to re-score)."""
    rules = load_rules()
    lang = language if language in rules.languages else None
    if lang is None:
        lang = detect_language(f"{title}\n{lead}\n{text}") or "fr"
    return _Analysis(rules.languages[lang], title or "", lead or "", text or "")


class _Analysis:
    """All the per-article computations behind one verdict."""

    def __init__(self, r: LanguageRules, title: str, lead: str, text: str) -> None:
        self.r = r
        self.cfg = r.scoring
        self.full, self.sentences = build_document(title, lead, text)
        self.orig = fold_case_preserving(self.full)
        self.low = fold(self.full)
        self.starts = [s.start for s in self.sentences]
        self.title_lead = {i for i, s in enumerate(self.sentences) if s.zone != "body"}
        self._ctx: PartyContext | None = None
        self._ptext: str | None = None
        self._kept: list[tuple[RawAmount, str]] | None = None
        self._spans: dict[int, list[tuple[int, int]]] = {}
        masked = _mask(self.low, r.ignore)
        self._masked = masked
        self._raw: list[RawAmount] | None = None  # amounts, found on demand (most need none)
        self._scanned: set[int] = set()
        self.agreements = _Hits(self.starts)
        if r.agreement is not None:
            for m in r.agreement.finditer(masked):
                self.agreements.add(m.start(), m.end(), r.agreement_types[entry_of(m)])
        self.reference = _Hits(self.starts).add_all(r.reference, self.low)
        if not (self.agreements.by_sentence or self.reference.by_sentence):
            # Most news mentions no agreement at all: nothing else can make it positive.
            none = _Hits(self.starts)
            self.signing = self.cancel = self.dates = self.morocco = self.foreign = none
            self.sectors = self.industry = self.negative = none
            self._raw = []
            return
        # Places, dates and domain vocabulary only matter in the title, the lead and the
        # paragraphs that speak of an agreement: scan those only (this keeps detection fast).
        spans = self._context_spans()
        self.signing = _Hits(self.starts).add_all(r.signing, masked)
        # Cancel markers, dates and places are only asked of a few sentences: found on demand.
        self.cancel = _Hits(self.starts, self._sentence_scan(r.cancel.regex, named=True))
        self.dates = _Hits(self.starts, self._sentence_scan(r.dates))
        self.morocco = _Hits(self.starts, self._sentence_scan(r.morocco, weak=r.morocco_weak))
        self.foreign = _Hits(self.starts, self._sentence_scan(r.foreign))
        self.sectors = _Hits(self.starts)
        self.industry = _Hits(self.starts)
        for a, b, name, w in r.sectors.hits(masked, spans):
            self.industry.add(a, b, name, w)
            if name in r.location_sectors and r.locative and self._located(a):
                continue  # "dans la zone franche de Kénitra": where the plant is, not the sector
            self.sectors.add(a, b, name, w)
        for a, b, name, w in r.industry.hits(masked, spans):
            self.industry.add(a, b, name, w)
        self.negative = _Hits(self.starts)
        for a, b, name, w in r.negative.hits(self.low, spans):
            self.negative.add(a, b, name, w)

    def _sentence_scan(
        self,
        regex: re.Pattern[str] | None,
        named: bool = False,
        weak: re.Pattern[str] | None = None,
    ) -> Callable[[int], list[_Hit]]:
        """A function giving the hits of `regex` in one sentence (with `weak` hits at 0.5;
        `named`: the label is the entry name, as for the cancel kinds)."""
        names = self.r.cancel.names

        def scan(i: int) -> list[_Hit]:
            s = self.sentences[i]
            out: list[_Hit] = []
            if regex is not None:
                for m in regex.finditer(self.low, s.start, s.end):
                    label = names[entry_of(m)] if named else None
                    out.append((m.start(), m.end(), label, 1.0))
            if weak is not None:
                out.extend(
                    (m.start(), m.end(), None, 0.5) for m in weak.finditer(self.low, s.start, s.end)
                )
            return out

        return scan

    def _context_spans(self) -> list[tuple[int, int]]:
        """Text spans of the title, the lead and every paragraph that mentions an agreement."""
        paragraphs = {
            self.sentences[i].paragraph
            for hits in (self.agreements, self.reference)
            for i in hits.by_sentence
        }
        self._scanned = paragraphs
        spans: list[tuple[int, int]] = []
        for s in self.sentences:
            if s.zone != "body" or s.paragraph in paragraphs:
                if spans and self.low[spans[-1][1] : s.start].strip() == "":
                    spans[-1] = (spans[-1][0], s.end)
                else:
                    spans.append((s.start, s.end))
        return spans

    @property
    def raw_amounts(self) -> list[RawAmount]:
        """Every money amount of the article (computed once, when first needed)."""
        if self._raw is None:
            self._raw = find_amounts(self.low, self.r.language, self.r.amounts)
        return self._raw

    def _scan_sectors(self, paragraphs: set[int]) -> None:
        """Sector vocabulary of paragraphs the first pass skipped (on demand)."""
        spans = [
            (s.start, s.end)
            for s in self.sentences
            if s.zone == "body" and s.paragraph in paragraphs
        ]
        for a, b, name, w in self.r.sectors.hits(self._masked, spans):
            if not (name in self.r.location_sectors and self.r.locative and self._located(a)):
                self.sectors.add(a, b, name, w)
        self._scanned |= paragraphs

    def _located(self, pos: int) -> bool:
        """Is the hit at `pos` preceded by a locative word (a zone as a plant's place)?"""
        if self.r.language == "ar" and self.low.startswith(("ب", "في "), pos):
            return True  # "بالمنطقة الصناعية": the clitic preposition is part of the match
        window = self.low[max(0, pos - 40) : pos]
        return bool(self.r.locative and self.r.locative.search(window))

    # -- sentence-level evidence ------------------------------------------------
    def _is_event(self, i: int) -> bool:
        """A sentence that says an agreement was signed (not planned, denied or past)."""
        mentions = self.agreements.count(i) or self.reference.count(i)
        if not (mentions and self.signing.count(i)):
            return False
        cancels = self.cancel.by_sentence.get(i, ())
        kinds = {label for _, _, label, _ in cancels}
        if kinds == {"future"}:
            # a signature announced for a set date: the date follows the announcement
            # ("will be signed on Thursday"), unlike "on Tuesday unveiled ... plans to sign"
            first = min(a for a, _, _, _ in cancels)
            return any(a > first for a, _, _, _ in self.dates.by_sentence.get(i, ()))
        return not kinds

    def _is_specific(self, i: int) -> bool:
        s = self.sentences[i]
        if self.dates.count(i) or self.morocco.count(i):
            return True
        if any(s.start <= a.start < s.end for a in self.raw_amounts):
            return True
        return bool(self._party_spans(i))

    def _party_spans(self, i: int) -> list[tuple[int, int]]:
        if i not in self._spans:
            self._spans[i] = self._compute_party_spans(i)
        return self._spans[i]

    def _compute_party_spans(self, i: int) -> list[tuple[int, int]]:
        s = self.sentences[i]
        r = self.r
        ctx = self._party_context()
        text = self._party_text()
        if r.language == "ar":
            spans = arabic_parties(text, s.start, s.end, r.party_heads, r.party_stop, r.signing)
            latin = latin_parties(text, s.start, s.end, frozenset(), frozenset(), ctx)
            spans += [sp for sp in latin if text[sp[0]].isupper() and sp[1] - sp[0] > 1]
            return [sp for sp in spans if not self._arabic_event(text[sp[0] : sp[1]])]
        return latin_parties(text, s.start, s.end, r.party_heads, r.party_stop, ctx)

    def _arabic_event(self, name: str) -> bool:
        """Does an Arabic name open with an event noun (معرض، منتدى ...)?"""
        words = fold(name).split()
        return bool(words) and words[0] in self.r.party_events

    def _party_text(self) -> str:
        """The text with attendant, event and beneficiary clauses blanked (same offsets)."""
        if self._ptext is None:
            chars = list(self.orig)
            if self.r.party_clause is not None:
                for m in self.r.party_clause.finditer(self.low):
                    i = bisect.bisect_right(self.starts, m.start()) - 1
                    end = self.sentences[i].end if i >= 0 else len(chars)
                    stop = _CLAUSE_END.search(self.low, m.end(), end)
                    for k in range(m.start(), stop.start() if stop else end):
                        if chars[k] != "\n":
                            chars[k] = " "
            self._ptext = "".join(chars)
        return self._ptext

    def _party_context(self) -> PartyContext:
        if self._ctx is None:
            lowercase = frozenset(fold_word(w) for w in _LOWER_WORD.findall(self.orig))
            self._ctx = PartyContext(
                self._is_place, self._signs_after, lowercase, self.r.party_events, self.r.party_cut
            )
        return self._ctx

    def _is_place(self, name: str) -> bool:
        """True when `name` (folded) is made only of known place names."""
        rest = self.r.places.sub(" ", name) if self.r.places is not None else name
        return not re.sub(r"[\s\-'’]+|\b(?:de|du|des|d|la|le|el|al|of|the)\b", "", rest)

    def _signs_after(self, pos: int) -> bool:
        return bool(self.r.signing and self.r.signing.search(self.low, pos, pos + 30))

    def _is_question(self, i: int) -> bool:
        """Does sentence i end with a question mark?"""
        s = self.sentences[i]
        return self.full[s.start : s.end].rstrip(' "»”)').endswith(("?", "؟"))

    def _subject_event(self, events: list[int]) -> bool:
        """A signature by the company the title or lead is about is the article's news,
        even late in the text ("Sanalab prépare son usine" ... "Sanalab a signé mardi ...")."""
        heads = " ".join(
            self.low[self.sentences[i].start : self.sentences[i].end] for i in self.title_lead
        )
        for i in events:
            if i in self.title_lead or not self.dates.count(i):
                continue
            for a, b in self._party_spans(i):
                name = self.low[a:b].strip(" ,;:")
                if len(name) >= 4 and name in heads:
                    return True
        return False

    def _lede_event(self, events: list[int]) -> bool:
        """A named, anchored signature in the first body paragraph is the news itself."""
        return any(
            self.sentences[i].paragraph == 0 and self.agreements.count(i) and self._is_specific(i)
            for i in events
        )

    # -- verdict ------------------------------------------------------------------
    def components(self) -> Components:
        """The article-level features the score is made of."""
        cfg = self.cfg
        n = len(self.sentences)
        events = [i for i in range(n) if self._is_event(i)]
        refs = [i for i in range(n) if self.agreements.count(i) or self.reference.count(i)]
        zone_weight = cfg["zone_weight"]
        strength = 0.0
        for i in events:
            s = self.sentences[i]
            w = zone_weight[s.zone]
            if s.zone == "body" and not self._is_specific(i):
                w *= cfg["generic_event_factor"]
            strength = max(strength, w)
        # Context of the agreement: title, lead and paragraphs that mention it.
        paragraphs = {self.sentences[i].paragraph for i in events + refs}
        context = [
            i for i, s in enumerate(self.sentences) if s.zone != "body" or s.paragraph in paragraphs
        ]
        factor = cfg["title_lead_weight"]
        ind = self.industry.weight(context, self.title_lead, factor)
        neg = self.negative.weight(context, self.title_lead, factor)
        # A title that asks what a deal means for Morocco ("un signal pour le Maroc ?") is
        # commentary: its Moroccan place names do not locate the agreement (GUIDELINE test 3).
        title = {
            i
            for i in self.title_lead
            if self.sentences[i].zone == "title" and not self._is_question(i)
        }
        mor = self.morocco.weight(sorted(set(events) | title), set(), 1.0)
        foreign = self.foreign.weight(sorted(set(events) | self.title_lead), set(), 1.0)
        return Components(
            events=events,
            refs=refs,
            context=context,
            strength=strength,
            refs_in_title_lead=any(
                i in self.title_lead for i in refs + [j for j in range(n) if self.signing.count(j)]
            )
            or self._lede_event(events)
            or self._subject_event(events),
            industrial=ind,
            non_industrial=neg,
            abroad=foreign > 0 and mor == 0,
        )

    def verdict(self, scoring: dict[str, Any] | None = None) -> Verdict:
        """Score the article and, when positive, extract its fields."""
        cfg = {**self.cfg, **(scoring or {})}
        c = self.components()
        score = score_components(c, cfg)
        is_agreement = score >= cfg["threshold"]
        evidence_ids = c.events or c.refs[:1]
        evidence = [self._sentence_text(i) for i in evidence_ids[: cfg["max_evidence"]]]
        if not is_agreement:
            return Verdict(False, score, evidence=evidence)
        records = self.records(c)
        types = _unique(t for r in records for t in r["types"]) or self._types(c.events)
        sectors = _unique(x for r in records for x in r["sectors"]) or self._sectors(c.context)
        parties = _unique(x for r in records for x in r["parties"])  # each record's, exactly
        return Verdict(
            True,
            score,
            agreement_types=types,
            sectors=sectors,
            parties=parties or self._parties(c.events, c.refs),
            amounts=self._amounts(),
            evidence=evidence,
            agreements=records,
        )

    # -- records (issue #13) -------------------------------------------------------
    def records(self, c: Components) -> list[dict[str, Any]]:
        """The agreements the article reports, one dict per agreement."""
        records = cluster(self._mentions(c), self._industrial_part())
        kept = [r for r in records if self._industrial(r)] or records[:1]
        claimed = {m.index: n for n, r in enumerate(kept) for m in r.mentions}
        title_lead = sorted(self.title_lead)
        batch_sectors = next(
            (self._record_sectors(r, claimed, n) for n, r in enumerate(kept) if r.batch), []
        )
        if len(kept) == 1:
            kept[0].amounts = self._amounts()  # one agreement: the article's values are its own
        out = []
        for n, r in enumerate(kept):
            if not r.amounts and not r.batch:
                r.amounts = list(r.totals)
            sectors = self._record_sectors(r, claimed, n, single=len(kept) == 1) or batch_sectors
            sectors = sectors or self._sectors(title_lead)
            evidence = next(
                (m.index for m in r.mentions if m.event and m.body), r.mentions[0].index
            )
            s = self.sentences[evidence]
            out.append(
                {
                    "types": _specific(r.types) or self._types([m.index for m in r.mentions]),
                    "parties": _longest(r.parties),
                    "sectors": sectors,
                    "amounts": r.amounts,
                    "count": max(1, r.count),
                    "evidence": self.full[s.start : s.end].strip(),
                }
            )
        return out

    def _ref_sentences(self) -> list[int]:
        """Sentences that name an agreement or refer to one."""
        return sorted(set(self.agreements.by_sentence) | set(self.reference.by_sentence))

    def _industrial(self, r: Record) -> bool:
        """A non-industrial agreement at the same ceremony is not a record (GUIDELINE)."""
        ids = [m.index for m in r.mentions]
        ind = self.industry.weight(ids, set(), 1.0)
        neg = self.negative.weight(ids, set(), 1.0)
        return not (neg > ind and neg > 0)

    def _record_sectors(
        self, r: Record, claimed: dict[int, int], n: int, single: bool = False
    ) -> list[str]:
        """Sectors of the record's sentences and of the rest of their paragraphs (plus the
        title and lead when the article reports this one agreement)."""
        ids = {m.index for m in r.mentions} | (self.title_lead if single else set())
        paragraphs = {m.paragraph for m in r.mentions if m.body}
        for j, s in enumerate(self.sentences):
            if s.zone == "body" and s.paragraph in paragraphs and claimed.get(j, n) == n:
                ids.add(j)
        found = self._sectors(sorted(ids))
        if single:
            # Other paragraphs that name the agreement: a sector they repeat is its own too
            # (a sector named once there is more likely background).
            paragraphs = {
                self.sentences[i].paragraph
                for i in [*self._ref_sentences(), *self._amount_sentences()]
            }
            self._scan_sectors(paragraphs - self._scanned)
            more = {
                j
                for j, s in enumerate(self.sentences)
                if s.zone == "body" and s.paragraph in paragraphs
            } - ids
            counts: dict[str, int] = defaultdict(int)
            for j in more:
                for _, _, name, _ in self.sectors.by_sentence.get(j, ()):
                    counts[name] += 1
            found += [name for name, k in counts.items() if k >= 2 and name not in found]
        return found

    def _mentions(self, c: Components) -> list[Mention]:
        """Every sentence that tells something about one of the article's agreements."""
        r = self.r
        events = set(c.events)
        out: list[Mention] = []
        batch_seen = False
        previous = -2
        for i, s in enumerate(self.sentences):
            body = s.zone == "body" or s.paragraph >= 0
            noun = self.agreements.count(i) > 0
            cancelled = bool(self.cancel.by_sentence.get(i)) and i not in events
            if cancelled:
                continue
            count = self._batch_count(i, batch_seen)
            own, totals = self._sentence_amounts(i)
            linked = bool(r.record_link and r.record_link.search(self.low, s.start, s.end))
            event = i in events
            kind = ""
            opens = bool(
                r.record_new and r.record_new.search(self.low, s.start, min(s.end, s.start + 40))
            )
            if event or (noun and (own or totals or count is not None or linked)):
                kind = "mention"
            elif out and body and opens and self.signing.count(i):
                kind = "mention"  # "La deuxième, signée entre X et Y, ...": the noun is elided
                event = True
            elif batch_seen and count is not None and body:
                kind = "mention"
            elif batch_seen and own and body:
                kind = "item"
            elif (
                previous == i - 1
                and linked
                and body
                and self.sentences[i - 1].paragraph == s.paragraph
            ):
                kind = "continuation"
            if not kind:
                continue
            parties = self._names(i) if (event or linked or kind != "mention") else []
            possessive = bool(_POSSESSIVE.match(self.low, s.start))
            if event and (not parties or possessive) and body and i > 0:
                # "L'entreprise a signé ...", "The two companies signed ...": the signatories
                # are named in the sentence before, in the same paragraph
                before = self.sentences[i - 1]
                if before.zone == "body" and before.paragraph == s.paragraph:
                    before_names = self._names(i - 1)
                    if possessive and before_names:  # "Sa convention": the one company told
                        before_names = [max(before_names, key=lambda n: len(n.split()))]
                    parties = before_names + parties
            if kind == "item" and len(own) > 1:
                out.extend(self._items(i, own))
                previous = i
                continue
            head = self.low[s.start : min(s.end, s.start + 120)]
            out.append(
                Mention(
                    index=i,
                    paragraph=s.paragraph,
                    body=body,
                    event=event,
                    parties=parties,
                    amounts=own if count is None or kind != "mention" else own + totals,
                    totals=totals if count is None else [],
                    types=self._sentence_types(i),
                    count=count,
                    new=bool(r.record_new and r.record_new.search(head)),
                    indefinite=self._indefinite(i),
                    plural=self._plural(i),
                    item=kind == "item",
                    continuation=kind == "continuation",
                )
            )
            batch_seen = batch_seen or (count is not None and count != 1)
            previous = i
        return out

    def _items(self, i: int, own: list[Amount]) -> list[Mention]:
        """A sentence naming several items of a batch, each with its amount."""
        s = self.sentences[i]
        spans = self._party_spans(i)
        ends = [e for e, _ in self._own_amount_ends(i)]
        cuts = [s.start, *ends[: len(own) - 1], s.end]
        out = []
        for k, a in enumerate(own):
            names = [self.full[x:y].strip(" ,;:") for x, y in spans if cuts[k] <= x < cuts[k + 1]]
            out.append(
                Mention(i, s.paragraph, True, False, names, [a], [], [], item=True, new=True)
            )
        return out

    def _names(self, i: int) -> list[str]:
        """Signatory names of sentence i (none from a Title Case headline)."""
        s = self.sentences[i]
        if s.zone == "title":
            words = [w for w in self.full[s.start : s.end].split() if w[:1].isalpha()]
            if words and sum(w[0].isupper() for w in words) >= 0.6 * len(words) and len(words) > 3:
                return []
        names: list[str] = []
        for a, b in self._party_spans(i):
            name = self.full[a:b].strip(" ,;:")
            if len(name) < 2 or name in names or self._sector_word(name):
                continue
            if self._is_place(fold(name)):
                continue  # "Souss-Massa", "Casablanca": where, not who
            if (
                name.islower()
                and len(name.split()) <= 2
                and self.r.language != "ar"
                and fold(name) not in ("gouvernement", "government")
            ):
                continue  # "institut spécialisé": a description, not a name
            names.append(name)
        return names

    def _sector_word(self, name: str) -> bool:
        """'Automobile', 'Green Hydrogen': a sector of the vocabulary, not an organisation."""
        regex = self.r.sectors.regex
        return bool(regex is not None and regex.fullmatch(fold(name)))

    def _sentence_types(self, i: int) -> list[str]:
        """Types named in sentence i; a singular noun wins over a plural one ("Parmi les
        accords phares, figure une convention ...")."""
        hits = self.agreements.by_sentence.get(i, ())
        singular = [h for h in hits if not self._plural_noun(h[0], h[1])]
        found: list[str] = []
        for _, _, types, _ in singular or hits:
            found.extend(t for t in types if t not in found)
        return found

    def _indefinite(self, i: int) -> bool:
        """Is an agreement of sentence i introduced by an indefinite article?"""
        hits = self.agreements.by_sentence.get(i)
        if not hits:
            return False
        start = self.sentences[i].start
        for a, b, _, _ in hits:
            window = self.low[max(start, a - 30) : a]
            if self.r.language == "ar":
                if not _ARABIC_DEFINITE.match(self.low[a:b]) and not window.rstrip().endswith(
                    ("هذه", "هذا", "تلك")
                ):
                    return True
            elif _INDEFINITE.search(window):
                return True
        return False

    def _industrial_part(self) -> int | None:
        """N of "six conventions, dont trois dans l'industrie" anywhere in the article."""
        regex = self.r.record_industrial_part
        m = regex.search(self.low) if regex is not None else None
        if m is None:
            return None
        digits = re.search(r"\d+", m.group())
        if digits:
            return int(digits.group())
        for word, value in self.r.record_numbers:
            if re.search(rf"(?<!\w){re.escape(word)}(?!\w)", m.group()):
                return value
        return None

    def _plural(self, i: int) -> bool:
        """Every agreement noun of the sentence is plural ("les conventions", "the contracts")."""
        hits = self.agreements.by_sentence.get(i)
        if not hits:
            return False
        return all(self._plural_noun(a, b) for a, b, _, _ in hits)

    def _plural_noun(self, a: int, b: int) -> bool:
        """The head noun of an agreement phrase is plural: its first word in French and
        Arabic ("conventions d'investissement"), its last in English ("supply contracts")."""
        words = self.low[a:b].split() or [""]
        if self.r.language == "ar":
            return words[0].endswith(("ات", "ين"))
        return (words[-1] if self.r.language == "en" else words[0]).endswith("s")

    def _batch_count(self, i: int, in_batch: bool = False) -> int | None:
        """N of "six conventions", 0 for "plusieurs conventions", None when no batch."""
        s = self.sentences[i]
        regexes = [self.r.record_batch, self.r.record_batch_parties]
        if in_batch:
            regexes.append(self.r.record_group)
        if self._plural(i):
            regexes.append(self.r.record_batch_subjects)
        for regex in regexes:
            m = regex.search(self.low, s.start, s.end) if regex is not None else None
            if m is None:
                continue
            digits = re.search(r"\d+", m.group())
            if digits:
                return int(digits.group())
            words = m.group()
            for word, value in self.r.record_numbers:
                if re.search(rf"(?<!\w){re.escape(word)}(?!\w)", words):
                    return value
            return 0
        return None

    def _own_amount_ends(self, i: int) -> list[tuple[int, str]]:
        """End offsets and texts of sentence i's amounts that are not totals."""
        s = self.sentences[i]
        out = []
        for a, _ in self._kept_amounts():
            window = self.low[max(s.start, a.start - 45) : a.start]
            if s.start <= a.start < s.end and not (
                self.r.record_total and self.r.record_total.search(window)
            ):
                out.append((a.end, self.full[a.start : a.end]))
        return out

    def _sentence_amounts(self, i: int) -> tuple[list[Amount], list[Amount]]:
        """(own values, stated totals) of sentence i."""
        s = self.sentences[i]
        own: list[Amount] = []
        totals: list[Amount] = []
        for a, currency in self._kept_amounts():
            if not s.start <= a.start < s.end:
                continue
            item = self._amount(a, currency)
            window = self.low[max(s.start, a.start - 45) : a.start]
            total = bool(self.r.record_total and self.r.record_total.search(window))
            target = totals if total else own
            if not any(x["value"] == item["value"] and x["currency"] == currency for x in target):
                target.append(item)
        return own, totals

    def _sentence_text(self, i: int) -> str:
        s = self.sentences[i]
        text = self.full[s.start : s.end].strip()
        return text if len(text) <= _MAX_EVIDENCE_CHARS else text[: _MAX_EVIDENCE_CHARS - 1] + "…"

    def _types(self, events: list[int]) -> list[str]:
        found: list[str] = []
        for i in sorted(set(events) | self.title_lead):
            for _, _, types, _ in self.agreements.by_sentence.get(i, ()):
                found.extend(t for t in types if t not in found)
        # A generic type is dropped when a more specific one of its family is present.
        families = {t.split(" ")[0].split("-")[0] for t in found if " " in t or "-" in t}
        return [t for t in found if " " in t or "-" in t or t not in families]

    def _sectors(self, context: list[int]) -> list[str]:
        weights: dict[str, float] = defaultdict(float)
        for i in context:
            for _, _, name, w in self.sectors.by_sentence.get(i, ()):
                weights[name] += w
        return [name for name, _ in sorted(weights.items(), key=lambda kv: -kv[1])]

    def _parties(self, events: list[int], refs: list[int]) -> list[str]:
        follow = {
            i + 1
            for i in events
            if i + 1 < len(self.sentences)
            and self.sentences[i + 1].paragraph == self.sentences[i].paragraph
            and self.sentences[i].zone == "body"
        }
        ids = sorted((set(events) | set(refs) | follow | self._amount_sentences()) - {0})
        if self.sentences and self.sentences[0].zone == "title":
            ids = ids or [0]
        names: list[str] = []
        for i in ids:
            for a, b in self._party_spans(i):
                name = self.full[a:b].strip(" ,;:")
                if len(name) >= 2 and name not in names:
                    names.append(name)
        # Keep the longest form when one name contains another.
        return [x for x in names if not any(x != y and x in y for y in names)]

    def _kept_amounts(self) -> list[tuple[RawAmount, str]]:
        if self._kept is None:
            self._kept = self._compute_kept_amounts()
        return self._kept

    def _compute_kept_amounts(self) -> list[tuple[RawAmount, str]]:
        out = []
        last_currency: dict[int, str] = {}
        for a in self.raw_amounts:
            i = bisect.bisect_right(self.starts, a.start) - 1
            s = self.sentences[i]
            window = self.low[max(s.start, a.start - 50) : a.start]
            if self.r.amount_exclude and self.r.amount_exclude.search(window):
                continue
            currency = a.currency or last_currency.get(i)
            if currency is None:
                continue
            last_currency[i] = currency
            out.append((a, currency))
        return out

    def _amount_sentences(self) -> set[int]:
        return {bisect.bisect_right(self.starts, a.start) - 1 for a, _ in self._kept_amounts()}

    def _amounts(self) -> list[Amount]:
        seen: set[tuple[int | float, str]] = set()
        out = []
        for a, currency in self._kept_amounts():
            item = self._amount(a, currency)
            if (item["value"], currency) not in seen:
                seen.add((item["value"], currency))
                out.append(item)
        return out

    def _amount(self, a: RawAmount, currency: str) -> Amount:
        return Amount(value=as_number(a.value), currency=currency, text=self.full[a.start : a.end])
