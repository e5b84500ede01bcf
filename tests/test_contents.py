"""Contents: rendered files kept compressed a cluster at a time read back byte for byte."""

from __future__ import annotations

import hashlib
import random

import pytest

from fanout.output import contents as module
from fanout.output.contents import Contents


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _cluster(name: str, count: int, shared: bytes) -> dict[str, bytes]:
    files = [f"kind: ConfigMap\nmetadata: {{name: c{i}, namespace: {name}}}\n".encode() for i in range(count)]
    return {_digest(data): data for data in (*files, shared)}


def test_every_content_reads_back_whatever_the_order() -> None:
    store = Contents()
    shared = b"kind: Namespace\nmetadata: {name: shop}\n"
    expected: dict[str, bytes] = {}
    # More clusters than streams kept open: reading at random opens and closes streams again and again.
    for index in range(module.OPEN_STREAMS * 3):
        fresh = {d: b for d, b in _cluster(f"c{index}", 5 + index, shared).items() if d not in store}
        store.add(f"c{index}", fresh)
        expected.update(fresh)
    assert len(store) == len(expected) and set(store) == set(expected)
    keys = list(expected)
    random.Random(7).shuffle(keys)
    for digest in keys * 2:
        assert store[digest] == expected[digest]
    assert _digest(shared) in store and "0" * 64 not in store
    with pytest.raises(KeyError):
        store["0" * 64]


def test_a_cluster_with_nothing_new_keeps_no_stream_and_a_stream_is_added_once() -> None:
    store = Contents()
    store.add("empty", {})
    assert len(store) == 0
    store.add("a", {_digest(b"x"): b"x", _digest(b""): b""})
    assert store[_digest(b"")] == b"" and store[_digest(b"x")] == b"x"
    with pytest.raises(ValueError, match="added twice"):
        store.add("a", {_digest(b"y"): b"y"})
