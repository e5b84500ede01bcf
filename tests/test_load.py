from __future__ import annotations

import yaml

from fanout.core.document import escape, split_pointer
from fanout.core.errors import Problem
from fanout.source.parse import load_documents


def test_positions_of_every_value() -> None:
    docs, problems = load_documents("a.yaml", b"a: 1\nb:\n  - x\n  - {c: 2}\n")
    assert problems == []
    doc = docs[0]
    assert doc.data == {"a": 1, "b": ["x", {"c": 2}]}
    assert str(doc.location("/b/1/c")) == "a.yaml:4:6"
    assert str(doc.location("/b/0")) == "a.yaml:3:5"
    # an unknown pointer falls back to its nearest written ancestor
    assert str(doc.location("/b/1/nope/deeper")) == "a.yaml:4:5"


def test_several_documents_and_empty_ones() -> None:
    docs, problems = load_documents("m.yaml", b"---\na: 1\n---\n---\nb: 2\n")
    assert problems == []
    assert [(d.index, d.data) for d in docs] == [(0, {"a": 1}), (2, {"b": 2})]
    assert [d.label for d in docs] == ["m.yaml", "m.yaml#3"]


def test_keys_are_taken_as_written_and_dates_stay_strings() -> None:
    docs, _ = load_documents("k.yaml", b"on: yes\n1: 2024-01-01\n")
    assert docs[0].data == {"on": True, "1": "2024-01-01"}


def test_merge_keys_and_aliases() -> None:
    docs, problems = load_documents(
        "m.yaml", b"base: &b {x: 1, y: 2}\nuse: {<<: *b, y: 3}\nmany: {<<: [*b], z: 4}\n"
    )
    assert problems == []
    assert docs[0].data["use"] == {"y": 3, "x": 1}
    assert docs[0].data["many"] == {"z": 4, "x": 1, "y": 2}


def test_a_key_written_twice_can_keep_its_last_value_as_go_yaml_v2_does() -> None:
    """For Helm's output (docs/helm.md): the last value replaces the first, whole (maps are not merged), in
    the first key's place, and each repetition is noted where it is written."""
    text = b"a: 1\nb: {x: 1, y: 2}\nc: 3\nb: {z: 3}\na: 4\na: 5\nm: {k: [1], k: [2]}\n"
    noted: list[Problem] = []
    docs, problems = load_documents("h.yaml", text, duplicates=noted)
    assert problems == []
    assert list(docs[0].data.items()) == [("a", 5), ("b", {"z": 3}), ("c", 3), ("m", {"k": [2]})]
    assert [str(p) for p in noted] == [
        "h.yaml:4:1: duplicate key 'b' (first defined on line 2)",
        "h.yaml:5:1: duplicate key 'a' (first defined on line 1)",
        "h.yaml:6:1: duplicate key 'a' (first defined on line 1)",
        "h.yaml:7:13: duplicate key 'k' (first defined on line 7)",
    ]
    assert yaml.safe_load(text) == docs[0].data  # PyYAML, like go-yaml v2, keeps the last too


def test_problems_are_located() -> None:
    _, problems = load_documents(
        "p.yaml",
        b"a: !custom x\nb: !!binary aGVsbG8=\nc: 1\nc: 2\nd: !!int nope\n? [complex]\n: key\ne: {<<: 1}\n",
    )
    assert [str(p) for p in problems] == [
        "p.yaml:1:4: YAML tag '!custom' is not plain data",
        "p.yaml:2:4: YAML tag 'tag:yaml.org,2002:binary' is not plain data",
        "p.yaml:4:1: duplicate key 'c' (first defined on line 3)",
        "p.yaml:5:4: 'nope' is not a valid int",
        "p.yaml:6:3: mapping keys must be plain strings",
        "p.yaml:8:5: a merge key (<<) needs a mapping",
    ]


def test_recursive_alias_is_refused() -> None:
    _, problems = load_documents("r.yaml", b"a: &x [*x]\n")
    assert [p.message for p in problems] == ["recursive YAML alias"]


def test_tagged_collections_are_refused() -> None:
    _, problems = load_documents("t.yaml", b"a: !!set {x}\nb: !list [1]\n")
    assert [p.message for p in problems] == [
        "YAML tag 'tag:yaml.org,2002:set' is not plain data",
        "YAML tag '!list' is not plain data",
    ]


def test_bytes_that_are_not_text() -> None:
    _, problems = load_documents("bin.yaml", b"a: \xff\xfe\n")
    assert [str(p) for p in problems] == [
        "bin.yaml:1:4: the file is not UTF-8: byte 0xff is not valid here (fanout reads UTF-8)"
    ]


def test_pointer_escaping_round_trips() -> None:
    token = "fanout.dev/placement~x"
    assert escape(token) == "fanout.dev~1placement~0x"
    assert split_pointer("/metadata/annotations/" + escape(token)) == ["metadata", "annotations", token]
    assert split_pointer("") == []
