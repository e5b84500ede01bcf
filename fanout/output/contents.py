"""Rendered file contents held until they are written: each distinct content once, compressed.

A render keeps every file's bytes from the moment it is rendered until it is staged (nothing may be
written before every cluster rendered without error). At 10,000 clusters that is a gigabyte of YAML, and
it was most of a worker's memory. A cluster's files compress about twelve times together (its objects
share keys, labels and values) but little one by one, so the contents first seen in a cluster are kept
as one zlib stream; reading a file back decompresses its cluster's stream once for all its files.
"""

from __future__ import annotations

import zlib
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from itertools import accumulate

# zlib's fastest level: it compresses YAML at ~400 MB/s and already gets most of the gain.
LEVEL = 1
# Decompressed streams kept: files are written cluster by cluster, and the contents a cluster shares
# with others sit in a few earlier clusters' streams.
OPEN_STREAMS = 8


# A stream: its compressed bytes, the digests of its contents in order, where each content ends.
Stream = tuple[bytes, tuple[str, ...], tuple[int, ...]]


class Contents(Mapping[str, bytes]):
    """Content digest -> bytes; filled a cluster at a time with ``add``."""

    def __init__(self) -> None:
        self._home: dict[str, str] = {}  # digest -> the stream (cluster) that holds it
        # stream -> (compressed bytes, its digests in order, where each content ends)
        self._streams: dict[str, Stream] = {}
        self._open: OrderedDict[str, tuple[bytes, dict[str, tuple[int, int]]]] = OrderedDict()

    def add(self, stream: str, fresh: Mapping[str, bytes]) -> None:
        """Keep ``fresh`` (digest -> content, none of them held yet) under the name ``stream``."""
        if not fresh:
            return
        if stream in self._streams:
            raise ValueError(f"contents of {stream} added twice")
        digests = tuple(fresh)
        ends = tuple(accumulate(len(data) for data in fresh.values()))
        self._streams[stream] = (zlib.compress(b"".join(fresh.values()), LEVEL), digests, ends)
        home = self._home
        for digest in digests:
            home[digest] = stream

    def export(self) -> dict[str, Stream]:
        """The compressed streams, to hand to another process (``adopt``)."""
        return dict(self._streams)

    def adopt(self, stream: str, held: Stream) -> None:
        """Take a stream another ``Contents`` exported; a content this one holds already keeps its home."""
        if stream in self._streams:
            raise ValueError(f"contents of {stream} added twice")
        self._streams[stream] = held
        home = self._home
        for digest in held[1]:
            home.setdefault(digest, stream)

    def _opened(self, stream: str) -> tuple[bytes, dict[str, tuple[int, int]]]:
        found = self._open.get(stream)
        if found is not None:
            self._open.move_to_end(stream)
            return found
        compressed, digests, ends = self._streams[stream]
        starts = (0, *ends[:-1])
        found = (zlib.decompress(compressed), dict(zip(digests, zip(starts, ends, strict=True), strict=True)))
        self._open[stream] = found
        if len(self._open) > OPEN_STREAMS:
            self._open.popitem(last=False)
        return found

    def __getitem__(self, digest: str) -> bytes:
        data, spans = self._opened(self._home[digest])
        start, end = spans[digest]
        return data[start:end]

    def __contains__(self, digest: object) -> bool:
        return digest in self._home

    def __iter__(self) -> Iterator[str]:
        return iter(self._home)

    def __len__(self) -> int:
        return len(self._home)


class FileTree(Mapping[str, bytes]):
    """A rendered tree, ``cluster/path`` -> bytes, read from ``Contents`` when asked: a publish of 200,000
    distinct objects held every file's bytes (and a worker's copy of them in transit) at once."""

    def __init__(self, paths: Mapping[str, str], contents: Mapping[str, bytes]) -> None:
        self._digests = paths  # path -> content digest
        self._contents = contents

    @staticmethod
    def of(
        clusters: Sequence[tuple[str, Sequence[str], Sequence[str]]], contents: Mapping[str, bytes]
    ) -> FileTree:
        """From each cluster's (name, paths, digests)."""
        return FileTree(
            {
                f"{name}/{path}": digest
                for name, paths, digests in clusters
                for path, digest in zip(paths, digests, strict=True)
            },
            contents,
        )

    def by_cluster(self) -> dict[str, FileTree]:
        """The files in cluster folders, by cluster, each as a tree of its own (paths in its folder)."""
        grouped: dict[str, dict[str, str]] = {}
        for path, digest in self._digests.items():
            cluster, sep, rest = path.partition("/")
            if sep:
                grouped.setdefault(cluster, {})[rest] = digest
        return {name: FileTree(paths, self._contents) for name, paths in grouped.items()}

    def digest(self, path: str) -> str:
        """The SHA-256 (hex) of the file's content: files with the same one have the same bytes."""
        return self._digests[path]

    def __getitem__(self, path: str) -> bytes:
        return self._contents[self._digests[path]]

    def __contains__(self, path: object) -> bool:
        return path in self._digests

    def __iter__(self) -> Iterator[str]:
        return iter(self._digests)

    def __len__(self) -> int:
        return len(self._digests)
