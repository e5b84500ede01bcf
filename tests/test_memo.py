"""The input memo (``fanout.source.memo``): files read before are taken from it only when nothing that shapes
their documents changed, and a run with it reports and renders exactly what a run without it does."""

from __future__ import annotations

from pathlib import Path

import pytest
import test_cache
from conftest import Invoke, read_tree

from fanout.core.document import Document
from fanout.core.errors import Problem
from fanout.core.limits import DEFAULT_LIMITS, Limits
from fanout.core.validate import check
from fanout.output.cache import code_digest, input_memo_path
from fanout.source import memo
from fanout.source.parse import load_documents

CLUSTER = b"apiVersion: fanout.dev/v1alpha1\nkind: Cluster\nmetadata: {name: a, labels: {env: prod}}\n"


class Counting:
    """``load_documents``, counting the files it really parses."""

    def __init__(self) -> None:
        self.parsed: list[str] = []

    def __call__(self, path: str, content: bytes, limits: Limits) -> tuple[list[Document], list[Problem]]:
        self.parsed.append(path)
        return load_documents(path, content, limits)


def _round(
    path: Path, files: dict[str, bytes], limits: Limits = DEFAULT_LIMITS
) -> tuple[list[str], memo.Memo]:
    """One run: read ``files`` through the memo at ``path``, check each document, save the memo."""
    parse = Counting()
    kept = memo.load(path, b"code")
    for name, content in files.items():
        docs, problems = kept.documents(name, content, limits, parse)
        for doc in docs:
            problems += check(doc, "cluster")
    memo.save(kept)
    return parse.parsed, kept


def test_only_new_or_changed_files_are_parsed(tmp_path: Path) -> None:
    where = tmp_path / "memo"
    files = {"clusters/a.yaml": CLUSTER, "clusters/b.yaml": CLUSTER.replace(b"name: a", b"name: b")}
    assert _round(where, files)[0] == ["clusters/a.yaml", "clusters/b.yaml"]
    assert _round(where, files)[0] == []
    files["clusters/b.yaml"] = files["clusters/b.yaml"].replace(b"prod", b"dev")
    assert _round(where, files)[0] == ["clusters/b.yaml"]
    # The same bytes under another name: the documents carry their path, so they are parsed again.
    assert _round(where, {"clusters/c.yaml": CLUSTER})[0] == ["clusters/c.yaml"]
    # Another limit (the limits come from fanout.yaml) parses again too.
    assert _round(where, {"clusters/c.yaml": CLUSTER}, Limits(max_depth=5))[0] == ["clusters/c.yaml"]


def test_documents_from_the_memo_are_the_parsed_ones(tmp_path: Path) -> None:
    where = tmp_path / "memo"
    content = b"a: &x {b: [1, 2.5, true, null, '08', 0o17]}\nc: *x\n---\nd: e\n"
    _round(where, {"f.yaml": content})
    again = memo.load(where, b"code").documents("f.yaml", content, DEFAULT_LIMITS, Counting())
    parsed = load_documents("f.yaml", content)
    assert [(d.path, d.index, d.data, dict(d.positions), d.item) for d in again[0]] == [
        (d.path, d.index, d.data, dict(d.positions), d.item) for d in parsed[0]
    ]
    assert again[1] == parsed[1] == []


def test_a_schema_passed_before_is_not_checked_again(tmp_path: Path) -> None:
    where = tmp_path / "memo"
    _round(where, {"a.yaml": CLUSTER})
    docs, _ = memo.load(where, b"code").documents("a.yaml", CLUSTER, DEFAULT_LIMITS, Counting())
    assert docs[0].valid_for == {"cluster"}
    # A check that would fail is skipped only for the schema the data passed: another one still runs.
    assert check(docs[0], "cluster") == []
    assert check(docs[0], "override")


def test_files_with_problems_or_secrets_are_not_kept(tmp_path: Path) -> None:
    where = tmp_path / "memo"
    broken = b"a: [\n"
    secret = b"apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {password: hunter2}\n"
    files = {"a.yaml": CLUSTER, "broken.yaml": broken, "secret.yaml": secret}
    assert _round(where, files)[0] == ["a.yaml", "broken.yaml", "secret.yaml"]
    assert _round(where, files)[0] == ["broken.yaml", "secret.yaml"]
    assert b"hunter2" not in where.read_bytes()


@pytest.mark.parametrize(
    "damage",
    [
        lambda raw: raw[:-1] + bytes([raw[-1] ^ 1]),  # a flipped bit: the checksum no longer matches
        lambda raw: raw[:10],
        lambda raw: b"",
        lambda raw: raw.replace(b"fanout-input-memo 1", b"fanout-input-memo 0"),
    ],
    ids=["flipped bit", "cut short", "empty", "another format"],
)
def test_a_damaged_memo_counts_as_empty(tmp_path: Path, damage: object) -> None:
    where = tmp_path / "memo"
    _round(where, {"a.yaml": CLUSTER})
    where.write_bytes(damage(where.read_bytes()))  # type: ignore[operator]
    assert _round(where, {"a.yaml": CLUSTER})[0] == ["a.yaml"]
    assert _round(where, {"a.yaml": CLUSTER})[0] == []


def test_another_fanout_starts_afresh(tmp_path: Path) -> None:
    where = tmp_path / "memo"
    _round(where, {"a.yaml": CLUSTER})
    assert memo.load(where, b"another fanout").stored == {}
    assert memo.load(where, b"code").stored


@pytest.mark.parametrize("kind", sorted(k for k in test_cache.EDITS if k != "removed cluster"))
def test_a_render_with_the_memo_matches_one_without_it(
    kind: str, root: Path, invoke: Invoke, tmp_path: Path
) -> None:
    """Each kind of edit of the render cache's tests, rendered with the memo of the source before it."""
    first = invoke("render", str(root), "--output-dir", str(tmp_path / "warm"))
    assert first.exit_code == 0, first.output
    assert input_memo_path(str(root)).is_file()
    test_cache.EDITS[kind](root)
    warm = invoke("render", str(root), "--output-dir", str(tmp_path / "warm"))
    cold = invoke("render", str(root), "--output-dir", str(tmp_path / "cold"), "--no-cache")
    assert (warm.exit_code, warm.stderr) == (cold.exit_code, cold.stderr)
    assert read_tree(tmp_path / "warm") == read_tree(tmp_path / "cold")


def test_a_file_made_invalid_is_reported_every_time(root: Path, invoke: Invoke) -> None:
    assert invoke("render", str(root)).exit_code == 0
    clusters = root / "clusters/all.yaml"
    text = clusters.read_text(encoding="utf-8")
    clusters.write_text(text.replace("cloud: gcp", "cloud: [gcp]"), encoding="utf-8")
    first = invoke("render", str(root))
    assert first.exit_code != 0
    assert invoke("render", str(root)).stderr == first.stderr
    assert "clusters/all.yaml:" in first.stderr


def test_limits_tightened_in_fanout_yaml_reach_files_the_memo_holds(root: Path, invoke: Invoke) -> None:
    assert invoke("render", str(root)).exit_code == 0
    with (root / "fanout.yaml").open("a", encoding="utf-8") as handle:
        handle.write("limits: {max_depth: 3}\n")
    result = invoke("render", str(root))
    assert result.exit_code != 0
    assert "max_depth" in result.stderr


def test_no_cache_leaves_no_memo(root: Path, invoke: Invoke) -> None:
    assert invoke("render", str(root), "--no-cache").exit_code == 0
    assert not input_memo_path(str(root)).exists()
    assert code_digest()  # (the memo's key)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return test_cache.shop_root(tmp_path / "src")
