"""The committed chart page is the build of the committed ui/ sources: a change to ui/ without
running ui/build.sh fails here (by content hash: file times mean nothing after a clone)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from square_bi.server.chart import built_source_hash, chart_app_html

UI = Path(__file__).resolve().parents[2] / "ui"
SKIPPED = {"node_modules", "dist"}


def source_hash(root: Path) -> str:
    """ui/source-hash.mjs's rule, written again: every file under ui/ but node_modules/ and dist/,
    by POSIX relative path; sha256 over "path\\0sha256(content)\\n" lines."""
    files = [
        path
        for path in root.rglob("*")
        if path.is_file() and not SKIPPED.intersection(path.relative_to(root).parts[:-1])
    ]
    lines = sorted((path.relative_to(root).as_posix(), hashlib.sha256(path.read_bytes()).hexdigest()) for path in files)
    return hashlib.sha256("".join(f"{name}\0{digest}\n" for name, digest in lines).encode()).hexdigest()


def test_the_committed_chart_page_was_built_from_the_current_ui_sources() -> None:
    assert (UI / "package-lock.json").is_file() and (UI / "src" / "main.ts").is_file()
    stamped = built_source_hash(chart_app_html())
    assert stamped == source_hash(UI), "ui/ changed since the chart page was built: run ui/build.sh and commit"


def test_a_changed_source_changes_the_hash(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "main.ts").write_text("draw()")
    (tmp_path / "node_modules").mkdir()
    (tmp_path / "node_modules" / "dep.js").write_text("ignored")
    before = source_hash(tmp_path)
    (tmp_path / "node_modules" / "dep.js").write_text("still ignored")
    assert source_hash(tmp_path) == before
    (tmp_path / "src" / "main.ts").write_text("draw(); label()")
    assert source_hash(tmp_path) != before
