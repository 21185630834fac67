"""Words that carry meaning: tokenizing, a light stemmer, typo-tolerant matching, IDF weights.

Used to break ties the embedding cannot (an exact name or number in the question) and to check,
in the grey zone of the similarity score, that a passage shares the question's subject at all.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache

WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)
# Function words, question words and words that describe the asking rather than the topic.
STOPWORDS = frozenset(
    """
    a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing down during each few
    for from further had has have having he her here hers him his how i if in into is it its
    itself just me more most my no nor not now of off on once only or other our out over own
    same she should so some such than that the their theirs them then there these they this
    those through to too under until up very was we were what when where which while who
    whom whose why will with would you your wat wht whats who's what's there's is's tell say
    says said mention mentioned mentions article articles report reported reports happen
    happened happening regarding according know known describe described explain anything
    something thing things please
    """.split()
)


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    """A light English stemmer: plural, then tense endings, so 'drones' meets 'drone',
    'meetings' meets 'meeting' and 'leaving' meets 'leave' (a final e is dropped, a doubled
    final consonant halved)."""
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


def content_terms(text: str) -> set[str]:
    """Lower-cased stems of the words that carry meaning."""
    return _terms_of(m.group().lower() for m in WORD.finditer(text))


def term_list(text: str) -> list[str]:
    """The stems of content_terms, in order and with repeats (for BM25)."""
    words = (m.group().lower() for m in WORD.finditer(text))
    return [_stem(w) for w in words if len(w) >= 3 and w not in STOPWORDS]


def _terms_of(words: Iterable[str]) -> set[str]:
    return {_stem(w) for w in words if len(w) >= 3 and w not in STOPWORDS}


# Russian-derived spellings of Ukrainian places that readers still type, and the spelling news
# outlets use now. Applied only when the corpus uses the second and not the first.
ALIASES = {
    "kiev": "kyiv",
    "kharkov": "kharkiv",
    "odessa": "odesa",
    "nikolaev": "mykolaiv",
    "nikolayev": "mykolaiv",
    "lugansk": "luhansk",
    "zaporozhye": "zaporizhzhia",
    "zaporozhie": "zaporizhzhia",
    "dnepr": "dnipro",
    "dnepropetrovsk": "dnipro",
    "chernigov": "chernihiv",
    "lvov": "lviv",
    "rovno": "rivne",
    "artemovsk": "bakhmut",
    "kirovograd": "kropyvnytskyi",
    "zhitomir": "zhytomyr",
    "vinnitsa": "vinnytsia",
    "chernobyl": "chornobyl",
}
NUMBER = re.compile(r"(?<![\d.])(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?")


_POSSESSIVE = re.compile(r"['’]s$")


def bare(word: str) -> str:
    """The word in lower case without a possessive 's: "Kyiv's" → "kyiv"."""
    return _POSSESSIVE.sub("", word.lower())


def numbers_in(text: str) -> set[str]:
    """The numbers written in text, without thousands separators: "1,000" and "1000" → "1000",
    "16th" → "16"; "1,2,3" is three numbers."""
    return {m.group().replace(",", "") for m in NUMBER.finditer(text)}


def question_names(question: str) -> list[str]:
    """Capitalised words of the question after its first word: likely names of people, places
    and bodies. None when the question is in capitals or title case throughout, where capitals
    say nothing about names."""
    found = [m.group() for m in WORD.finditer(question)]
    letters = [c for c in question if c.isalpha()]
    if not found or sum(c.isupper() for c in letters) > 0.5 * len(letters):
        return []
    capitalised = [w for w in found[1:] if w[0].isupper()]
    if len(capitalised) > 0.6 * max(1, len(found) - 1) and len(found) > 3:
        return []
    return [w for w in capitalised if len(w) >= 3 and w.lower() not in STOPWORDS]


def _deletes(word: str) -> set[str]:
    """The word and every form of it with one letter removed (symmetric-delete spelling index:
    two words one edit or one transposition apart share a member)."""
    return {word, *(word[:i] + word[i + 1 :] for i in range(len(word)))}


def _cased_like(original: str, word: str) -> str:
    """word with original's initial capital ("Medinksy" → "Medinsky"): corrected names stay
    names for the checks that look for capitals."""
    return word[:1].upper() + word[1:] if original[:1].isupper() else word


def _delete_index(words: Iterable[str]) -> dict[str, set[str]]:
    index: dict[str, set[str]] = {}
    for word in words:
        if len(word) >= 5 and not word.isdigit():
            for variant in _deletes(word):
                index.setdefault(variant, set()).add(word)
    return index


class TermWeights:
    """Inverse document frequency of terms over a set of texts (sentences of the index).

    A question term that never occurs gets the highest weight: an unknown name in the question
    ("France", "Kyiv" in a corpus that never mentions them) counts heavily against a match.
    """

    def __init__(self, texts: Iterable[str], dictionary: frozenset[str] = frozenset()) -> None:
        """texts: the corpus's sentences; dictionary: real words (lower case) that are never
        "corrected" into a corpus word ("weather" is not a typo of "whether")."""
        df: Counter[str] = Counter()
        words: set[str] = set()
        names: set[str] = set()  # words the corpus writes with a capital: likely proper names
        inner_capital: Counter[str] = Counter()  # capitalised inside a sentence
        lower_case: Counter[str] = Counter()
        n = 0
        for text in texts:
            n += 1
            found = [m.group() for m in WORD.finditer(text)]
            lowered = [w.lower() for w in found]
            words.update(lowered)
            names.update(w.lower() for w in found if w[0].isupper())
            for position, word in enumerate(found):
                if word[0].isupper():
                    if position:
                        inner_capital[bare(word)] += 1
                else:
                    lower_case[bare(word)] += 1
            df.update(_terms_of(lowered))
        # Proper names: capitalised inside sentences at least as often as not ("Medinsky",
        # "NATO"; not "New" or "Officials", capitalised only at the start of sentences).
        self.proper = frozenset(w for w, c in inner_capital.items() if c >= lower_case[w])
        self.n = n
        self.df = df
        self.words = words
        self.names = names
        self.unseen = math.log(1 + (n + 1) / 0.5)
        self._deletes: dict[str, set[str]] | None = None
        self._dictionary_deletes: dict[str, set[str]] = {}
        self.dictionary = dictionary

    def correct(self, question: str) -> str:
        """The question with misspelled words replaced by the one corpus word they are a single
        edit (or transposition) away from: 'Medinksy' → 'medinsky'; failing that, the one
        dictionary word ('hapened' → 'happened'). Words the corpus or the dictionary knows,
        short words and ambiguous corrections are left alone."""
        if self._deletes is None:  # both built before either is published (threads)
            dictionary_deletes = _delete_index(self.dictionary - self.words)
            corpus_deletes = _delete_index(self.words)
            self._dictionary_deletes = dictionary_deletes
            self._deletes = corpus_deletes
        out, last = [], 0
        for match in WORD.finditer(question):
            word = match.group().lower()
            base = bare(word)
            alias = ALIASES.get(base)
            if alias and alias in self.words and base not in self.words:  # Kharkov → Kharkiv
                out.append(question[last : match.start()])
                out.append(_cased_like(match.group(), alias) + match.group()[len(base) :])
                last = match.end()
                continue
            if (
                len(word) < 5
                or word in self.words
                or word in STOPWORDS
                or word in self.dictionary
                or word.isdigit()
            ):
                continue
            candidates: set[str] = set()
            for variant in _deletes(word):
                candidates |= self._deletes.get(variant, set())
            candidates.discard(word)
            if match.group()[0].isupper():  # a name is only corrected into a name: not
                candidates &= self.names  # "Paris" into "parks"
            elif not candidates:  # not a corpus word: an everyday word misspelt?
                for variant in _deletes(word):
                    candidates |= self._dictionary_deletes.get(variant, set())
            if len(candidates) == 1:
                out.append(question[last : match.start()])
                out.append(_cased_like(match.group(), candidates.pop()))
                last = match.end()
        out.append(question[last:])
        return "".join(out)

    def known(self, word: str) -> bool:
        lowered = word.lower()
        base = bare(lowered)
        return lowered in self.words or base in self.words or _stem(lowered) in self.df

    def unknown_names(self, question: str) -> list[str]:
        """Names in the question (see question_names) that the corpus never uses: "Belarus" in
        "Who leads Belarus's delegation?"."""
        return [w for w in question_names(question) if not self.known(w)]

    def idf(self, term: str) -> float:
        count = self.df.get(term, 0)
        return math.log(1 + (self.n + 1) / (count + 0.5)) if count else self.unseen

    def coverage(self, question_terms: set[str], text_terms: set[str]) -> float:
        """Share of the question's term weight found in the text (0..1)."""
        total = sum(self.idf(t) for t in question_terms)
        if total <= 0:
            return 0.0
        return sum(self.idf(t) for t in question_terms if t in text_terms) / total
