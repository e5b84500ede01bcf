"""The ReplicaSchedulingPreference planner against KubeFed's documented and tested behaviour."""

from __future__ import annotations

import pytest

from fanout.formats.replicas import ClusterPreference, PlanRequest, distribute, fnv1_32, plan

P = ClusterPreference


def reference_fnv1(text: str) -> int:
    """An independent FNV-1 (32-bit) written from the definition, to check tie-breaks against."""
    h = 2166136261
    for b in text.encode():
        h = (h * 16777619) % 2**32
        h = h ^ b
    return h


def request(prefs: dict[str, ClusterPreference], total: int, clusters: str | list[str]) -> PlanRequest:
    names = list(clusters) if isinstance(clusters, str) else clusters
    return PlanRequest(total, tuple(names), prefs, namespace="shop", name="frontend")


class TestHash:
    @pytest.mark.parametrize(
        ("data", "expected"),
        [(b"", 0x811C9DC5), (b"a", 0x050C5D7E), (b"foobar", 0x31F0B262)],
    )
    def test_published_fnv1_vectors(self, data: bytes, expected: int) -> None:
        assert fnv1_32(data) == expected

    def test_is_fnv1_not_fnv1a(self) -> None:
        # FNV-1a of "a" is 0xe40c292c; KubeFed used Go's fnv.New32, which is FNV-1.
        assert fnv1_32(b"a") != 0xE40C292C

    @pytest.mark.parametrize("text", ["aws-us-east-1shop/frontend", "gcp-eu/x", "ü-unicode/ns"])
    def test_matches_reference(self, text: str) -> None:
        assert fnv1_32(text.encode()) == reference_fnv1(text)


class TestIssueVectors:
    def test_weights_one_and_two(self) -> None:
        result = plan(request({"A": P(weight=1), "B": P(weight=2)}, 9, "AB"))
        assert dict(result.replicas) == {"A": 3, "B": 6}
        assert result.unassigned == 0

    def test_min_and_max_cap_the_weighted_share(self) -> None:
        prefs = {
            "A": P(weight=1, min_replicas=4, max_replicas=6),
            "B": P(weight=2, min_replicas=4, max_replicas=8),
        }
        assert dict(plan(request(prefs, 9, "AB")).replicas) == {"A": 4, "B": 5}

    def test_mins_then_weighted_rounds(self) -> None:
        prefs = {"A": P(weight=2, min_replicas=2), "B": P(weight=3, min_replicas=4)}
        assert dict(plan(request(prefs, 10, "AB")).replicas) == {"A": 3, "B": 7}


class TestKubeFedUnitTestVectors:
    """Expected layouts from KubeFed's planner tests, which pass an empty hash key."""

    def test_equal_weights_hash_dependent(self) -> None:
        assert dict(distribute({"*": P(weight=1)}, 50, "ABC", "").replicas) == {"A": 16, "B": 17, "C": 17}
        assert dict(distribute({"*": P(weight=1)}, 1, "AB", "").replicas) == {"A": 0, "B": 1}
        assert dict(distribute({"*": P(weight=1)}, 1, "ABCD", "").replicas) == {
            "A": 0,
            "B": 0,
            "C": 0,
            "D": 1,
        }

    def test_min_only_hash_dependent(self) -> None:
        result = distribute({"*": P(weight=0, min_replicas=20)}, 50, "ABC", "")
        assert dict(result.replicas) == {"A": 10, "B": 20, "C": 20}

    def test_several_maxima(self) -> None:
        prefs = {
            "A": P(weight=10000, max_replicas=10),
            "B": P(weight=1),
            "C": P(weight=1, max_replicas=21),
            "D": P(weight=1, max_replicas=10),
            "E": P(weight=1),
        }
        assert dict(distribute(prefs, 91, "ABCDE", "").replicas) == {
            "A": 10,
            "B": 25,
            "C": 21,
            "D": 10,
            "E": 25,
        }

    def test_big_weight_takes_everything(self) -> None:
        result = distribute({"A": P(weight=10000), "B": P(weight=1)}, 50, "ABC", "")
        # KubeFed's own vector: C, without an entry, is in the plan with 0.
        assert dict(result.replicas) == {"A": 50, "B": 0, "C": 0}


class TestDefaults:
    def test_empty_clusters_means_star_weight_one(self) -> None:
        empty = plan(request({}, 7, "ABC"))
        star = plan(request({"*": P(weight=1)}, 7, "ABC"))
        assert empty == star
        # Rounding every share up favours the clusters served first: 3, 3, 1 rather than 3, 2, 2.
        assert [empty.replicas[c] for c in empty.order] == [3, 3, 1]

    def test_cluster_without_entry_and_without_star_gets_zero(self) -> None:
        result = plan(request({"A": P(weight=1)}, 5, "ABC"))
        assert dict(result.replicas) == {"A": 5, "B": 0, "C": 0}
        assert result.order == ("A",)

    def test_own_entry_beats_star(self) -> None:
        result = plan(request({"*": P(weight=1), "C": P(weight=1, max_replicas=2)}, 12, "ABC"))
        assert result.replicas["C"] == 2
        assert result.replicas["A"] + result.replicas["B"] == 10

    def test_no_eligible_clusters(self) -> None:
        result = plan(request({"*": P(weight=1)}, 3, []))
        assert dict(result.replicas) == {}
        assert result.unassigned == 3

    def test_duplicate_eligible_names_count_once(self) -> None:
        assert dict(plan(request({"*": P(weight=1)}, 4, ["A", "B", "A"])).replicas) == {"A": 2, "B": 2}

    def test_input_order_does_not_matter(self) -> None:
        prefs = {"*": P(weight=1)}
        assert plan(request(prefs, 5, "ABC")) == plan(request(prefs, 5, "CAB"))


class TestMaximaAndLeftovers:
    def test_clamped_cluster_leaves_later_rounds(self) -> None:
        result = plan(request({"A": P(weight=1, max_replicas=2), "B": P(weight=1)}, 10, "AB"))
        assert dict(result.replicas) == {"A": 2, "B": 8}
        assert result.unassigned == 0

    def test_unassigned_when_every_cluster_is_full(self) -> None:
        result = plan(request({"*": P(weight=1, max_replicas=3)}, 10, "AB"))
        assert dict(result.replicas) == {"A": 3, "B": 3}
        assert result.unassigned == 4

    def test_weight_zero_only_gets_its_minimum(self) -> None:
        result = plan(request({"*": P(weight=0, min_replicas=2)}, 10, "AB"))
        assert dict(result.replicas) == {"A": 2, "B": 2}
        assert result.unassigned == 6

    def test_min_pass_serves_heavier_weight_first(self) -> None:
        prefs = {"A": P(weight=1, min_replicas=5), "B": P(weight=2, min_replicas=5)}
        assert dict(plan(request(prefs, 6, "AB")).replicas) == {"A": 1, "B": 5}

    def test_zero_total(self) -> None:
        result = plan(request({"*": P(weight=1)}, 0, "AB"))
        assert dict(result.replicas) == {"A": 0, "B": 0}
        assert result.unassigned == 0


class TestHashTieBreak:
    def order_by_reference(self, clusters: list[str], key: str) -> list[str]:
        return sorted(clusters, key=lambda c: reference_fnv1(c + key))

    def test_odd_remainder_goes_to_lowest_hash(self) -> None:
        clusters = ["aws-us-east-1", "gcp-europe-west1"]
        first, second = self.order_by_reference(clusters, "shop/frontend")
        result = plan(request({"*": P(weight=1)}, 5, clusters))
        assert result.replicas[first] == 3
        assert result.replicas[second] == 2
        assert result.order == (first, second)

    def test_single_replica_among_four(self) -> None:
        clusters = ["east", "west", "north", "south"]
        winner = self.order_by_reference(clusters, "shop/frontend")[0]
        result = plan(request({"*": P(weight=1)}, 1, clusters))
        assert {c: n for c, n in result.replicas.items() if n} == {winner: 1}

    def test_winner_depends_on_namespace_and_name(self) -> None:
        clusters = ["aws", "gcp"]
        keys = [f"team-{i % 5}/app-{i}" for i in range(200)]
        winners = {self.order_by_reference(clusters, k)[0] for k in keys}
        assert winners == {"aws", "gcp"}  # the salt really spreads the odd replica
        for key in keys:
            namespace, name = key.split("/")
            req = PlanRequest(1, tuple(clusters), {"*": P(weight=1)}, namespace, name)
            expected = self.order_by_reference(clusters, key)[0]
            assert plan(req).replicas[expected] == 1

    def test_weight_orders_before_hash(self) -> None:
        clusters = ["aws", "gcp", "azure"]
        prefs = {"aws": P(weight=1), "gcp": P(weight=1), "azure": P(weight=5)}
        result = plan(request(prefs, 7, clusters))
        low = self.order_by_reference(["aws", "gcp"], "shop/frontend")
        assert result.order == ("azure", *low)
        # azure: ceil(7*5/7)=5; the first weight-1 cluster: min(ceil(7/7), 2)=1; the second: 1.
        assert dict(result.replicas) == {"azure": 5, "aws": 1, "gcp": 1}
