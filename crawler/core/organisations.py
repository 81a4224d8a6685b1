"""Organisations by name: the curated file (crawler/core/rules/organisations.toml), folding and
matching of party names in French, Arabic and English, and cleaning of unknown names.

Pure code: no database. `resolve("l'Office national des chemins de fer (ONCF)")` gives the
organisation(s) a party stands for, curated or not, with the folded keys it is known under.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from rapidfuzz import fuzz, process

RULES = Path(__file__).resolve().parent / "rules"
ORGANISATIONS_FILE = RULES / "organisations.toml"
FUZZY_CUTOFF = 92  # rapidfuzz ratio (0..100) from which two long folded names are one
FUZZY_MIN_CHARS = 12  # shorter names (acronyms...) must match exactly

_ARABIC = re.compile(r"[\u0600-\u06ff]")
_ARABIC_MARKS = re.compile(r"[\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")  # diacritics, tatweel
_ARABIC_LETTERS = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ة": "ه", "ى": "ي"})
_ARABIC_ARTICLE = re.compile(r"^(?:وال|بال|فال|كال|لل|ال)(?=\S\S)")
_NON_WORD = re.compile(r"[^\w&]+")
_STOP = frozenset(
    [
        "l",
        "le",
        "la",
        "les",
        "d",
        "de",
        "des",
        "du",
        "et",
        "a",
        "au",
        "aux",
        "en",
        "the",
        "of",
        "and",
        "for",
        "pour",
        "sa",
        "s",
        "و",
        "في",
    ]
)  # function words: "ministère de l'Industrie" = "Ministere Industrie"
_PARENS = re.compile(r"^(?P<outside>.*?)\s*[(\[](?P<inside>[^()\[\]]+)[)\]]\s*(?P<rest>.*)$")
_PLURAL_MINISTRIES = re.compile(
    r"^(?:les\s+|the\s+)?(?P<head>minist[eè]res|ministries)\s+(?P<rest>.+)$", re.IGNORECASE
)
_LEADING_ARTICLE = re.compile(r"^(?:l['’]\s*|le\s+|la\s+|les\s+|the\s+)", re.IGNORECASE)
_GENERIC_HEAD = re.compile(
    r"^(?:(?:le|la|l['’])\s*)?(?:groupe|société|compagnie|constructeur|équipementier|entreprise|"
    r"firme|group|company|firm|manufacturer|the company)\s+|^(?:شركة|مجموعة)\s+",
    re.IGNORECASE,
)
_TRAILING_CLAUSE = re.compile(
    r"(?:,|\s)\s*(?:(?:pour|afin)\s+(?:d['’]\s*)?(?:de\s+)?\w+(?:er|ir|re)\b|pour\s+(?:la|le|les|l['’])\s*"
    r"(?:création|mise|développement|réalisation|construction|promotion de (?:l['’]|la|le))|"
    r"visant|en vue|dans le cadre|lors d|à l['’]occasion|en marge|portant|relati(?:f|ve)s? à|"
    r"qui\s|dont\s|in order|aimed|aiming|during|on the sidelines|which|who\s|to (?:develop|build|"
    r"create|support|set up|produce|promote))\b.*$",
    re.IGNORECASE,
)
_TRAILING_PLACE = re.compile(
    r"\s+(?:à|au|in|at|ب)\s+[A-ZÉÈ][\w'’-]+(?:[- ][A-ZÉÈ][\w'’-]+)?$|\s+بمدينة\s+\S+$"
)
_EVENT = re.compile(
    r"^(?:(?:la|le|l['’])\s*)?(?:journée|salon|forum|conférence|sommet|assises|rencontre|"
    r"cérémonie|édition|day|summit|conference|fair|expo|exhibition|ceremony|يوم|منتدى|معرض|"
    r"ملتقى|مؤتمر|حفل)\b",
    re.IGNORECASE,
)
_KIND_HINTS = (
    (re.compile(r"^(?:minist|وزار|الوزار)", re.I), "ministry"),
    (re.compile(r"\b(?:universit|école|school|institut)|^جامعة|^المدرسة", re.I), "university"),
    (re.compile(r"\b(?:bank|banque|fonds|fund)|^(?:بنك|البنك|صندوق)", re.I), "bank"),
    (re.compile(r"\b(?:f[ée]d[ée]ration|association|groupement)\b", re.I), "federation"),
    (re.compile(r"\bcluster\b|^كلستر", re.I), "cluster"),
    (
        re.compile(
            r"\b(?:r[ée]gion|conseil r[ée]gional|centre r[ée]gional|cri)\b|^جهة|^مجلس", re.I
        ),
        "region",
    ),
    (
        re.compile(
            r"\b(?:agence|office|agency|authority|autorit[ée])\b|^(?:وكالة|الوكالة|مكتب|المكتب)",
            re.I,
        ),
        "agency",
    ),
    (
        re.compile(
            r"\b(?:sa|sarl|ltd|inc|gmbh|corp|corporation|group|holding|industries|motors)\b$|"
            r"^(?:groupe|société|company)\b|^(?:شركة|مجموعة)",
            re.I,
        ),
        "company",
    ),
)


@dataclass(frozen=True)
class Organisation:
    """One organisation of the curated file."""

    name: str
    kind: str
    aliases: tuple[tuple[str, str | None], ...]  # (name as written, language or None)


@dataclass(frozen=True)
class Match:
    """What one party stands for: a curated organisation, or a cleaned unknown name."""

    name: str  # canonical name (curated) or the cleaned name as the text gives it
    kind: str
    curated: bool
    aliases: tuple[tuple[str, str | None], ...] = field(default_factory=tuple)

    @property
    def keys(self) -> list[str]:
        """The folded keys this organisation is known under."""
        return list(dict.fromkeys(k for a, _ in self.aliases if (k := fold_name(a))))


def _strip_accents(text: str) -> str:
    if _ARABIC.search(text):  # NFKD would split Arabic letters with hamza
        return text
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


@lru_cache(maxsize=4096)  # the names that recur; 65,536 held 9 MB that a backfill filled
def fold_name(name: str) -> str:
    """The key a name is matched under: no case, accents, punctuation, articles or function
    words, Arabic letter variants and diacritics unified."""
    text = _ARABIC_MARKS.sub("", name).translate(_ARABIC_LETTERS)
    text = _strip_accents(text).casefold().replace("œ", "oe").replace("æ", "ae")
    words = []
    for word in _NON_WORD.sub(" ", text.replace("_", " ")).split():
        if word in _STOP:
            continue
        words.append(_ARABIC_ARTICLE.sub("", word) if _ARABIC.search(word) else word)
    return " ".join(words)


def language_of(name: str) -> str | None:
    """'ar' for Arabic script, else None (Latin names may be French or English)."""
    return "ar" if _ARABIC.search(name) else None


@lru_cache(maxsize=4)
def load_organisations(path: Path = ORGANISATIONS_FILE) -> tuple[Organisation, ...]:
    """The curated organisations of the file (cached)."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    out = []
    for entry in data.get("organisation", []):
        aliases: list[tuple[str, str | None]] = [(entry["name"], None)]
        for lang in ("abbr", "fr", "ar", "en"):
            aliases += [(a, None if lang == "abbr" else lang) for a in entry.get(lang, [])]
        out.append(Organisation(entry["name"], entry.get("kind", "other"), tuple(aliases)))
    return tuple(out)


@lru_cache(maxsize=4)
def _index(path: Path = ORGANISATIONS_FILE) -> tuple[dict[str, Organisation], list[str]]:
    """Folded key -> curated organisation, and the long keys fuzzy matching may use."""
    by_key: dict[str, Organisation] = {}
    for org in load_organisations(path):
        for alias, _ in org.aliases:
            by_key.setdefault(fold_name(alias), org)
    by_key.pop("", None)
    return by_key, [k for k in by_key if len(k) >= FUZZY_MIN_CHARS]


def lookup(name: str, path: Path = ORGANISATIONS_FILE) -> Organisation | None:
    """The curated organisation a name (or its cleaned form) stands for, if any."""
    by_key, long_keys = _index(path)
    for candidate in dict.fromkeys((name, clean_party(name) or "")):
        key = fold_name(candidate)
        if not key:
            continue
        if key in by_key:
            return by_key[key]
        bare = fold_name(_GENERIC_HEAD.sub("", candidate))
        if bare in by_key:
            return by_key[bare]
        if len(key) >= FUZZY_MIN_CHARS:
            best = process.extractOne(key, long_keys, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF)
            if best:
                return by_key[best[0]]
    return None


def clean_party(name: str) -> str | None:
    """A party's name without what the detector may have left around it: a leading article,
    a trailing clause ("pour accompagner ..."), a trailing place ("à Tanger"); None when the
    name is an event ("Journée nationale de l'Industrie") rather than an organisation."""
    text = " ".join(name.split()).strip(" \t\"«»“”'’.,;:-–—")
    text = _TRAILING_CLAUSE.sub("", text).strip(" ,;:-–—")
    text = _TRAILING_PLACE.sub("", text).strip(" ,;:-–—")
    text = _LEADING_ARTICLE.sub("", text).strip()
    if not text or _EVENT.match(text):
        return None
    return text


def guess_kind(name: str) -> str:
    """The kind an unknown organisation's name suggests (ministry, agency, company...)."""
    for pattern, kind in _KIND_HINTS:
        if pattern.search(name):
            return kind
    return "other"


def _split_ministries(name: str) -> list[str]:
    """'les ministères de la Santé et de l'Industrie' -> one name per ministry."""
    m = _PLURAL_MINISTRIES.match(name)
    if not m:
        return [name]
    english = m.group("head").lower() == "ministries"
    parts = re.split(r",\s*|\s+(?:et|and)\s+", m.group("rest"))
    out = []
    for part in (p.strip() for p in parts if p.strip()):
        if english:
            out.append("Ministry " + (part if part.lower().startswith("of ") else "of " + part))
        else:
            part = re.sub(r"^(?:de\s+|d['’]\s*)(?=(?:la|l['’]|l’)\b)", "", part)
            joined = part if re.match(r"^(?:de|du|des|d['’])\b", part) else "de " + part
            out.append("ministère " + joined)
    return out or [name]


def resolve(party: str, path: Path = ORGANISATIONS_FILE) -> list[Match]:
    """The organisation(s) a party names: curated when the file knows the name (or the
    acronym in parentheses), else the cleaned name as an organisation of its own."""
    out: list[Match] = []
    for name in _split_ministries(" ".join(party.split())):
        outside, inside = name, None
        if m := _PARENS.match(name):
            outside, inside = (
                (m.group("outside") + " " + m.group("rest")).strip(),
                m.group("inside"),
            )
        org = next((o for o in (lookup(c, path) for c in (name, outside, inside) if c) if o), None)
        if org is not None:
            out.append(Match(org.name, org.kind, True, org.aliases))
            continue
        cleaned = clean_party(outside)
        if cleaned is None:
            continue
        written = [(cleaned, language_of(cleaned))]
        if inside and (short := clean_party(inside)):
            written.append((short, language_of(short)))
        out.append(Match(cleaned, guess_kind(cleaned), False, tuple(written)))
    unique: dict[str, Match] = {}
    for match in out:
        unique.setdefault(match.name, match)
    return list(unique.values())
