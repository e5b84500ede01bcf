"""``fanout.core.cachefile``: cache files are written atomically and never fail a run; a sealed file reads
back only when its kind and checksum are right (marshal trusts its input)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fanout.core.cachefile import read_sealed, write_quietly, write_sealed, write_sealed_parts

MAGIC = b"fanout-test 1\n"


def test_a_sealed_file_reads_back_with_its_mtime(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "state"
    write_sealed(path, MAGIC, b"payload")
    found = read_sealed(path, MAGIC)
    assert found is not None
    assert bytes(found[0]) == b"payload" and found[1] == path.stat().st_mtime_ns
    assert not [p for p in path.parent.iterdir() if p.name != "state"]  # no temporary file left


@pytest.mark.parametrize(
    "damage",
    [
        lambda raw: raw[:-1] + bytes([raw[-1] ^ 1]),  # the payload
        lambda raw: raw[: len(MAGIC)] + bytes([raw[len(MAGIC)] ^ 1]) + raw[len(MAGIC) + 1 :],  # the checksum
        lambda raw: b"fanout-test 2\n" + raw[len(MAGIC) :],  # another kind
        lambda raw: raw[:10],  # cut short
        lambda raw: b"",
    ],
    ids=["payload", "checksum", "kind", "cut", "empty"],
)
def test_a_damaged_or_foreign_file_reads_as_none(tmp_path: Path, damage: object) -> None:
    path = tmp_path / "state"
    write_sealed(path, MAGIC, b"payload")
    assert callable(damage)
    path.write_bytes(damage(path.read_bytes()))
    assert read_sealed(path, MAGIC) is None


def test_a_missing_file_reads_as_none_and_an_unwritable_place_is_quiet(tmp_path: Path) -> None:
    assert read_sealed(tmp_path / "missing", MAGIC) is None
    (tmp_path / "file").write_text("not a folder", encoding="utf-8")
    write_quietly(tmp_path / "file" / "state", b"x")  # the cache folder is a file: nothing, quietly
    write_sealed(tmp_path / "file" / "state", MAGIC, b"x")
    write_sealed_parts(tmp_path / "file" / "state", MAGIC, [b"x"])
    assert read_sealed(tmp_path / "file" / "state", MAGIC) is None
    assert list(tmp_path.iterdir()) == [tmp_path / "file"]


def test_a_file_sealed_part_by_part_is_the_file_sealed_whole(tmp_path: Path) -> None:
    """The render state is written a cluster at a time; its file is byte for byte ``write_sealed``'s."""
    write_sealed(tmp_path / "whole", MAGIC, b"header;first;second")
    write_sealed_parts(tmp_path / "parts", MAGIC, iter([b"header;", b"first;", b"", b"second"]))
    assert (tmp_path / "parts").read_bytes() == (tmp_path / "whole").read_bytes()
    assert not [p for p in tmp_path.iterdir() if p.name not in ("whole", "parts")]


def test_a_file_whose_parts_fail_midway_is_not_written(tmp_path: Path) -> None:
    """A part that cannot be made (the disk is full: OSError) leaves the old file as it was."""
    path = tmp_path / "state"
    write_sealed(path, MAGIC, b"old")

    def parts() -> Iterator[bytes]:
        yield b"new"
        raise OSError(28, "No space left on device")

    write_sealed_parts(path, MAGIC, parts())
    found = read_sealed(path, MAGIC)
    assert found is not None and bytes(found[0]) == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["state"]
