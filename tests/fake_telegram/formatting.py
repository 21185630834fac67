"""Parse Bot API formatted text (HTML / MarkdownV2 / legacy Markdown) into
(plain_text, entities) the way the real server does, and fail the same way.

Error strings follow the wording the real server (tdlib) uses after the prefix
"Bad Request: can't parse entities: ".  Offsets of the returned entities are in
UTF-16 code units, like the real API; offsets inside error messages are UTF-8
byte offsets, like the real API.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field


class EntityParseError(ValueError):
    pass


def u16len(s: str) -> int:
    return len(s.encode("utf-16-le")) // 2


@dataclass
class _Builder:
    parts: list[str] = field(default_factory=list)
    pos16: int = 0
    entities: list[dict] = field(default_factory=list)

    def add(self, s: str) -> None:
        self.parts.append(s)
        self.pos16 += u16len(s)

    def text(self) -> str:
        return "".join(self.parts)

    def entity(self, etype: str, start16: int, **extra) -> None:
        length = self.pos16 - start16
        if length > 0:
            self.entities.append({"type": etype, "offset": start16, "length": length, **extra})


def _byte_offset(text: str, i: int) -> int:
    return len(text[:i].encode("utf-8"))


# ----------------------------------------------------------------------------- HTML
_HTML_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_HTML_ENTITY = re.compile(r"&(#[0-9]{1,7}|#x[0-9a-fA-F]{1,6}|lt|gt|amp|quot);")


def parse_html(text: str) -> tuple[str, list[dict]]:
    b = _Builder()
    stack: list[dict] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "&":
            m = _HTML_ENTITY.match(text, i)
            if m:
                b.add(html.unescape(m.group(0)))
                i = m.end()
            else:  # a lone '&' is kept as is by the real server
                b.add("&")
                i += 1
            continue
        if c != "<":
            b.add(c)
            i += 1
            continue
        off = _byte_offset(text, i)
        if i + 1 >= n:
            raise EntityParseError(f"Unclosed start tag at byte offset {off}")
        if text[i + 1] != "/":  # start tag
            j = i + 1
            while j < n and not text[j].isspace() and text[j] != ">":
                j += 1
            if j >= n:
                raise EntityParseError(f"Unclosed start tag at byte offset {off}")
            name = text[i + 1 : j].lower()
            if name not in _HTML_TAGS:
                raise EntityParseError(f'Unsupported start tag "{name}" at byte offset {off}')
            attrs: dict[str, str] = {}
            k = j
            while True:
                while k < n and text[k].isspace():
                    k += 1
                if k >= n:
                    raise EntityParseError(f"Unclosed start tag at byte offset {off}")
                if text[k] == ">":
                    k += 1
                    break
                a0 = k
                while k < n and not text[k].isspace() and text[k] not in "=>":
                    k += 1
                aname = text[a0:k].lower()
                if not aname:
                    raise EntityParseError(
                        f'Empty attribute name in the tag "{name}" at byte offset {off}'
                    )
                while k < n and text[k].isspace():
                    k += 1
                value = ""
                if k < n and text[k] == "=":
                    k += 1
                    while k < n and text[k].isspace():
                        k += 1
                    if k >= n:
                        raise EntityParseError(f"Unclosed start tag at byte offset {off}")
                    if text[k] in "\"'":
                        end = text.find(text[k], k + 1)
                        if end == -1:
                            raise EntityParseError(f"Unclosed start tag at byte offset {off}")
                        value = html.unescape(text[k + 1 : end])
                        k = end + 1
                    else:
                        v0 = k
                        while k < n and not text[k].isspace() and text[k] != ">":
                            k += 1
                        value = html.unescape(text[v0:k])
                attrs[aname] = value
            etype, extra = _HTML_TAGS[name], {}
            if name == "span" and attrs.get("class") != "tg-spoiler":
                raise EntityParseError(
                    f'Tag "span" must have class "tg-spoiler" at byte offset {off}'
                )
            if name == "a":
                url = attrs.get("href", "")
                m = re.fullmatch(r"tg://user\?id=(\d+)", url)
                if m:
                    etype, extra = (
                        "text_mention",
                        {"user": {"id": int(m.group(1)), "is_bot": False, "first_name": ""}},
                    )
                elif url:
                    extra = {"url": url}
                else:
                    etype = ""  # <a> without href: no entity
            if name == "blockquote" and "expandable" in attrs:
                etype = "expandable_blockquote"
            if name == "tg-emoji":
                extra = {"custom_emoji_id": attrs.get("emoji-id", "")}
            if (
                name == "code"
                and stack
                and stack[-1]["name"] == "pre"
                and attrs.get("class", "").startswith("language-")
            ):
                stack[-1]["extra"]["language"] = attrs["class"][len("language-") :]
            stack.append({"name": name, "etype": etype, "start": b.pos16, "extra": extra})
            i = k
            continue
        # end tag
        j = i + 2
        while j < n and text[j] != ">" and not text[j].isspace():
            j += 1
        name = text[i + 2 : j].lower()
        while j < n and text[j].isspace():
            j += 1
        if j >= n or text[j] != ">":
            raise EntityParseError(f"Unclosed end tag at byte offset {off}")
        if not stack:
            raise EntityParseError(f"Unexpected end tag at byte offset {off}")
        top = stack.pop()
        if top["name"] != name:
            raise EntityParseError(
                f'Unmatched end tag at byte offset {off}, expected "</{top["name"]}>", found "</{name}>"'
            )
        if top["etype"]:
            # <pre><code class="language-x"> yields one pre entity with a language
            if not (top["name"] == "code" and stack and stack[-1]["name"] == "pre"):
                b.entity(top["etype"], top["start"], **top["extra"])
        i = j + 1
    if stack:
        raise EntityParseError(
            f'Can\'t find end tag corresponding to start tag "{stack[-1]["name"]}"'
        )
    return b.text(), sorted(b.entities, key=lambda e: (e["offset"], -e["length"]))


# ------------------------------------------------------------------------ MarkdownV2
_MDV2_SPECIAL = set("_*[]()~`>#+-=|{}.!")
_TD_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "text_link": "TextUrl",
    "code": "Code",
    "pre": "Pre",
}


def parse_markdown_v2(text: str) -> tuple[str, list[dict]]:
    b = _Builder()
    stack: list[dict] = []
    i, n = 0, len(text)
    quote_start: int | None = None
    at_line_start = True
    while i < n:
        c = text[i]
        top = stack[-1] if stack else None
        if top and top["type"] in ("code", "pre"):
            if c == "\\" and i + 1 < n and text[i + 1] in "`\\":
                b.add(text[i + 1])
                i += 2
                continue
            closer = "```" if top["type"] == "pre" else "`"
            if text.startswith(closer, i):
                stack.pop()
                b.entity(top["type"], top["start"], **top["extra"])
                i += len(closer)
                continue
            b.add(c)
            i += 1
            continue
        if c == "\\" and i + 1 < n and 0 < ord(text[i + 1]) <= 126:
            b.add(text[i + 1])
            i += 2
            at_line_start = False
            continue
        if c == "\n":
            if quote_start is not None and not text.startswith(">", i + 1):
                b.entity("blockquote", quote_start)
                quote_start = None
            b.add(c)
            i += 1
            at_line_start = True
            continue
        if c == ">" and at_line_start:
            if quote_start is None:
                quote_start = b.pos16
            i += 1
            at_line_start = False
            continue
        at_line_start = False
        if c not in _MDV2_SPECIAL:
            b.add(c)
            i += 1
            continue
        off = _byte_offset(text, i)
        delim, etype = None, None
        if c == "*":
            delim, etype = "*", "bold"
        elif c == "_":
            delim, etype = ("__", "underline") if text.startswith("__", i) else ("_", "italic")
        elif c == "~":
            delim, etype = "~", "strikethrough"
        elif c == "|" and text.startswith("||", i):
            delim, etype = "||", "spoiler"
        if etype:
            if top and top["type"] == etype:
                stack.pop()
                b.entity(etype, top["start"])
            else:
                stack.append({"type": etype, "start": b.pos16, "off": off, "extra": {}})
            i += len(delim)
            continue
        if c == "[":
            stack.append({"type": "text_link", "start": b.pos16, "off": off, "extra": {}})
            i += 1
            continue
        if c == "]" and top and top["type"] == "text_link":
            if not text.startswith("(", i + 1):
                raise EntityParseError(
                    f"Can't find end of a URL at byte offset {off}"
                )  # approximation
            k, url = i + 2, []
            while k < n and text[k] != ")":
                if text[k] == "\\" and k + 1 < n:
                    url.append(text[k + 1])
                    k += 2
                    continue
                url.append(text[k])
                k += 1
            if k >= n:
                raise EntityParseError(
                    f"Can't find end of a URL at byte offset {_byte_offset(text, i + 1)}"
                )
            stack.pop()
            b.entity("text_link", top["start"], url="".join(url))
            i = k + 1
            continue
        if c == "`":
            if text.startswith("```", i):
                k = i + 3
                nl = text.find("\n", k)
                lang = text[k:nl] if nl != -1 and re.fullmatch(r"[\w+#-]*", text[k:nl]) else ""
                start_i = nl + 1 if lang or (nl != -1 and nl == k) else k
                stack.append(
                    {
                        "type": "pre",
                        "start": b.pos16,
                        "off": off,
                        "extra": {"language": lang} if lang else {},
                    }
                )
                i = start_i
            else:
                stack.append({"type": "code", "start": b.pos16, "off": off, "extra": {}})
                i += 1
            continue
        raise EntityParseError(
            f"Character '{c}' is reserved and must be escaped with the preceding '\\'"
        )
    if quote_start is not None:
        b.entity("blockquote", quote_start)
    if stack:
        t = stack[-1]
        raise EntityParseError(
            f"Can't find end of {_TD_NAMES[t['type']]} entity at byte offset {t['off']}"
        )
    return b.text(), sorted(b.entities, key=lambda e: (e["offset"], -e["length"]))


# ------------------------------------------------------------------ legacy Markdown
def parse_markdown_legacy(text: str) -> tuple[str, list[dict]]:
    b = _Builder()
    i, n = 0, len(text)
    pairs = {"*": "bold", "_": "italic", "`": "code"}
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n and text[i + 1] in "_*`[":
            b.add(text[i + 1])
            i += 2
            continue
        if c in pairs or c == "[":
            off = _byte_offset(text, i)
            if text.startswith("```", i):
                end = text.find("```", i + 3)
                if end == -1:
                    raise EntityParseError(
                        f"Can't find end of the entity starting at byte offset {off}"
                    )
                start = b.pos16
                b.add(text[i + 3 : end])
                b.entity("pre", start)
                i = end + 3
                continue
            if c == "[":
                close = text.find("](", i + 1)
                end = text.find(")", close + 2) if close != -1 else -1
                if close == -1 or end == -1:
                    raise EntityParseError(
                        f"Can't find end of the entity starting at byte offset {off}"
                    )
                start = b.pos16
                b.add(text[i + 1 : close])
                b.entity("text_link", start, url=text[close + 2 : end])
                i = end + 1
                continue
            end = text.find(c, i + 1)
            if end == -1:
                raise EntityParseError(
                    f"Can't find end of the entity starting at byte offset {off}"
                )
            start = b.pos16
            b.add(text[i + 1 : end])
            b.entity(pairs[c], start)
            i = end + 1
            continue
        b.add(c)
        i += 1
    return b.text(), b.entities


def parse_text(text: str, parse_mode: str | None) -> tuple[str, list[dict]]:
    """Returns (plain_text, entities). Raises EntityParseError or ValueError(unsupported parse mode)."""
    if not parse_mode:
        return text, []
    mode = parse_mode.lower()
    if mode == "html":
        return parse_html(text)
    if mode == "markdownv2":
        return parse_markdown_v2(text)
    if mode == "markdown":
        return parse_markdown_legacy(text)
    raise ValueError(parse_mode)


def strip_text(text: str, entities: list[dict]) -> tuple[str, list[dict]]:
    """The server trims leading/trailing whitespace of message texts; shift entities to match."""
    left = len(text) - len(text.lstrip())
    stripped = text.strip()
    shift = u16len(text[:left])
    total = u16len(stripped)
    out = []
    for e in entities:
        s = max(e["offset"] - shift, 0)
        end = min(e["offset"] + e["length"] - shift, total)
        if end > s:
            out.append({**e, "offset": s, "length": end - s})
    return stripped, out
