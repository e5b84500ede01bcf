"""The fast YAML writer gives exactly PyYAML's bytes, or says it cannot and leaves the document to PyYAML."""

from __future__ import annotations

import random
import string
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fanout.render.blockyaml import BlockWriter, Unsupported
from fanout.render.emit import _pyyaml_dump, dump

TRICKY = [
    "",
    " ",
    "a",
    "yes",
    "No",
    "on",
    "OFF",
    "null",
    "Null",
    "~",
    "true",
    "True",
    "1",
    "1.0",
    "0x1F",
    "0o17",
    "1e3",
    "1_000",
    "+1",
    "-",
    "- x",
    "x: y",
    "a #b",
    "#c",
    "@x",
    "`x",
    "!x",
    "&x",
    "*x",
    "%x",
    "'q'",
    '"q"',
    "a'b",
    'a"b',
    "x\ny",
    "x\ny\n",
    "x\n\ny",
    " lead\nx",
    "\nlead",
    "trail \ny",
    "tab\tx",
    "é",
    "日本",
    "emoji 🎉",
    "\x07bell",
    "back\\slash",
    "{a}",
    "[b]",
    "a,b",
    "?x",
    "x?",
    ": x",
    "x:",
    "2020-01-01",
    "12:30",
    ".inf",
    "-.inf",
    ".nan",
    "${cluster.name}",
    "$${x}",
    "a  b",
    " x",
    "x ",
    "=",
    "<<",
    "0",
    "00",
    "#!/bin/sh\nset -eu\n",
    "line1\n  indented\n",
    "\tx\ny",
    "x\n\ty",
    "end\n ",
    "\ufeffx",
    "long " * 40,
    "k" * 99,
    "v1.2.3",
    "a/b",
    "x-y_z",
    "E",
    "e1",
    "inf",
    "nan",
    "NULL",
    "Yes",
]
KEYS = ["a", "b", "metadata", "name", "app.kubernetes.io/name", "yes", "1", "x: y", "on", "é", "- x", "a b"]


def _scalar(rng: random.Random) -> Any:
    roll = rng.random()
    if roll < 0.55:
        return rng.choice(TRICKY)
    if roll < 0.65:
        return rng.randint(-5, 10**12)
    if roll < 0.7:
        return rng.choice([0.0, -0.0, 1.5, 1e20, float("inf"), 3.0])
    if roll < 0.8:
        return rng.choice([True, False, None])
    if roll < 0.9:  # names, paths and versions: the writer's own fast path
        first = rng.choice(string.ascii_letters)
        return first + "".join(rng.choice(string.ascii_letters + string.digits + "._/-") for _ in range(5))
    return "".join(rng.choice("ab :-#'\"\n \t{}[]é") for _ in range(rng.randint(0, 8)))


def _node(rng: random.Random, depth: int) -> Any:
    roll = rng.random()
    if depth > 4 or roll < 0.45:
        return _scalar(rng)
    if roll < 0.75:
        return {
            rng.choice(KEYS) + str(rng.randint(0, 3)): _node(rng, depth + 1) for _ in range(rng.randint(0, 4))
        }
    return [_node(rng, depth + 1) for _ in range(rng.randint(0, 4))]


def test_random_documents_match_pyyaml_byte_for_byte() -> None:
    rng = random.Random(7)
    writer = BlockWriter(_pyyaml_dump)
    written = 0
    for _ in range(4000):
        document = {rng.choice(KEYS): _node(rng, 1) for _ in range(rng.randint(1, 5))}
        try:
            fast = writer.dump(document)
        except Unsupported:
            continue
        assert fast == _pyyaml_dump(document), document
        written += 1
    assert written > 3000  # the fast path covers nearly everything


def test_layout_of_nested_blocks_and_literals() -> None:
    document = {
        "a": [1, {"b": [2, [3, 4], {}], "c": {}, "l": "x\ny\n"}, [[5]], "m\n  n"],
        "d": {"e": "f", "g": " lead\n", "h": {"i": "a\n\nb"}},
        "e": [],
        "f": None,
    }
    expected = _pyyaml_dump(document)
    assert BlockWriter(_pyyaml_dump).dump(document) == expected
    assert "  l: |\n    x\n    y\n" in expected  # a literal under a key in a list item


@pytest.mark.parametrize(
    "document",
    [
        {"k": "kept\n\n"},  # PyYAML ends this document with "..."
        {"k" * 130: 1},  # not a simple key
        {"": 1},
        {1: "int key"},
        {"k": "a\u2028b"},  # folded onto indented lines
        {"k": ("a", "tuple")},
        {"shared": (shared := {"x": 1}), "again": [shared]},  # PyYAML writes an anchor
    ],
)
def test_what_the_writer_leaves_to_pyyaml(document: dict[Any, Any]) -> None:
    with pytest.raises(Unsupported):
        BlockWriter(_pyyaml_dump).dump(document)


def test_dump_falls_back_to_pyyaml() -> None:
    shared = {"x": 1}
    document = {"a": shared, "b": shared, "c": "kept\n\n"}
    assert dump(document) == _pyyaml_dump(document)
    assert "&id001" in dump(document)


# Characters where libyaml and PyYAML's Python emitter part ways, or where the Python one slips.
SPECIAL = ["\x85", "\u2028", "\u2029", "😀", "\U0010ffff", "\ufeff", "\x00", "\x07", "\r", "\t", "é", "\xa0"]


@settings(max_examples=600, deadline=None)
@given(
    st.text(
        alphabet=st.one_of(
            st.sampled_from(SPECIAL),
            st.sampled_from(list(string.printable)),
            st.characters(exclude_categories=("Cs",)),
        ),
        max_size=12,
    )
)
def test_every_string_reads_back_and_does_not_depend_on_libyaml(text: str) -> None:
    # (No lone surrogates: inputs are decoded from UTF-8, which cannot hold them.)
    # Output must be the same on a machine whose PyYAML lacks libyaml: dump() may ask libyaml only where
    # it writes what the Python emitter writes (emoji, for one, it escapes as \U0001F600). And what is
    # written must read back as written: the Python emitter alone once turned NEL into a space.
    import yaml

    for document in ({"k": text}, {"k": [text, {"n": text}]}, {text or "e": 1}):
        written = dump(document)
        assert written == _pyyaml_dump(document)  # the pure-Python emitter: what every machine has
        assert yaml.load(written, Loader=yaml.SafeLoader) == document
        if hasattr(yaml, "CSafeLoader"):
            assert yaml.load(written, Loader=yaml.CSafeLoader) == document


def test_emoji_are_written_as_they_are_and_nel_is_escaped() -> None:
    assert dump({"k": "ship it 🚀"}) == "k: ship it 🚀\n"
    assert dump({"k": "a\x85b"}) == 'k: "a\\Nb"\n'
