"""Industrial-agreement detector.

    from crawler.core.detection import detect, Verdict, RULES_VERSION
    v = detect(title, lead, text, language)   # language: "fr" | "ar" | "en" | None

Vocabulary and weights live in crawler/core/rules/*.toml; RULES_VERSION is a hash of
those files and of this package's code, so stored verdicts can be re-classified when
either changes.
"""

from .core import Verdict, detect
from .rules import compute_rules_version, load_rules, rules_hash

RULES_VERSION: str = compute_rules_version()

__all__ = [
    "RULES_VERSION",
    "Verdict",
    "compute_rules_version",
    "detect",
    "load_rules",
    "rules_hash",
]
