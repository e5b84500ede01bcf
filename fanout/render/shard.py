"""``--shard I/N``: a deterministic share of the clusters, so that CI machines can split a big render.

A cluster's shard depends only on its name (a stable hash), never on the other clusters, so adding or
removing a cluster never moves any other cluster to another shard. Every cluster is in exactly one
shard, so the shards' folders together are the full render.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from fanout.core.errors import FanoutError

_SYNTAX = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*\Z")


@dataclass(frozen=True)
class Shard:
    index: int  # 1-based
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def holds(self, cluster: str) -> bool:
        return shard_of(cluster, self.count) == self.index


def parse_shard(text: str) -> Shard:
    """``"2/5"`` -> Shard(2, 5); shards are numbered from 1, as in ``strategy.matrix`` lists."""
    match = _SYNTAX.match(text)
    if match is None:
        raise FanoutError.at(f"{text!r} is not I/N (e.g. 1/4)")
    index, count = int(match[1]), int(match[2])
    if count < 1 or not 1 <= index <= count:
        raise FanoutError.at(f"{text!r}: shards are numbered 1 to N")
    return Shard(index, count)


def shard_of(cluster: str, count: int) -> int:
    """The shard (1-based, of ``count``) that ``cluster`` belongs to."""
    digest = hashlib.sha256(cluster.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


def select(names: Iterable[str], shard: Shard) -> set[str]:
    return {name for name in names if shard.holds(name)}
