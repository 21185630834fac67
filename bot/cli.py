"""`talks`: build the index and ask questions from the terminal.

Examples:
    talks index                                  # build or rebuild the index from corpus/
    talks ask "who leads Ukraine's delegation"   # answer with verified quotes
    talks ask --json "where did the delegations meet"
    talks add https://example.org/article        # then `talks index`
    TELEGRAM_BOT_TOKEN=... talks serve            # the Telegram bot
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import logging
import sys
import textwrap
from dataclasses import asdict
from pathlib import Path

from bot.indexing import build, model_loader, open_for_answering
from index.errors import QuestionError, TalksError
from index.models import Answer

USAGE_EXAMPLE = 'usage: talks ask "who leads Ukraine\'s delegation"'


def _paths(p: argparse.ArgumentParser, *, index: bool = True) -> None:
    p.add_argument("--corpus", type=Path, help="article folder (TALKS_CORPUS_DIR, default corpus/)")
    if index:
        p.add_argument(
            "--index", type=Path, help="index folder (TALKS_INDEX_DIR, default .talks-index/)"
        )


def _index_command(sub) -> None:
    p = sub.add_parser(
        "index",
        help="build the index from the corpus",
        description=(
            "Brings the index in line with the corpus: only new or changed passages are embedded, "
            "removed articles disappear. The new version is published atomically (the old one "
            "serves until the new one is complete)."
        ),
    )
    p.add_argument("--full", action="store_true", help="rebuild from scratch instead of updating")
    _paths(p)


def _ask_command(sub) -> None:
    p = sub.add_parser(
        "ask",
        help="answer a question with quotes",
        description=(
            "Answers QUESTION with a sentence from the articles and up to three verbatim quotes, "
            "or says the sources do not cover it. Builds the index first if there is none."
        ),
        epilog='example: talks ask "who leads Ukraine\'s delegation"',
    )
    p.add_argument("question", nargs="*", metavar="QUESTION")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument(
        "--after",
        metavar="PREVIOUS",
        help='the question asked before: a follow-up ("and ukraine\'s?") is completed from it',
    )
    p.add_argument(
        "--today",
        type=_date,
        help="YYYY-MM-DD: the day 'last week' and the sources' age count from (default: today)",
    )
    _paths(p)


def _serve_command(sub) -> None:
    p = sub.add_parser(
        "serve",
        help="run the Telegram bot",
        description=(
            "Runs the Telegram bot with TELEGRAM_BOT_TOKEN: long polling, or a webhook when "
            "TELEGRAM_WEBHOOK_URL is set. Builds the index first if there is none. Stop with "
            "Ctrl-C."
        ),
    )
    _paths(p)


def _add_command(sub) -> None:
    p = sub.add_parser(
        "add",
        help="add an article from a file or a web page",
        description=(
            "Writes a new article into the corpus as Markdown with front matter, filled from the "
            "page's or file's metadata; flags fill in or override fields. Refuses duplicates. "
            "Then run `talks index`."
        ),
        epilog="example: talks add https://example.org/article --source Reuters",
    )
    p.add_argument("source_path", metavar="FILE_OR_URL")
    p.add_argument("--title")
    p.add_argument("--published", type=_date, help="YYYY-MM-DD")
    p.add_argument("--source", dest="outlet", help="outlet or author")
    p.add_argument("--url", help="link to the published article (for files)")
    p.add_argument("--language", help="en, uk, ru, …")
    _paths(p, index=False)


def _eval_command(sub) -> None:
    p = sub.add_parser(
        "eval",
        help="measure answer quality on a labelled question file",
        description=(
            "Answers every question of FILE (JSON lines: id, q, expect, kind; an empty expect "
            "means the right reply is 'not in my sources') and prints per-kind and total hit@k, "
            "answer accuracy, abstention precision and recall, and latency p50/p95."
        ),
        epilog=(
            "example: talks eval tests/data/real/questions.jsonl --corpus tests/data/real/corpus "
            "--split cal --k 3 --sweep --write"
        ),
    )
    p.add_argument("file", type=Path, metavar="FILE.jsonl")
    p.add_argument("--k", type=_k, default=5, help="quotes that count for hit@k, 1-10 (default 5)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument(
        "--compare", action="store_true", help="run BM25 only, dense only and hybrid side by side"
    )
    p.add_argument(
        "--baseline",
        action="store_true",
        help="also run the naive reference (dense top-k windows, no abstention) side by side",
    )
    p.add_argument(
        "--split", help="only the questions of this part of the file (its 'split' field: cal, test)"
    )
    p.add_argument(
        "--today",
        type=_date,
        help="YYYY-MM-DD: the day the questions are asked ('last week' counts from it)",
    )
    p.add_argument(
        "--also",
        nargs=2,
        action="append",
        type=Path,
        default=[],
        metavar=("FILE.jsonl", "INDEX_DIR"),
        help="with --sweep: fit on this labelled file too, answered from its own index "
        "(repeatable)",
    )
    p.add_argument(
        "--sweep",
        action="store_true",
        help="fit the abstention model on this labelled set (use --split cal)",
    )
    p.add_argument(
        "--write",
        action="store_true",
        help="with --sweep: store the choice in the package's calibration.json (the defaults)",
    )
    _paths(p)


def _feed_commands(sub) -> None:
    p = sub.add_parser(
        "follow",
        help="follow an RSS or Atom feed",
        description="Follows FEED (an http(s) URL or a local file): `talks poll` and `talks "
        "serve` add its items as articles.",
        epilog="example: talks follow https://example.org/news/rss.xml",
    )
    p.add_argument("feed", metavar="FEED")
    _paths(p, index=False)
    p = sub.add_parser("unfollow", help="stop following a feed (its articles stay in the corpus)")
    p.add_argument("feed", metavar="FEED")
    _paths(p, index=False)
    p = sub.add_parser("feeds", help="list the followed feeds: last poll, items seen, errors")
    _paths(p, index=False)
    p = sub.add_parser(
        "poll",
        help="fetch every followed feed once, add new items, update the index",
        description="Fetches every followed feed (conditional requests), adds new items as "
        "articles and replaces edited ones, then brings the index up to date.",
    )
    _paths(p)


def _log_command(sub) -> None:
    p = sub.add_parser(
        "log",
        help="what readers asked that the articles do not answer",
        description=(
            "Lists the questions the bot declined or readers gave a 👎, grouped by similar "
            "wording, most frequent first: what the articles should cover. Reads the chat store "
            "(TALKS_DATABASE_URL, else the SQLite file in TALKS_DATA_DIR)."
        ),
        epilog="example: talks log --days 30; talks log --export asked.jsonl",
    )
    p.add_argument("--days", type=float, default=7.0, help="how far back (default 7)")
    p.add_argument("--limit", type=int, default=20, help="subjects listed (default 20)")
    p.add_argument(
        "--export",
        type=Path,
        metavar="FILE.jsonl",
        help="write the rated and declined questions as labelled questions (talks eval's format)",
    )


def _verifier_command(sub) -> None:
    p = sub.add_parser(
        "verifier",
        help="retrain the answer verifier from the labelled files",
        description=(
            "Trains the answer verifier (a low-rank adapter on the packaged cross-encoder for "
            "English questions, on multilingual-e5 for Ukrainian and Russian ones) on the "
            "`train` part of the labelled candidates, measures it on the `cal` part and writes "
            "the adapter into the package (index/verifier/adapters/). Then recalibrate the "
            "gate (README, Calibration). About 2 hours for both on 2 cores; a GPU is never needed."
        ),
        epilog="example: talks verifier train --family en --threads 1",
    )
    p.add_argument("action", choices=["train"])
    p.add_argument("--family", choices=["en", "ml", "both"], default="both")
    p.add_argument(
        "--labelled",
        type=Path,
        default=Path("tests/data/news/candidates.jsonl.gz"),
        help="labelled candidates (default tests/data/news/candidates.jsonl.gz)",
    )
    p.add_argument("--out", type=Path, help="adapter folder (default: the package's own)")
    p.add_argument("--epochs", type=float, help="passes over the training pairs")
    p.add_argument("--layers", type=int, help="transformer layers kept from the base")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="talks",
        description="Answers questions about the Ukraine–Russia peace talks with verbatim quotes "
        "from the articles in the corpus.",
        epilog="Settings come from TALKS_* environment variables (see README.md); flags win.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in (
        _index_command,
        _ask_command,
        _serve_command,
        _add_command,
        _feed_commands,
        _eval_command,
        _log_command,
        _verifier_command,
    ):
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = _parser().parse_args(argv)
    try:
        from bot.settings import Settings

        settings = Settings.from_env()
        overrides = {}
        if getattr(args, "corpus", None) is not None:
            overrides["corpus_dir"] = args.corpus
        if getattr(args, "index", None) is not None:
            overrides["index_dir"] = args.index
        settings = settings.model_copy(update=overrides)
        if args.command == "index":
            return _cmd_index(settings, full=args.full)
        if args.command == "eval":
            return _cmd_eval(settings, args)
        if args.command == "verifier":
            return _cmd_verifier(args)
        if args.command == "log":
            return _cmd_log(settings, args)
        if args.command == "add":
            return _cmd_add(settings, args)
        if args.command in ("follow", "unfollow", "feeds", "poll"):
            return _cmd_feeds(settings, args)
        if args.command == "serve":
            from bot.app import serve

            return serve(settings)
        return _cmd_ask(
            settings, " ".join(args.question), as_json=args.json, today=args.today, after=args.after
        )
    except QuestionError as exc:
        print(f"talks: {exc}\n{USAGE_EXAMPLE}", file=sys.stderr)
        return 2
    except TalksError as exc:
        print(f"talks: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("talks: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:  # a path that is a file, a folder that cannot be written, …
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"talks: {exc.strerror or exc}{where}", file=sys.stderr)
        return 1


def _k(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 10:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number from 1 to 10")
    return int(text)


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2025-06-02") from None


def _cmd_eval(settings, args: argparse.Namespace) -> int:
    from index.evaluation import baseline, compare_text, evaluate, read_questions

    if args.write and not args.sweep:
        raise TalksError("--write stores what --sweep chooses: use them together.")
    questions = read_questions(args.file, args.split)  # before the model loads
    _check_index(settings)
    engine = open_for_answering(settings)
    params = settings.answer_params()
    if args.sweep:
        return _sweep(questions, engine, params, args)
    if args.compare or args.baseline:
        modes = ("bm25", "dense", "hybrid") if args.compare else ("hybrid",)
        reports = {
            mode: evaluate(
                questions,
                engine,
                params.with_changes(retrieval={"mode": mode}),
                k=args.k,
                today=args.today,
            )
            for mode in modes
        }
        if args.baseline:
            reports["naive"] = baseline(questions, engine, k=args.k)
        if args.json:
            print(json.dumps({m: json.loads(r.to_json()) for m, r in reports.items()}))
        else:
            print(compare_text(reports))
        return 0
    report = evaluate(questions, engine, params, k=args.k, today=args.today)
    print(report.to_json() if args.json else report.to_text())
    return 0


def _sweep(questions: list[dict], engine, params, args: argparse.Namespace) -> int:
    from index.calibration import calibrate, calibration_text, write_calibration
    from index.engine import open_engine
    from index.evaluation import read_questions

    also = [(read_questions(file), open_engine(index, engine.models)) for file, index in args.also]
    chosen = calibrate(questions, engine, params, k=args.k, also=also, today=args.today)
    if args.json:
        print(json.dumps(asdict(chosen)))
    else:
        print(calibration_text(chosen))
    if args.write:
        counts = [(file, len(items)) for (file, _), (items, _) in zip(args.also, also, strict=True)]
        path = write_calibration(
            chosen, args.file, args.split, questions, args.k, engine, also=counts
        )
        print(f"talks: wrote the fitted gate to {path}", file=sys.stderr)
    return 0


def _cmd_verifier(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from index.verifier.adapter import adapter_dir
    from index.verifier.training import Settings as TrainingSettings
    from index.verifier.training import train

    settings = TrainingSettings(threads=max(1, args.threads))
    changes = {"epochs": args.epochs, "layers": args.layers}
    settings = replace(settings, **{k: v for k, v in changes.items() if v is not None})
    families = ("en", "ml") if args.family == "both" else (args.family,)
    for family in families:
        out = args.out / family if args.out and len(families) > 1 else args.out
        record = train(family, args.labelled, out or adapter_dir(family), settings)
        print(
            f"talks: {family} verifier trained in {record.seconds / 60:.0f} min: {record.metrics}"
        )
    return 0


def _cmd_log(settings, args: argparse.Namespace) -> int:
    import time

    from bot.store import report

    if not args.days > 0 or args.limit < 1:  # `not >`: --days nan is refused too
        raise TalksError("--days must be above 0 and --limit at least 1.")
    store = settings.open_store()
    try:
        store.prune()
        since = time.time() - args.days * 86400
        if args.export is not None:
            items = report.labelled(store.questions(since))
            args.export.write_text(report.jsonl(items), encoding="utf-8")
            print(f"{len(items)} labelled questions written to {args.export}")
            return 0
        rows = store.questions(since, only_failed=True)
        print("\n".join(report.lines(report.group(rows), args.days, limit=args.limit)))
    finally:
        store.close()
    return 0


def _cmd_add(settings, args: argparse.Namespace) -> int:
    from index.ingest import add_article, draft_from_file, draft_from_page, fetch, is_link

    where = args.source_path
    # a link (http:, ftp:, javascript:…, refused by fetch unless http or https), else a file
    draft = draft_from_page(fetch(where)) if is_link(where) else draft_from_file(Path(where))
    overrides = {
        "title": args.title,
        "published": args.published,
        "source": args.outlet,
        "url": args.url,
        "language": args.language,
    }
    for name, value in overrides.items():
        if value:
            setattr(draft, name, value)
    path = add_article(settings.corpus_dir, draft)
    print(f"Added {path} ({draft.title}, {draft.published}). Run `talks index` to index it.")
    return 0


def _cmd_feeds(settings, args: argparse.Namespace) -> int:
    from index import feeds

    corpus = settings.corpus_dir
    if args.command == "follow":
        state = feeds.follow(corpus, args.feed)
        print(f"Following {state.source}. Run `talks poll` to fetch it now.")
    elif args.command == "unfollow":
        state = feeds.unfollow(corpus, args.feed)
        print(f"No longer following {state.source}; its {state.articles_added} articles stay.")
    elif args.command == "feeds":
        print(feeds.feeds_summary(feeds.load_feeds(corpus)))
    else:
        reports = feeds.poll(corpus)
        print(feeds.poll_summary(reports))
        if any(r.changed for r in reports):
            build(settings, model_loader(settings))
        return 1 if reports and all(r.error for r in reports) else 0
    return 0


def _cmd_index(settings, *, full: bool = False) -> int:
    from index.corpus import load_corpus

    load_corpus(settings.corpus_dir)  # fail fast on a missing or empty corpus, before the model
    build(settings, model_loader(settings), full=full)
    return 0


def _cmd_ask(
    settings,
    question: str,
    *,
    as_json: bool,
    today: dt.date | None = None,
    after: str | None = None,
) -> int:
    from index.answering import answer_after, validate_question

    question = validate_question(question, settings.max_question_chars)  # before the model loads
    if after is not None and after.strip():  # an empty --after: no previous question
        after = validate_question(after, settings.max_question_chars)
    else:
        after = None
    _check_index(settings)
    engine = open_for_answering(settings)
    result = answer_after(question, after, engine, settings.answer_params(), today=today)
    print(render_json(result) if as_json else render_text(result, today))
    return 0


def _check_index(settings) -> None:
    """A damaged index is reported before the models load (seconds); none at all is built."""
    from index.errors import IndexNotFoundError
    from index.store import check_index

    with contextlib.suppress(IndexNotFoundError):  # the first run builds it
        check_index(settings.index_dir)


def render_json(result: Answer) -> str:
    return result.model_dump_json()


def render_text(result: Answer, today: dt.date | None = None) -> str:
    """Plain-text answer for the terminal."""
    from bot.formatting import answering, dating, declined

    lines = [textwrap.fill(answering(result), width=100)] if result.asked is not None else []
    if not result.answered:
        return "\n".join([*lines, declined(result, see_sources=False)])
    lines.append(textwrap.fill(result.answer or "", width=100))
    when = dating(result, today)
    if when:
        lines.append(textwrap.fill(when, width=100))
    lines += ["", "Quotes:"]
    for n, quote in enumerate(result.quotes, 1):
        lines.append(
            textwrap.fill(
                f"“{quote.text}”", width=96, initial_indent=f"[{n}] ", subsequent_indent="    "
            )
        )
        date = quote.published.isoformat() if quote.published else "date unknown"
        lines.append(f"    — {quote.title} ({date})")
        if quote.url:
            lines.append(f"      {quote.url}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
