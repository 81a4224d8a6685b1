"""Near-duplicate ("story") grouping: MinHash over word shingles, LSH banding done by us.

Pure functions only, no database code. The integration (SQL side) is:

1. For a new article: ``sig = signature(title, text)`` and ``keys = band_keys(sig)``
   (``text`` is the lead and body paragraphs joined with newlines, without the title).
2. ``SELECT DISTINCT article_id FROM story_band WHERE key IN (:keys)`` (restricted to
   articles published within ``CANDIDATE_WINDOW_DAYS`` of the new one), then load the
   candidates' stored signatures.
   The window belongs in the SQL query: otherwise the candidate count grows with the table.
3. ``sims = similarities(sig, cand_sigs)`` (batched ``similarity``); if the best is
   ``>= THRESHOLD`` the new article takes that candidate's ``story_id``, else it starts a new
   story. Articles with an empty text and title get no band keys and start their own story.
4. Insert one ``story_band(key, article_id)`` row per key of the new article and store
   ``sig`` (``NUM_PERM * 4`` bytes) with it.

Exact duplicates (same normalised text under another URL) are caught earlier with
``content_hash``.

Signatures depend on ``NUM_PERM``, ``SEED``, ``SHINGLE_K``, the normalisation and the
datasketch permutation scheme ("affine32"): if any of them changes, bump
``SIGNATURE_VERSION`` and recompute the stored signatures and band keys.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence

import numpy as np

SIGNATURE_VERSION = 1
NUM_PERM = 128
SEED = 1
SHINGLE_K = 3
# Tuned on the dev corpus (python -m bench.stories ../shared/corpus/dev --sweep): with k=3 and
# text only, true variants have estimated Jaccard >= 0.445 (exact >= 0.464) and the closest
# unrelated pair (same topic) 0.062 (exact 0.061). 0.25 is the middle of that gap; P and R are
# 1.0 for every threshold in 0.10..0.45, so the exact value is not fitted to the 90 articles.
THRESHOLD = 0.25
# LSH banding: P(candidate) = 1 - (1 - J**ROWS)**BANDS. (42, 3) is datasketch's balanced
# choice for 0.25: 0.98 at J=0.445 (the lowest true variant of the dev corpus), 0.996 at
# J=0.5, 0.68 at J=0.3, and 0.005 at J=0.05. The recall-oriented (64, 2) found more pairs
# around J=0.3 but made 0.15 of unrelated pairs candidates: at 20,000 stored articles that
# was ~500 band rows fetched per new article and 10+ ms of dedup work (bench/dedup.py);
# (42, 3) keeps the candidates to a handful.
# Changing BANDS/ROWS changes the stored keys: recompute story_band.
BANDS = 42
ROWS = 3
# Syndicated copies appear within hours (at most 19 h in the dev corpus); the integrator
# should only compare with candidates published within this many days of the article, so
# that recurring template articles (market reports, weather, ...) do not chain for months.
CANDIDATE_WINDOW_DAYS = 7

_MAX_HASH = np.uint32(0xFFFFFFFF)
# datasketch's MinHash, scheme "affine32", computed here with numpy alone (tests/test_stories.py
# checks every value against datasketch's): `import datasketch` imports its LSH modules and
# with them SciPy, 57 MB resident in every crawl for the few lines below (bench/RESULTS.md).
# Its permutations: odd multipliers and offsets drawn by numpy's RandomState(SEED).
_RANDOM = np.random.RandomState(SEED)
_A = _RANDOM.randint(0, 1 << 31, NUM_PERM, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
_B = _RANDOM.randint(0, 1 << 32, NUM_PERM, dtype=np.uint32)
_BAND_PERSON = b"veille-band-v1"  # blake2b personalisation (<= 16 bytes)

assert BANDS * ROWS <= NUM_PERM

# --- normalisation -----------------------------------------------------------------------

# Dropped after NFKD: the combining marks it leaves (Latin accents, Arabic harakat, shadda,
# sukun, superscript alef, hamza above/below and madda, so that أ إ آ ؤ ئ lose their
# hamza/madda; Quranic marks), tatweel, the lone hamza, zero-width (non-)joiners, direction
# marks and the soft hyphen: one regex pass, where str.translate looked each character up
# in a dict.
_DROPPED_RE = re.compile(
    "[\u0300-\u036f\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06dc\u06df-\u06e4\u06e7\u06e8"
    "\u06ea-\u06ed\u08d3-\u08ff\u0640\u0621\u200c-\u200f\u00ad]+"
)
# Letters unified, one for one: alef wasla -> alef, ta marbuta -> ha, alef maqsura -> ya,
# keheh -> kaf, farsi ya -> ya, Arabic-Indic and Eastern Arabic-Indic digits -> 0-9. As a
# string indexed by code point (a character past its end is kept), read faster than a dict.
_LETTER_PAIRS = {
    "\u0671": "\u0627",
    "\u0629": "\u0647",
    "\u0649": "\u064a",
    "\u06a9": "\u0643",
    "\u06cc": "\u064a",
    **{chr(0x0660 + i): str(i) for i in range(10)},
    **{chr(0x06F0 + i): str(i) for i in range(10)},
}
_LETTERS = "".join(_LETTER_PAIRS.get(chr(c), chr(c)) for c in range(0x06FA))
_LIGATURES = (("œ", "oe"), ("æ", "ae"))
_WORD_RE = re.compile(r"[^\W_]+")


def _words(text: str) -> list[str]:
    """The words of the normalised text (see normalize_text)."""
    # NFKD before casefold (compatibility forms such as mathematical letters decompose to
    # upper case) and after it (casefold can produce characters that decompose further).
    text = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    text = _DROPPED_RE.sub("", text)
    for ligature, letters in _LIGATURES:
        if ligature in text:
            text = text.replace(ligature, letters)
    return _WORD_RE.findall(text.translate(_LETTERS))


def normalize_text(text: str) -> str:
    """Casefold, drop accents and Arabic diacritics, unify Arabic letter variants,
    replace punctuation by spaces and collapse whitespace."""
    return " ".join(_words(text))


def _shingles(words: list[str], k: int) -> set[bytes]:
    if not words:
        return set()
    if len(words) <= k:
        return {" ".join(words).encode()}
    encoded = [w.encode() for w in words]  # each word once, not once per shingle it is in
    # the words from the 1st on, from the 2nd on... up to the k-th: zip stops with the
    # shortest, at the last whole shingle
    return {b" ".join(run) for run in zip(*(encoded[i:] for i in range(k)), strict=False)}


def shingles(text: str) -> set[bytes]:
    """Word ``SHINGLE_K``-shingles of the normalised text (UTF-8 bytes)."""
    return _shingles(_words(text), SHINGLE_K)


# --- signatures --------------------------------------------------------------------------


def _fmix32(hv: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer (datasketch mixes each hash with it once); uint32
    arithmetic wraps, which is the modulo 2**32 it means."""
    hv = hv ^ (hv >> np.uint32(16))
    hv = hv * np.uint32(0x85EBCA6B)
    hv = hv ^ (hv >> np.uint32(13))
    hv = hv * np.uint32(0xC2B2AE35)
    return hv ^ (hv >> np.uint32(16))


def _minhash(sh: set[bytes]) -> bytes:
    if not sh:
        return np.full(NUM_PERM, _MAX_HASH, dtype="<u4").tobytes()
    # datasketch's default hash (`sha1_hash32`): the first 4 bytes of SHA-1, little-endian,
    # read by numpy from the joined digests
    digests = b"".join([hashlib.sha1(s).digest()[:4] for s in sh])
    hv = _fmix32(np.frombuffer(digests, dtype="<u4").astype(np.uint32))
    return (hv[:, None] * _A + _B).min(axis=0).astype("<u4").tobytes()


def signature_k(title: str, text: str, k: int) -> bytes:
    """``signature`` with an explicit shingle size (used by the benchmark sweep)."""
    sh = _shingles(_words(text), k)
    if not sh:
        # Titles are rewritten by each outlet, so they only help when there is no text.
        sh = _shingles(_words(title), k)
    return _minhash(sh)


def signature(title: str, text: str) -> bytes:
    """MinHash signature of the article text, ``NUM_PERM * 4`` bytes (little-endian uint32).

    The title is ignored unless the text is empty: outlets rewrite titles, so including it
    lowers the similarity of true variants without separating unrelated articles better.
    An article with neither text nor title gets the "empty" signature (all 0xFFFFFFFF),
    which has no band keys and similarity 0 with everything.
    """
    return signature_k(title, text, SHINGLE_K)


def _as_array(sig: bytes) -> np.ndarray:
    if len(sig) != NUM_PERM * 4:
        raise ValueError(f"signature must be {NUM_PERM * 4} bytes, got {len(sig)}")
    return np.frombuffer(sig, dtype="<u4")


def is_empty(sig: bytes) -> bool:
    """True for the signature of an empty text."""
    return bool((_as_array(sig) == _MAX_HASH).all())


def band_keys(sig: bytes, bands: int = BANDS, rows: int = ROWS) -> list[int]:
    """One signed 64-bit key per band (fits a SQL BIGINT); the band index is hashed in.

    Stable across processes and Python versions (blake2b of the raw little-endian bytes).
    Returns an empty list for the empty signature, so empty articles never match.
    """
    _as_array(sig)
    if is_empty(sig):
        return []
    width = rows * 4
    keys = []
    for i in range(bands):
        digest = hashlib.blake2b(
            i.to_bytes(2, "little") + sig[i * width : (i + 1) * width],
            digest_size=8,
            person=_BAND_PERSON,
        ).digest()
        keys.append(int.from_bytes(digest, "little", signed=True))
    return keys


def similarity(sig_a: bytes, sig_b: bytes) -> float:
    """Estimated Jaccard similarity: fraction of equal MinHash values (0.0 if either is empty)."""
    a, b = _as_array(sig_a), _as_array(sig_b)
    if (a == _MAX_HASH).all() or (b == _MAX_HASH).all():
        return 0.0
    return float(np.count_nonzero(a == b)) / NUM_PERM


def similarities(sig: bytes, others: Sequence[bytes]) -> np.ndarray:
    """``similarity(sig, o)`` for every ``o`` in ``others`` in one numpy pass (float64 array).

    Use it for the candidates returned by the band-key query: it is several times faster
    than calling ``similarity`` in a loop once there are more than a few candidates.
    """
    a = _as_array(sig)
    if not others:
        return np.zeros(0)
    mat = np.frombuffer(b"".join(others), dtype="<u4")
    if mat.size != len(others) * NUM_PERM:
        raise ValueError(f"every signature must be {NUM_PERM * 4} bytes")
    mat = mat.reshape(len(others), NUM_PERM)
    sims = np.count_nonzero(mat == a, axis=1) / NUM_PERM
    if (a == _MAX_HASH).all():
        return np.zeros(len(others))
    sims[(mat == _MAX_HASH).all(axis=1)] = 0.0
    return sims


def content_hash(text: str) -> str:
    """Hex SHA-256 of ``normalize_text(text)``, for exact-duplicate detection."""
    return _sha256(normalize_text(text))


def _sha256(norm: str) -> str:
    return hashlib.sha256(norm.encode()).hexdigest()


def fingerprints(title: str, lead: str | None, text: str) -> tuple[str, bytes]:
    """``content_hash(text)`` and ``signature(title, lead + "\n" + text)`` (the lead left
    out when there is none), the text normalised once for both: the words of joined texts
    are the words of each, in order (a newline is a non-word character and decomposes
    alone)."""
    words = _words(text)
    joined = [*_words(lead), *words] if lead else words
    sh = _shingles(joined, SHINGLE_K) or _shingles(_words(title), SHINGLE_K)
    return _sha256(" ".join(words)), _minhash(sh)
