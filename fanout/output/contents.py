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
from collections.abc import Iterator, Mapping
from itertools import accumulate

# zlib's fastest level: it compresses YAML at ~400 MB/s and already gets most of the gain.
LEVEL = 1
# Decompressed streams kept: files are written cluster by cluster, and the contents a cluster shares
# with others sit in a few earlier clusters' streams.
OPEN_STREAMS = 8


class Contents(Mapping[str, bytes]):
    """Content digest -> bytes; filled a cluster at a time with ``add``."""

    def __init__(self) -> None:
        self._home: dict[str, str] = {}  # digest -> the stream (cluster) that holds it
        # stream -> (compressed bytes, its digests in order, where each content ends)
        self._streams: dict[str, tuple[bytes, tuple[str, ...], tuple[int, ...]]] = {}
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
