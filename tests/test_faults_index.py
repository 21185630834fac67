"""Hostile and damaged index folders: a manifest with wrong JSON types, a CURRENT that names
nothing sensible, files whose checksums were rewritten to match their damage, a BM25 writer that
writes garbage, and what the next build may and may not remove. Every failure of `talks ask` is
one line naming the fix, exit 1 (bot.cli.main in this process: nothing here loads a model, since
damage is reported before the models load). Builds use the fakes (real builder, store, FAISS,
BM25). The kill points and the file-by-file damage matrix are in test_lifecycle.py."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from index import store
from index.builder import build_index
from index.errors import IndexBuildError, IndexCorruptError
from index.store import clean_leftovers, load_index, read_manifest

from .conftest import TINY_ARTICLE
from .fakes import fake_models


@pytest.fixture
def copy(tiny: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path, Path]:
    """(corpus, index, the served version's folder), copied for this test to damage."""
    shutil.copytree(tiny[0], tmp_path / "corpus")
    shutil.copytree(tiny[1], tmp_path / "index")
    index = tmp_path / "index"
    return tmp_path / "corpus", index, index / "versions" / read_manifest(index).version


def ask(corpus: Path, index: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    from bot.cli import main

    code = main(["ask", "Who led the Ukrainian delegation?", "--corpus", str(corpus), "--index",
                 str(index)])  # fmt: skip
    return code, capsys.readouterr().err


def assert_one_line_naming_the_fix(code: int, err: str) -> None:
    assert code == 1, err
    assert len(err.splitlines()) == 1 and err.startswith("talks: "), err
    assert "`talks index`" in err and "Traceback" not in err, err
    assert len(err) < 400, err


def recovers(corpus: Path, index: Path) -> None:
    """A plain `talks index` (not --full) rebuilds, and the result loads."""
    report = build_index(corpus, index, fake_models())
    assert report.full
    assert load_index(index).manifest == report.manifest


def edit(**fields: object) -> Callable[[dict], object]:
    return lambda raw: {**raw, **fields}


def model_edit(space: str, **fields: object) -> Callable[[dict], object]:
    return lambda raw: {
        **raw,
        "models": {**raw["models"], space: fields.get("whole", {**raw["models"][space], **fields})},
    }


MANIFEST_EDITS: dict[str, Callable[[dict], object]] = {
    "files is a list": edit(files=[]),
    "files is null": edit(files=None),
    "a checksum is a number": lambda r: {**r, "files": {k: 1 for k in r["files"]}},
    "a checksum is not hex": lambda r: {**r, "files": {k: "zz" * 32 for k in r["files"]}},
    "a file outside the version": lambda r: {**r, "files": {**r["files"], "../../x": "0" * 64}},
    "an absolute file name": lambda r: {**r, "files": {**r["files"], "/dev/zero": "0" * 64}},
    "no files key": lambda r: {k: v for k, v in r.items() if k != "files"},
    "models is a string": edit(models="minilm"),
    "no MiniLM model": model_edit("minilm", whole=None),
    "dim is a string": model_edit("minilm", dim="384"),
    "dim is zero": model_edit("e5", dim=0),
    "model name is a number": model_edit("minilm", name=7),
    "passages is a string": edit(passages="many"),
    "passages is a numeric string": lambda r: {**r, "passages": str(r["passages"])},
    "passages is negative": edit(passages=-1),
    "passages is a float": edit(passages=1.5),
    "passages is true": edit(passages=True),
    "version is a number": edit(version=5),
    "chunking is a list": edit(chunking=[]),
    "skipped is a string": edit(skipped="none"),
    "created_at is null": edit(created_at=None),
    "format_version is a string": edit(format_version=str(store.FORMAT_VERSION)),
    "format is a list": edit(format=["talks-index"]),
    "an unknown key": edit(surprise=1),
    "a JSON list": lambda r: [r],
    "a JSON number": lambda r: 5,
    "JSON null": lambda r: None,
}


@pytest.mark.parametrize("damage", MANIFEST_EDITS)
def test_manifest_with_wrong_json_types_is_damage_in_one_line(copy, capsys, damage) -> None:
    corpus, index, version = copy
    raw = json.loads((version / "manifest.json").read_text())
    (version / "manifest.json").write_text(json.dumps(MANIFEST_EDITS[damage](raw)))
    code, err = ask(corpus, index, capsys)
    assert_one_line_naming_the_fix(code, err)
    assert "damaged (bad manifest.json" in err or "counts disagree" in err, err
    recovers(corpus, index)


def test_manifest_counts_that_disagree_with_the_files_are_damage(copy) -> None:
    """Well-typed but wrong: found when the version is loaded (after the checksums)."""
    corpus, index, version = copy
    raw = json.loads((version / "manifest.json").read_text())
    (version / "manifest.json").write_text(json.dumps({**raw, "articles": 10**30}))
    with pytest.raises(IndexCorruptError, match=r"counts disagree with manifest\.json"):
        load_index(index)
    recovers(corpus, index)


MANIFEST_BYTES: dict[str, bytes] = {
    "nested 100,000 deep (list)": b"[" * 100_000 + b"]" * 100_000,
    "nested 50,000 deep (object)": b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    "not UTF-8": b"\xff\xfe\xfd",
    "NaN for a count": b'{"format": "talks-index", "format_version": 4, "passages": NaN}',
    "a 5,000-digit number": b'{"format": "talks-index", "format_version": 4, "passages": 1'
    + b"0" * 5000
    + b"}",
    "larger than 10 MB": b'{"x": "' + b"a" * 10_000_001 + b'"}',
}


@pytest.mark.parametrize("damage", MANIFEST_BYTES)
def test_manifest_that_is_hostile_json_is_damage_in_one_line(copy, capsys, damage) -> None:
    corpus, index, version = copy
    (version / "manifest.json").write_bytes(MANIFEST_BYTES[damage])
    code, err = ask(corpus, index, capsys)
    assert_one_line_naming_the_fix(code, err)
    assert "manifest.json" in err, err
    recovers(corpus, index)


def _symlink_nowhere(index: Path, version: Path) -> None:
    (index / "CURRENT").unlink()
    (index / "CURRENT").symlink_to(index / "nowhere")


def _current(text: bytes) -> Callable[[Path, Path], None]:
    return lambda index, version: (index / "CURRENT").write_bytes(text)


CURRENT_DAMAGE: dict[str, Callable[[Path, Path], None]] = {
    "names a missing version": _current(b"20990101T000000000000Z-nothere\n"),
    "empty": _current(b""),
    "blank lines": _current(b"\n\n\n"),
    "a path upwards": lambda i, v: (i / "CURRENT").write_text(f"../versions/{v.name}"),
    "an absolute path": _current(b"/etc"),
    "a temporary folder": _current(b".tmp-x"),
    "not UTF-8": _current(b"\xff\xfe\xfd"),
    "a NUL after the name": lambda i, v: (i / "CURRENT").write_bytes(v.name.encode() + b"\0"),
    "a second line": lambda i, v: (i / "CURRENT").write_text(f"{v.name}\nanother"),
    "10 MB of letters": _current(b"a" * 10_000_000),
    "a dangling symlink": _symlink_nowhere,
    "a folder": lambda i, v: ((i / "CURRENT").unlink(), (i / "CURRENT").mkdir()),
    "deleted, versions kept": lambda i, v: (i / "CURRENT").unlink(),
    "versions/ deleted": lambda i, v: shutil.rmtree(i / "versions"),
    "the version folder is a file": lambda i, v: (shutil.rmtree(v), v.write_text("x")),
}


@pytest.mark.parametrize("damage", CURRENT_DAMAGE)
def test_current_that_names_no_version_is_damage_in_one_line(copy, capsys, damage) -> None:
    corpus, index, version = copy
    CURRENT_DAMAGE[damage](index, version)
    code, err = ask(corpus, index, capsys)
    assert_one_line_naming_the_fix(code, err)
    assert "damaged (CURRENT" in err, err
    recovers(corpus, index)
    assert (index / "CURRENT").is_file() and not (index / "CURRENT").stat().st_mode & 0o111


CONSISTENT_DAMAGE = {
    "bm25/data.csc.index.npy": b"\0" * 200,  # looks like a pickle to numpy
    "bm25/indices.csc.index.npy": b"",
    "bm25/params.index.json": b'{"k1": ',
    "bm25/vocab.index.json": b"[1, 2]",
    "sentences.npy": b"",
    "passages.faiss": b"[" * 1000,
    "articles.jsonl": b"[" * 100_000 + b"\n",
    "passages.jsonl": b'{"a": 1}\n',
}


@pytest.mark.parametrize("name", CONSISTENT_DAMAGE)
def test_damage_with_a_rewritten_checksum_is_still_caught(copy, capsys, name) -> None:
    """As if a buggy writer had produced the file: its checksum matches, its content does not
    parse. Before, BM25 files and an empty .npy went through unchecked (a traceback)."""
    corpus, index, version = copy
    (version / name).write_bytes(CONSISTENT_DAMAGE[name])
    manifest = json.loads((version / "manifest.json").read_text())
    manifest["files"][name] = hashlib.sha256(CONSISTENT_DAMAGE[name]).hexdigest()
    (version / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexCorruptError, match="unreadable file"):
        load_index(index)
    # `talks ask` reads the checksums only before the models load; open_engine does the rest
    from index.engine import open_engine

    with pytest.raises(IndexCorruptError, match="talks index"):
        open_engine(index, fake_models())
    recovers(corpus, index)


def test_a_version_whose_bm25_does_not_load_is_never_published(copy) -> None:
    corpus, index, version = copy
    (corpus / "more.md").write_text(TINY_ARTICLE.replace("istanbul", "geneva"), encoding="utf-8")
    import index.builder as builder

    real = builder.Bm25.build

    class Broken:
        def __init__(self, texts: list[str]) -> None:
            self.inner = real(texts)

        def save(self, folder: Path) -> None:
            self.inner.save(folder)
            (folder / "vocab.index.json").write_text("[]")

    builder.Bm25.build = Broken  # type: ignore[method-assign,assignment]
    try:
        with pytest.raises(IndexBuildError, match=r"failed its own check.*vocab\.index\.json"):
            build_index(corpus, index, fake_models())
    finally:
        builder.Bm25.build = real  # type: ignore[method-assign]
    assert read_manifest(index).version == version.name
    assert sorted(p.name for p in (index / "versions").iterdir()) == [version.name]


HOLD = (
    "import fcntl, os, sys, time\n"
    "fd = os.open(sys.argv[1], os.O_RDONLY)\n"
    "fcntl.flock(fd, fcntl.LOCK_EX)\n"
    "print('held', flush=True)\n"
    "time.sleep(120)\n"
)


def test_the_next_build_removes_only_what_no_running_build_holds(copy) -> None:
    """Leftovers of killed builds go; a folder another process holds locked (a build writing
    it) stays until it is released, whatever its age."""
    corpus, index, version = copy
    versions = index / "versions"
    dead_tmp = versions / ".tmp-20250101T000000000000Z-dead-00000000"
    live_tmp = versions / ".tmp-20250101T000000000000Z-live-11111111"
    unpublished = versions / "20991231T000000000000Z-unpublis"
    for folder in (dead_tmp, live_tmp, unpublished):
        folder.mkdir()
        (folder / "passages.jsonl").write_text("{}\n")
    pointer = index / ".CURRENT.deadbeef"
    pointer.write_text("20991231T000000000000Z-unpublis\n")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(live_tmp)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        report = build_index(corpus, index, fake_models())
        assert report.up_to_date  # nothing to build, and still the leftovers are gone
        assert sorted(p.name for p in versions.iterdir()) == [live_tmp.name, version.name]
        assert not pointer.exists()
        assert read_manifest(index).version == version.name
    finally:
        holder.kill()
        holder.wait()
    assert clean_leftovers(index) == [f"versions/{live_tmp.name}"]
    assert sorted(p.name for p in versions.iterdir()) == [version.name]


def test_with_current_damaged_complete_versions_are_kept_until_a_new_one_is_published(
    copy,
) -> None:
    """The versions may be all that is left; the next publication prunes as usual (the newest
    older one stays as the previous version)."""
    corpus, index, version = copy
    older = index / "versions" / "20000101T000000000000Z-older000"
    shutil.copytree(version, older)
    (index / "CURRENT").write_bytes(b"\0" * 32)
    assert clean_leftovers(index) == []
    assert older.is_dir() and version.is_dir()
    recovers(corpus, index)
    current = read_manifest(index).version
    assert sorted(p.name for p in (index / "versions").iterdir()) == [version.name, current]


def test_test_hook_is_inert_without_its_variable(copy, monkeypatch) -> None:
    """The kill hook does nothing unless _TALKS_TEST_KILL_AT names the step (production never
    sets it), and it is not a TALKS_ setting (those are checked for typos)."""
    monkeypatch.delenv(store.KILL_AT_ENV, raising=False)
    for step in store.FAULT_POINTS:
        store.fault_point(step)
    assert not store.KILL_AT_ENV.startswith("TALKS_")
    monkeypatch.setenv(store.KILL_AT_ENV, "some other step")
    corpus, index, _ = copy
    (corpus / "more.md").write_text(TINY_ARTICLE.replace("istanbul", "geneva"), encoding="utf-8")
    assert build_index(corpus, index, fake_models()).manifest.articles == 2
    assert os.environ[store.KILL_AT_ENV] == "some other step"
