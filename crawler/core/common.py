"""Small helpers every pure module shares, written once."""

from __future__ import annotations

from datetime import UTC, datetime

# The languages veille reads, in the order a date or a text is tried when nothing says.
LANGUAGES: tuple[str, ...] = ("fr", "ar", "en")

# Arabic-Indic (U+0660..) and Persian (U+06F0..) digits -> ASCII digits, one for one.
ARABIC_DIGITS: dict[str, str] = {
    **{chr(0x0660 + i): str(i) for i in range(10)},
    **{chr(0x06F0 + i): str(i) for i in range(10)},
}
ARABIC_DIGITS_TABLE = str.maketrans(ARABIC_DIGITS)


def as_utc(value: datetime) -> datetime:
    """The moment in UTC; a naive time is taken as UTC already (as the database stores it)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
