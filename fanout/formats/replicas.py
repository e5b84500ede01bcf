"""The replica planner of Federation v1 and KubeFed, as a pure function.

Both systems ran the same planner (Federation v1's ``pkg/federation-controller/util/planner`` became
KubeFed's ``pkg/controller/util/planner``). fanout has no live cluster state, so this is the planner
with no replicas currently running and unlimited capacity; ``rebalance`` then makes no difference.
With those inputs the plan is fully determined by the preferences, the eligible cluster names and
the ``namespace/name`` key, which is what makes it reproducible in a GitOps render. Where the two
systems differ (what the total is, which clusters are eligible, where a 0 goes) is decided by the
caller (``fanout.formats.scheduling``), not here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

WILDCARD = "*"

_FNV32_OFFSET = 0x811C9DC5
_FNV32_PRIME = 0x01000193
_U32 = 0xFFFFFFFF


def fnv1_32(data: bytes) -> int:
    """32-bit FNV-1 (multiply, then xor; *not* FNV-1a), the hash Go's ``hash/fnv.New32`` computes."""
    value = _FNV32_OFFSET
    for byte in data:
        value = (value * _FNV32_PRIME) & _U32
        value ^= byte
    return value


@dataclass(frozen=True)
class ClusterPreference:
    """One entry of ``spec.clusters``; KubeFed's defaults are weight 0, min 0 and no maximum."""

    weight: int = 0
    min_replicas: int = 0
    max_replicas: int | None = None


@dataclass(frozen=True)
class PlanRequest:
    """What the planner needs from an RSP and its target.

    ``preferences`` maps a cluster name or ``"*"`` to its preference; an empty mapping means
    ``{"*": weight 1}`` as in KubeFed. ``clusters`` are the eligible cluster names (already
    intersected with the target's placement when ``intersectWithClusterSelector`` is set).
    """

    total_replicas: int
    clusters: tuple[str, ...]
    preferences: Mapping[str, ClusterPreference]
    namespace: str
    name: str

    @property
    def key(self) -> str:
        """The key KubeFed salted the tie-break hash with: the target's ``namespace/name``."""
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class Plan:
    """The planner's answer.

    ``replicas`` holds every eligible cluster, in cluster-name order: a cluster with neither an entry
    of its own nor a ``"*"`` entry gets 0, as both planners did (``plan[cluster] = 0``);
    ``order`` is the order the planner served the others in (weight desc, then hash asc);
    ``unassigned`` counts replicas no cluster could take because all were at their maximum.
    """

    replicas: Mapping[str, int]
    order: tuple[str, ...]
    unassigned: int


@dataclass
class _Slot:
    cluster: str
    pref: ClusterPreference
    hash: int
    planned: int = 0


def plan(request: PlanRequest) -> Plan:
    """Distribute ``request.total_replicas`` over the eligible clusters as KubeFed's planner did."""
    return distribute(request.preferences, request.total_replicas, request.clusters, request.key)


def distribute(
    preferences: Mapping[str, ClusterPreference], total: int, clusters: Iterable[str], key: str
) -> Plan:
    """The planner with an explicit hash key (KubeFed's own unit tests use an empty key)."""
    prefs = dict(preferences) if preferences else {WILDCARD: ClusterPreference(weight=1)}

    slots: list[_Slot] = []
    planned: dict[str, int] = {}
    for cluster in dict.fromkeys(clusters):  # de-duplicated, first occurrence wins
        pref = prefs.get(cluster, prefs.get(WILDCARD))
        if pref is None:
            planned[cluster] = 0  # eligible, but without a preference: placed with no replicas
            continue
        slots.append(_Slot(cluster, pref, fnv1_32((cluster + key).encode("utf-8"))))
    # Hashing the name with the object key spreads the odd replica of many small workloads
    # across clusters instead of always giving it to the alphabetically first one.
    slots.sort(key=lambda s: (-s.pref.weight, s.hash))

    remaining = total
    for slot in slots:
        slot.planned = min(slot.pref.min_replicas, remaining)
        remaining -= slot.planned

    active = list(slots)
    changed = True
    while changed and remaining > 0:
        changed = False
        weight_sum = sum(s.pref.weight for s in active)
        if weight_sum <= 0:
            break
        to_distribute = remaining
        still_open: list[_Slot] = []
        for slot in active:
            start = slot.planned
            extra = min(-(-to_distribute * slot.pref.weight // weight_sum), remaining)  # ceil division
            target = start + extra
            cap = slot.pref.max_replicas
            if cap is not None and target > cap:
                target = cap  # this cluster is full and sits out the later rounds
            else:
                still_open.append(slot)
            remaining -= target - start
            slot.planned = target
            if target > start:
                changed = True
        active = still_open

    planned.update((s.cluster, s.planned) for s in slots)
    return Plan(
        replicas=dict(sorted(planned.items())),
        order=tuple(s.cluster for s in slots),
        unassigned=max(remaining, 0),
    )
