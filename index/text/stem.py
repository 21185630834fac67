"""A light English stemmer: plural, then tense endings."""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """Plural, then tense endings, so 'drones' meets 'drone', 'meetings' meets 'meeting' and
    'leaving' meets 'leave' (a final e is dropped, a doubled final consonant halved)."""
    for suffix in ("'s", "’s"):
        if word.endswith(suffix):
            word = word[: -len(suffix)]
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("es") and word.endswith(("sses", "shes", "ches", "xes", "zes")):
        word = word[:-2]  # taxes → tax, churches → church
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
        word = word[:-1]  # cases → case, meetings → meeting
    if word.endswith("eed"):
        if word.endswith(("reed", "teed")):
            word = word[:-1]  # agreed → agree, guaranteed → guarantee (proceed, exceed stay)
    elif word.endswith(("ing", "ed")) and len(word) > 5:
        word = word[:-3] if word.endswith("ing") else word[:-2]
        if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "aeiouylszf":
            word = word[:-1]  # stopped → stop, planned → plan (staffed → staff)
    if word.endswith("e") and len(word) > 4 and not word.endswith("ee"):
        word = word[:-1]  # leave/leaving → leav, exchange/exchanged → exchang
    return word
