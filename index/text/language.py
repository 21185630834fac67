"""Script and language of a text: Latin or not, and en/uk/ru for a question."""

from __future__ import annotations

import re

UKRAINIAN_ONLY = frozenset("іїєґІЇЄҐ")
RUSSIAN_ONLY = frozenset("ыэъёЫЭЪЁ")
# Function words of one language only, for questions with no letter of one language only
# ("Коли почалися переговори?" is Ukrainian, "Кто возглавляет делегацию?" Russian).
_UKRAINIAN_WORDS = re.compile(
    r"(?<!\w)(що|хто|як|чи|де|коли|який|яка|яке|які|скільки|чому|навіщо|від|до|про|та|це|або)(?!\w)",
    re.I,
)
_RUSSIAN_WORDS = re.compile(
    r"(?<!\w)(что|кто|как|где|когда|какой|какая|какое|какие|сколько|почему|зачем|от|про|это|или|ли)(?!\w)",
    re.I,
)


def is_latin(text: str) -> bool:
    """Mostly Latin letters (English and other Latin-script questions)."""
    letters = [c for c in text if c.isalpha()]
    latin = sum(1 for c in letters if c.isascii() or "\u00c0" <= c <= "\u024f")
    return not letters or latin >= 0.5 * len(letters)


def question_language(text: str, hint: str | None = None) -> str:
    """'uk', 'ru' or 'en' (the replies' fixed texts follow it). Cyrillic is Ukrainian if it has
    a letter only Ukrainian uses (і ї є ґ) or an apostrophe, Russian if one only Russian uses
    (ы э ъ ё); otherwise whichever language's function words it uses more, and on a tie the
    user's own language (`hint`, e.g. Telegram's) if it is one of the two, else Russian;
    anything else is English."""
    letters = [c for c in text if c.isalpha()]
    cyrillic = [c for c in letters if "\u0400" <= c <= "\u04ff"]
    if not letters or len(cyrillic) < 0.5 * len(letters):
        return "en"
    if any(c in UKRAINIAN_ONLY for c in cyrillic) or re.search(r"\w['’ʼ]\w", text):
        return "uk"
    if any(c in RUSSIAN_ONLY for c in cyrillic):
        return "ru"
    uk, ru = len(_UKRAINIAN_WORDS.findall(text)), len(_RUSSIAN_WORDS.findall(text))
    if uk != ru:
        return "uk" if uk > ru else "ru"
    return hint if hint in ("uk", "ru") else "ru"
