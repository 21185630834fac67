"""Corpus statistics: IDF coverage, known and unknown names, which article mentions what."""

from __future__ import annotations

import datetime as dt

from index.lexicon import ArticleWords, Lexicon, Mentions
from index.text.tokens import content_terms


def test_coverage_weights_rare_terms_over_common_ones() -> None:
    lexicon = Lexicon(
        ["Ukraine and Russia met.", "Ukraine wants peace.", "Ukraine's population fell."]
    )
    text = content_terms("Ukraine's population fell")
    assert lexicon.coverage(content_terms("population of Ukraine"), text) == 1.0
    partial = lexicon.coverage(
        content_terms("population of France"), content_terms("Ukraine's population")
    )
    assert 0 < partial < 0.5  # the unseen name weighs most
    assert lexicon.coverage(set(), text) == 0.0
    assert lexicon.idf("ukrain") < lexicon.idf("population") < lexicon.idf("france")


def test_unknown_names() -> None:
    lexicon = Lexicon(
        ["Vladimir Medinsky led the Russian delegation.", "The parks budget grew.", "NATO met."]
    )
    assert lexicon.unknown_names("Who leads Belarus's delegation?") == ["Belarus's"]
    assert lexicon.unknown_names("Who is Vladimir Medinsky?") == []
    assert lexicon.unknown_names("What does NATO want?") == []
    assert lexicon.unknown_names("WHO LEADS BELARUS") == []  # all capitals: no signal
    assert lexicon.known("delegations") and not lexicon.known("Minsk")


def test_proper_names_are_capitalised_inside_sentences() -> None:
    lexicon = Lexicon(
        [
            "New talks began in Istanbul.",
            "Next, the delegations met.",
            "Kremlin spokesman Dmitry Peskov said NATO was absent.",
            "The next round is new.",
        ]
    )
    assert {"peskov", "nato", "istanbul", "dmitry"} <= lexicon.proper
    assert "new" not in lexicon.proper and "next" not in lexicon.proper


def test_articles_must_mention_the_names_and_numbers_asked_about() -> None:
    mentions = Mentions(
        {
            "may-swap": ArticleWords.of(
                "The 1,000-for-1,000 swap", "Ukraine and Russia freed 390 prisoners each.", None
            ),
            "easter": ArticleWords.of(
                "Easter truce", "Ukraine and Russia swapped 246 prisoners.", dt.date(2025, 4, 19)
            ),
            "riyadh": ArticleWords.of(
                "Riyadh", "Rubio met Lavrov in the second round.", dt.date(2025, 2, 18)
            ),
        }
    )
    assert mentions.missing(["Easter"], set(), "may-swap") == ["Easter"]
    assert mentions.missing(["Easter"], set(), "easter") == []
    assert mentions.missing([], {"246"}, "may-swap") == ["246"]
    assert mentions.missing([], {"1000"}, "may-swap") == []  # written 1,000
    assert mentions.missing([], {"2"}, "riyadh") == []  # "second"
    assert mentions.missing(["February"], {"2025"}, "riyadh") == []  # from the date
    # A name most articles use says nothing about which is meant: never required.
    assert mentions.missing(["Ukraine"], set(), "riyadh") == []
    assert mentions.is_common("ukraine") and not mentions.is_common("easter")
