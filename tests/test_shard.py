"""--shard I/N: each cluster in exactly one shard, chosen by its name alone; all shards make the full render."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import Invoke, read_tree
from test_benchmark_generate import make_root

from fanout.core.errors import FanoutError
from fanout.output.folder import MARKER
from fanout.render.shard import Shard, parse_shard, shard_of


def test_parse() -> None:
    assert parse_shard("2/5") == Shard(2, 5)
    assert parse_shard(" 1 / 1 ") == Shard(1, 1)
    assert str(Shard(3, 4)) == "3/4"
    for bad in ("0/3", "4/3", "1/0", "1", "a/b", "-1/2", "1/2/3"):
        with pytest.raises(FanoutError):
            parse_shard(bad)


def test_a_cluster_keeps_its_shard_when_others_come_and_go() -> None:
    names = [f"cluster-{i:03d}" for i in range(200)]
    before = {n: shard_of(n, 7) for n in names}
    more = names + [f"new-{i}" for i in range(50)]
    after = {n: shard_of(n, 7) for n in more}
    assert all(after[n] == before[n] for n in names)
    assert set(before.values()) == set(range(1, 8))  # every shard gets clusters
    assert max(list(before.values()).count(s) for s in range(1, 8)) < 50  # and no shard gets most


@pytest.mark.parametrize("count", [1, 3, 4])
def test_the_union_of_all_shards_is_the_full_render(count: int, invoke: Invoke, tmp_path: Path) -> None:
    root = make_root(tmp_path, clusters=20, templates=12, overrides=6)
    full = tmp_path / "full"
    assert invoke("render", str(root), "--output-dir", str(full)).exit_code == 0
    expected = read_tree(full)

    union: dict[str, bytes] = {}
    listed: list[str] = []
    for index in range(1, count + 1):
        out = tmp_path / f"shard-{index}"
        result = invoke("render", str(root), "--output-dir", str(out), "--shard", f"{index}/{count}")
        assert result.exit_code == 0, result.output
        assert f"shard {index}/{count}" in result.stdout
        files = read_tree(out)
        listed += list(json.loads(files.pop(MARKER))["files"])
        assert not set(files) & set(union)  # no cluster in two shards
        union.update(files)
    assert union == {p: b for p, b in expected.items() if p != MARKER}
    assert sorted(listed) == list(json.loads(expected[MARKER])["files"])


def test_a_shard_with_a_selector_renders_the_intersection(invoke: Invoke, tmp_path: Path) -> None:
    root = make_root(tmp_path, clusters=20, templates=6, overrides=0)
    out = tmp_path / "out"
    result = invoke("render", str(root), "--output-dir", str(out), "--shard", "1/2", "-l", "cloud=aws")
    assert result.exit_code == 0, result.output
    clusters = {p.name for p in out.iterdir() if p.is_dir()}
    assert clusters and all(c.startswith("aws-") and shard_of(c, 2) == 1 for c in clusters)


def test_a_bad_shard_is_a_usage_error(invoke: Invoke, tmp_path: Path) -> None:
    root = make_root(tmp_path, clusters=3, templates=3, overrides=0)
    result = invoke("render", str(root), "--shard", "5/4")
    assert result.exit_code == 2
    assert "shards are numbered 1 to N" in result.output
