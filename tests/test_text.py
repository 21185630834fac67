"""The pure text rules (index/text): tokens, stems, names and numbers, spelling, language."""

from __future__ import annotations

import pytest

from index.lexicon import Lexicon
from index.text.language import is_latin, question_language
from index.text.names import (
    bare,
    defined_names,
    has_word,
    mentions,
    names_all_in,
    numbers_in,
    question_names,
    spelt_numbers,
)
from index.text.spelling import Corrector, aliases, english_dictionary
from index.text.stem import stem
from index.text.tokens import STOPWORDS, content_terms, term_list, word_count, words


def corrector(sentences: list[str], dictionary: frozenset[str] = frozenset()) -> Corrector:
    lexicon = Lexicon(sentences)
    return Corrector(lexicon.words, lexicon.names, dictionary)


def test_content_terms_drop_question_words_and_stem() -> None:
    assert content_terms("What did Ukraine's drones destroy?") == {"ukrain", "dron", "destroy"}
    # Tense and plural forms meet: the port ships "leave" from is where ships were "leaving".
    assert content_terms("ships leave") == content_terms("Ships leaving")
    assert content_terms("agreed exchanges") == content_terms("agree to exchange")
    assert content_terms("talks stopped") == content_terms("talk stops")
    assert content_terms("Хто очолює делегацію?") == {"хто", "очолює", "делегацію"}


def test_term_list_keeps_order_and_repeats_for_bm25() -> None:
    assert term_list("Talks, talks and more talks in Istanbul") == [
        "talk",
        "talk",
        "talk",
        "istanbul",
    ]
    assert term_list("what is it?") == []


def test_words_keep_inner_apostrophes_and_drop_punctuation() -> None:
    assert words("Ukraine's delegation — 1,000 prisoners_swapped!") == [
        "Ukraine's",
        "delegation",
        "1",
        "000",
        "prisoners",
        "swapped",
    ]
    assert word_count("Делегації зустрілися в Стамбулі.") == 4


def test_stemmer_plural_then_tense() -> None:
    assert {stem(w) for w in ("cases", "case")} == {"case"}
    assert {stem(w) for w in ("meetings", "meeting", "meet")} == {"meet"}
    assert stem("staffed") == stem("staff")
    assert stem("agreed") == stem("agree") and stem("proceed") == "proceed"
    assert stem("churches") == "church" and stem("taxes") == "tax"
    assert stem("stopped") == "stop" and stem("planned") == "plan"
    assert stem("ukraine's") == stem("ukraine") == "ukrain"  # (lower case in)


def test_stop_words_come_from_the_data_file() -> None:
    assert {"the", "who", "according", "please"} <= STOPWORDS
    assert "ukraine" not in STOPWORDS and "#" not in STOPWORDS


def test_numbers_are_compared_without_separators() -> None:
    assert numbers_in("1,000 prisoners, the 16th package, 2025.") == {"1000", "16", "2025"}
    assert numbers_in("1,2,3 and 12,500") == {"1", "2", "3", "12500"}
    assert numbers_in("version 3.5 of 2.0") == {"3.5", "2.0"}
    assert spelt_numbers("2") == ["two", "second"]
    assert spelt_numbers("21") == [] and spelt_numbers("0") == ["zero"]


def test_question_names_are_capitalised_words_after_the_first() -> None:
    assert question_names("Who leads Belarus's delegation?") == ["Belarus's"]
    assert question_names("What did Rubio and Lavrov agree in Riyadh?") == [
        "Rubio",
        "Lavrov",
        "Riyadh",
    ]
    assert question_names("Medinsky") == []  # the first word may just be capitalised
    assert question_names("WHO LEADS BELARUS") == []  # capitals say nothing
    assert question_names("Who Leads The Russian Delegation Now") == []  # title case


def test_bare_drops_possessives() -> None:
    assert bare("Kyiv's") == "kyiv" and bare("Kyiv’s") == "kyiv" and bare("NATO") == "nato"


def test_who_is_questions_name_only_proper_names() -> None:
    proper = frozenset({"peskov", "nato", "medinsky"})
    assert defined_names("Who is Peskov?", proper) == ["peskov"]
    assert defined_names("What is NATO?", proper) == ["nato"]
    assert defined_names("who's Medinsky", proper) == ["medinsky"]
    assert defined_names("What's new?", proper) == []
    assert defined_names("Who is Peskov's wife?", proper) == []
    assert defined_names("who is", proper) == []
    assert names_all_in(["peskov"], "Kremlin spokesman Dmitry Peskov said so.")
    assert not names_all_in(["peskov", "nato"], "Kremlin spokesman Dmitry Peskov said so.")


def test_mentions_match_prefixes_and_stems() -> None:
    found = tuple(sorted({"american", "ukrainian", "europe", "kyiv"}))
    assert mentions(found, "america")  # "America" in "American"
    assert mentions(found, "ukraine")  # its stem "ukrain" begins "ukrainian"
    assert mentions(found, "european")  # "europe" begins the name
    assert not mentions(found, "belarus")
    assert has_word(found, "kyiv") and not has_word(found, "kyi")


def test_misspelled_names_are_corrected_to_the_corpus_spelling() -> None:
    fix = corrector(
        ["The Russian delegation was headed by Vladimir Medinsky.", "They met in Istanbul."]
    )
    # (a corrected name keeps its capital, so it still counts as a name)
    assert fix.correct("who is Medinksy") == "who is Medinsky"  # transposition
    assert fix.correct("talks in Istambul?") == "talks in Istanbul?"  # substitution
    assert fix.correct("Russain delegaton") == "Russian delegation"
    # Words the corpus knows, short words and unrelated words are left alone.
    assert fix.correct("Who is the president of France?") == "Who is the president of France?"
    assert fix.correct("Kyiv") == "Kyiv"


def test_names_are_only_corrected_into_names() -> None:
    fix = corrector(["Vladimir Medinsky led the delegation.", "The parks budget grew."])
    assert fix.correct("How did the Paris council vote?") == "How did the Paris council vote?"
    assert fix.correct("What did Medinskyy say?") == "What did Medinsky say?"


def test_spelling_keeps_real_words_and_maps_old_place_names() -> None:
    fix = corrector(
        ["Whether the talks succeed is unclear.", "A missile hit Kharkiv and Odesa."],
        dictionary=frozenset({"weather", "whether", "happened"}),
    )
    assert fix.correct("weather in Kyiv") == "weather in Kyiv"  # a word, not a typo
    assert fix.correct("what happened in Kharkov and Odessa") == (
        "what happened in Kharkiv and Odesa"
    )
    assert fix.correct("What happened in Kharkov's suburbs?") == (
        "What happened in Kharkiv's suburbs?"
    )
    assert fix.correct("what hapened") == "what happened"  # an everyday word, from the dictionary
    # An old name the corpus itself uses stays.
    assert corrector(["Officials in Kiev said little."]).correct("Kiev") == "Kiev"


def test_aliases_and_dictionary_are_data() -> None:
    table = aliases()
    assert table["kharkov"] == "kharkiv" and table["kiev"] == "kyiv"
    assert all(k == k.lower() and v == v.lower() for k, v in table.items())
    dictionary = english_dictionary()  # read from the model package's files, no model loaded
    assert len(dictionary) > 10_000 and {"weather", "whether"} <= dictionary


@pytest.mark.parametrize(
    ("question", "language"),
    [
        ("Who leads the delegation?", "en"),
        ("Хто очолює делегацію України?", "uk"),  # і, ї, є, ґ
        ("Кто возглавляет делегацию Украины?", "ru"),
        ("Що сказав Зеленський?", "uk"),  # no Ukrainian-only letter: its function words
        ("Коли почалися переговори?", "uk"),
        ("Где прошли переговоры", "ru"),
        ("Кто возглавляет делегацию?", "ru"),
        ("12345", "en"),
    ],
)
def test_question_language(question: str, language: str) -> None:
    assert question_language(question) == language


def test_the_users_language_decides_what_the_letters_do_not() -> None:
    assert question_language("Шмигаль", "uk") == "uk"  # a name alone: no clue in the text
    assert question_language("Шмигаль", "ru") == "ru"
    assert question_language("Шмигаль") == "ru"
    assert question_language("Хто очолює делегацію?", "ru") == "uk"  # the letters win
    assert question_language("Кто возглавляет делегацию?", "uk") == "ru"  # the words win
    assert question_language("who leads", "uk") == "en"


def test_script() -> None:
    assert is_latin("Who leads?") and is_latin("Zaporizhzhia Ñ é") and is_latin("123")
    assert not is_latin("Хто очолює?")
