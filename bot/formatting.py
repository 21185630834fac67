"""Telegram HTML for answers, help and source lists. Pure: no `telegram` import.

Every piece of article text, title, URL and user text goes through html.escape. Messages are
packed from whole blocks (the answer, each quote with its attribution), so a split never falls
inside a tag or an entity; the visible length is measured the way Telegram counts it (after
entity parsing) in UTF-16 code units, with headroom under the 4096 limit.
"""

from __future__ import annotations

import datetime as dt
import html
import re

from bot.texts import EXAMPLES, date_text, text
from index.models import Answer, Article, Quote

MESSAGE_LIMIT = 4000  # Telegram allows 4096 after entity parsing; keep headroom
# Reported server limits on formatting itself (tdlib/telegram-bot-api#165: "Entities_too_long"
# past ~9.5k characters of entities; entities past the 100th ignored): stay well inside both.
MAX_HTML_CHARS = 8000
MAX_ENTITIES = 90
_OPEN_TAG = re.compile(r"<(?!/)[a-z]")
TITLE_CHARS = 300
_TAG = re.compile(r"<[^>]*>")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def esc(text: str) -> str:
    """Escaped for Telegram HTML. A lone surrogate (no article has one: they are strict UTF-8, but
    a str can) becomes U+FFFD, since no UTF-8 request body can carry it."""
    return html.escape(_SURROGATE.sub("\ufffd", text), quote=True)


def visible(message_html: str) -> str:
    """The text a user sees once Telegram has parsed the HTML (tags gone, entities decoded)."""
    return html.unescape(_TAG.sub("", message_html))


def _u16(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def visible_length(message_html: str) -> int:
    """Length as Telegram limits it, in UTF-16 code units."""
    return _u16(visible(message_html))


def fits(message_html: str, limit: int = MESSAGE_LIMIT) -> bool:
    """Within Telegram's text limit and the formatting limits above."""
    return (
        visible_length(message_html) <= limit
        and len(message_html) <= MAX_HTML_CHARS
        and len(_OPEN_TAG.findall(message_html)) <= MAX_ENTITIES
    )


def to_plain(message_html: str) -> str:
    """Fallback text without any markup, for when Telegram refuses to parse the HTML."""
    return visible(message_html)


def format_date(day: dt.date | None, language: str = "en") -> str:
    return date_text(day, language) if day else "date unknown"


def dating(result: Answer, today: dt.date | None = None) -> str:
    """ "As of 1 July 2025.", and when the newest source on the subject is old, how old (plain
    text)."""
    if not result.answered or result.as_of is None:
        return ""
    language = result.language
    line = text("as_of", language, date=date_text(result.as_of, language))
    if result.stale and result.newest_source is not None:
        days = ((today or dt.date.today()) - result.newest_source).days
        newest = date_text(result.newest_source, language)
        line += " " + text("stale", language, date=newest, days=days)
    return line


def answering(result: Answer) -> str:
    """ "Answering: who headed ukraine's delegation?" for a completed follow-up (plain text)."""
    return text("answering", result.language, question=result.question)


def declined(result: Answer, *, see_sources: bool = True) -> str:
    """ "Not in my sources", and why when it is known: the question asks about a time after the
    newest article (plain text)."""
    language = result.language
    if result.beyond_sources and result.newest_source is not None:
        return text("beyond_sources", language, date=date_text(result.newest_source, language))
    line = text("not_in_sources", language)
    return f"{line} {text('see_sources', language)}" if see_sources else line


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def title_link(title: str, url: str | None) -> str:
    """The title, shortened and escaped, linked to the article when it has a web link."""
    shown = esc(_shorten(" ".join(title.split()), TITLE_CHARS))
    if url and url.startswith(("http://", "https://")):
        return f'<a href="{esc(url)}">{shown}</a>'
    return shown


def attribution(title: str, url: str | None, published: dt.date | None) -> str:
    return f"— {title_link(title, url)}, {format_date(published)}"


def quote_block(quote: Quote, *, expandable: bool) -> str:
    """The quote in a blockquote with the answering sentence in bold, then its source."""
    text = quote.text
    a, b = quote.sentence_start - quote.start, quote.sentence_end - quote.start
    if not 0 <= a < b <= len(text):
        a, b = 0, len(text)
    inner = f"{esc(text[:a])}<b>{esc(text[a:b])}</b>{esc(text[b:])}"
    tag = "<blockquote expandable>" if expandable else "<blockquote>"
    return f"{tag}{inner}</blockquote>\n{attribution(quote.title, quote.url, quote.published)}"


def answer_blocks(result: Answer, quotes: list[Quote] | None = None) -> list[str]:
    """The answer as HTML blocks: what was answered when a follow-up was completed ("Answering:
    who headed ukraine's delegation?"), the statement, then one block per quote."""
    if result.asked is not None:
        shown = f"<i>{esc(answering(result))}</i>"
        return [shown, *answer_blocks(result.model_copy(update={"asked": None}), quotes)]
    if not result.answered:
        return [esc(declined(result))]
    quotes = result.quotes if quotes is None else quotes
    statement = (result.answer or "").strip()
    if not statement and not quotes:  # nothing to show: say so rather than send an empty message
        return answer_blocks(result.model_copy(update={"answered": False}))
    blocks = [esc(result.answer)] if statement else []
    when = dating(result)
    if when:
        blocks.append(f"<i>{esc(when)}</i>")
    blocks += [quote_block(q, expandable=i > 0) for i, q in enumerate(quotes)]
    return blocks


def more_blocks(quotes: list[Quote], language: str = "en") -> list[str]:
    heading = f"<b>{esc(text('more_heading', language))}</b>"
    return [heading] + [quote_block(q, expandable=True) for q in quotes]


def pack(blocks: list[str], limit: int = MESSAGE_LIMIT) -> list[str]:
    """Join blocks into as few messages as fit the limit; a split only ever falls between
    blocks. A block too long on its own is sent as plain-text pieces cut at spaces."""
    messages: list[str] = []
    current = ""
    for block in blocks:
        if not visible(block).strip():
            continue  # Telegram refuses a message with no visible text
        pieces = [block] if fits(block, limit) else _cut(visible(block), limit)
        for piece in pieces:
            candidate = f"{current}\n\n{piece}" if current else piece
            if fits(candidate, limit):
                current = candidate
            else:
                messages.append(current)
                current = piece
    if current:
        messages.append(current)
    return messages


def _cut(text: str, limit: int) -> list[str]:
    """Escaped pieces of plain text, each at most `limit` UTF-16 units when visible."""
    limit = min(limit, MAX_HTML_CHARS // 6)  # escaping can grow a character to 6 ("&quot;")
    pieces, rest = [], text
    while rest:
        take = min(len(rest), limit)
        while _u16(rest[:take]) > limit:
            take -= 1
        if take < len(rest) and not rest[take].isspace():
            space = rest.rfind(" ", 0, take)
            if space > 0:
                take = space  # end on a word boundary when there is one
        pieces.append(esc(rest[:take].strip()))
        rest = rest[take:].lstrip()
    return [p for p in pieces if p]


def help_text(article_count: int, newest: dt.date | None, language: str = "en") -> str:
    examples = "\n".join(f"• {esc(e)}" for e in EXAMPLES.get(language, EXAMPLES["en"]))
    newest_text = text("newest", language, date=newest.isoformat()) if newest else ""
    return text("help", language, count=article_count, newest=newest_text, examples=examples)


def sources_blocks(articles: list[Article]) -> list[str]:
    """One line per article, newest first."""
    ordered = sorted(articles, key=lambda a: (a.published or dt.date.min, a.id), reverse=True)
    lines = [f"<b>{len(ordered)} article{'s' if len(ordered) != 1 else ''} in my index:</b>"]
    for article in ordered:
        title = title_link(article.title, article.url)
        source = f" ({esc(_shorten(article.source, 80))})" if article.source else ""
        lines.append(f"• {format_date(article.published)}: {title}{source}")
    return lines


def latest_blocks(articles: list[Article], count: int, language: str = "en") -> list[str]:
    """The `count` newest articles, newest first, one line each with its date and outlet."""
    dated = [a for a in articles if a.published]
    ordered = sorted(dated, key=lambda a: (a.published, a.id), reverse=True)[:count]
    if not ordered:
        return sources_blocks(articles)
    lines = [f"<b>{esc(text('latest_heading', language))}</b>"]
    for article in ordered:
        source = f" ({esc(_shorten(article.source, 80))})" if article.source else ""
        when = format_date(article.published, language)
        lines.append(f"• {when}: {title_link(article.title, article.url)}{source}")
    return lines


def inline_title(result: Answer) -> str:
    """One line for the inline result's title, which Telegram requires to be non-empty."""
    statement = " ".join(_SURROGATE.sub("\ufffd", result.answer or "").split())
    return _shorten(statement or "Not in my sources", 120)
