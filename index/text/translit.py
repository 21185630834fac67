"""Cyrillic names in the articles' Latin spelling, and a spelling-blind key to find them.

Ukrainian through translitua (KMU 2010), Russian through iuliia's Wikipedia scheme, both with
the rules English news follows (-sky, no "ie" after a consonant) and the exonyms of
exonyms.tsv (Стамбул → Istanbul). The spellings news uses are themselves inconsistent
(Zelensky but Syrskyi), so an article word is matched by fold(), not by its spelling: measured
on 42 Ukrainian and 44 Russian names, every one matches (../shared/reference/
multilingual-notes.md)."""

from __future__ import annotations

import re
from functools import cache
from importlib.resources import files

import iuliia
import translitua

_CONSONANT_YE = re.compile(r"(?<=[бвгґджзклмнпрстфхцчшщ])є", re.I)
_SKY = re.compile(r"(?i)(sk)(yi|iy|ij|yj|ii|y|i)\b")
# Case endings, longest first: "Лаврова" → "Лавров", "Женеві" → "Женев".
_ENDING = re.compile(
    r"(?:ами|ями|ого|его|ому|ему|ими|ыми|ій|ой|ей|ий|ый|ая|яя|ое|ее|ов|ев|ам|ям|ах|ях|ом|ем|ою|ею"
    r"|у|ю|а|я|е|є|і|и|ы|ь)$"
)


@cache
def _exonyms() -> list[tuple[str, str]]:
    text = files("index.text").joinpath("exonyms.tsv").read_text(encoding="utf-8")
    pairs = []
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            stem, _, english = line.partition("\t")
            pairs.append((stem.strip().lower(), english.strip()))
    return sorted(pairs, key=lambda p: -len(p[0]))


def exonym_targets() -> list[str]:
    """The English names exonyms.tsv gives (Istanbul, Geneva, Crimea…)."""
    return [english for _, english in _exonyms()]


def exonym(word: str) -> str | None:
    lowered = word.lower()
    for stem, english in _exonyms():
        if lowered.startswith(stem):
            return english
    return None


def to_latin(word: str, language: str) -> str:
    """A Cyrillic word in English news spelling: Зеленський → Zelensky, Харькове → Kharkiv."""
    found = exonym(word)
    if found:
        return found
    if language == "uk":
        latin = translitua.translit(_CONSONANT_YE.sub("е", word))
    else:
        latin = iuliia.WIKIPEDIA.translate(word.replace("ё", "е").replace("Ё", "Е"))
        latin = re.sub(r"(?i)iy(?=[eau])", "i", latin)  # Dmitriyev → Dmitriev
        latin = re.sub(r"(?i)oy(?=[gk])", "oi", latin)  # Shoygu → Shoigu
    return _SKY.sub(r"\1y", latin)


def stem_of(word: str) -> str:
    """The word without a case ending, if at least four letters are left."""
    bare = _ENDING.sub("", word)
    return bare if len(bare) >= 4 else word


_FOLD_PAIRS = (("dzh", "j"), ("kh", "h"), ("zh", "z"), ("sh", "s"), ("ch", "c"), ("ts", "c"))
_ASCII = str.maketrans("áàâäãåéèêëíìîïóòôöõúùûüýÿñçš", "aaaaaaeeeeiiiiooooouuuuyyncs")


def fold(text: str) -> str:
    """A spelling-blind key: kh→h, y/j/i→i, doubled letters once, apostrophes dropped
    (Zelenskyi, Zelensky and Zelenskiy all give "zelenski")."""
    s = re.sub(r"['’ʹ`\-]", "", text.lower().translate(_ASCII))
    for a, b in _FOLD_PAIRS:
        s = s.replace(a, b)
    s = re.sub(r"[yji]+", "i", s).replace("ie", "e")
    return re.sub(r"(.)\1+", r"\1", s)


def latin_keys(word: str, language: str) -> tuple[str, ...]:
    """Fold keys to look a Cyrillic word up by (as written, and without its case ending); an
    article word matches if its fold starts with one of them."""
    keys = {fold(to_latin(word, language))}
    stemmed = stem_of(word)
    if stemmed != word:
        keys.add(fold(to_latin(stemmed, language)))
    return tuple(sorted(k for k in keys if len(k) >= 3))
