"""Script and language of a text: Latin or not, and en/uk/ru for a question."""

from __future__ import annotations

UKRAINIAN_ONLY = frozenset("іїєґІЇЄҐ")


def is_latin(text: str) -> bool:
    """Mostly Latin letters (English and other Latin-script questions)."""
    letters = [c for c in text if c.isalpha()]
    latin = sum(1 for c in letters if c.isascii() or "\u00c0" <= c <= "\u024f")
    return not letters or latin >= 0.5 * len(letters)


def question_language(text: str) -> str:
    """'uk', 'ru' or 'en': Cyrillic with Ukrainian-only letters is Ukrainian, other Cyrillic
    Russian, anything else English (the replies' fixed texts follow it)."""
    letters = [c for c in text if c.isalpha()]
    cyrillic = [c for c in letters if "\u0400" <= c <= "\u04ff"]
    if not letters or len(cyrillic) < 0.5 * len(letters):
        return "en"
    return "uk" if any(c in UKRAINIAN_ONLY for c in cyrillic) else "ru"
