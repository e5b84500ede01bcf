"""Comparing renderings: matching objects, value equality, grouping, Secret masking."""

from __future__ import annotations

from pathlib import Path

from fanout.core.fielddiff import FieldChange
from fanout.core.model import ObjectId
from fanout.render.pipeline import Rendering, load_inputs, render
from fanout.report.diffing import (
    CHANGED,
    HIDDEN,
    Side,
    compare_clusters,
    compare_renderings,
    mask_secret,
)
from fanout.source.tree import DirectorySource
from tests.shop import EAST, PROD, SHOP, WEB, write

BASE_SIDE = Side("HEAD", "HEAD", "0" * 40)
HEAD_SIDE = Side("working tree")


def rendering(root: Path, files: dict[str, str]) -> Rendering:
    for path, content in files.items():
        write(root, path, content)
    return render(load_inputs(DirectorySource(root)))


def shop(tmp_path: Path, name: str = "shop", changes: dict[str, str] | None = None) -> Rendering:
    """The shop source root in ``tmp_path/name``, with some files replaced, rendered."""
    return rendering(tmp_path / name, {**SHOP, **(changes or {})})


def test_cluster_to_cluster_lists_only_what_differs(tmp_path: Path) -> None:
    comparison = compare_clusters(shop(tmp_path), "dev-1", "prod-east")
    (cluster,) = comparison.clusters
    by_kind = {c.ident.kind: c for c in cluster.changes}
    # The Namespace and the Service are the same in both clusters: not listed.
    assert set(by_kind) == {"ConfigMap", "Deployment", "Secret"}
    assert by_kind["ConfigMap"].status == "added"
    assert by_kind["Deployment"].status == "changed"
    deployment = by_kind["Deployment"].diff
    assert deployment[:2] == (
        "--- dev-1/shop/deployment.apps_web.yaml",
        "+++ prod-east/shop/deployment.apps_web.yaml",
    )
    changed = [line for line in deployment if line[:1] in "+-" and line[:3] not in ("+++", "---")]
    assert changed == [
        "+  labels:",
        "+    boost: 'yes'",
        "-  replicas: 2",
        "+  replicas: 5",
        "-          value: https://dev.example.com",
        "+          value: https://east.example.com",
    ]
    # No header comment of the rendered file reaches a diff.
    assert not any("Rendered by fanout" in line for c in cluster.changes for line in c.diff)
    assert comparison.mode == "clusters"
    assert (comparison.base.cluster, comparison.head.cluster) == ("dev-1", "prod-east")
    assert cluster.name == "dev-1 → prod-east"
    assert [(g.names, g.changes) for g in comparison.groups] == [((cluster.name,), cluster.changes)]


def test_objects_only_in_the_base_cluster_are_removed(tmp_path: Path) -> None:
    comparison = compare_clusters(shop(tmp_path), "prod-east", "dev-1")
    (cluster,) = comparison.clusters
    removed = [c for c in cluster.changes if c.status == "removed"]
    assert [str(c.ident) for c in removed] == ["ConfigMap shop/prod-only"]
    assert removed[0].diff[:2] == ("--- prod-east/shop/configmap_prod-only.yaml", "+++ /dev/null")
    assert all(line.startswith(("-", "@@", "+++")) for line in removed[0].diff)
    assert comparison.total("removed") == 1


def test_identical_clusters_do_not_differ(tmp_path: Path) -> None:
    comparison = compare_clusters(shop(tmp_path), "prod-west", "prod-west")
    assert not comparison.differs
    assert comparison.groups == ()
    assert comparison.clusters[0].status == "unchanged"


def test_key_order_is_not_a_difference_but_a_type_is(tmp_path: Path) -> None:
    reordered = SHOP["templates/base.yaml"].replace(
        "  password: s3cret-${cluster.name}\n  user: admin\n",
        "  user: admin\n  password: s3cret-${cluster.name}\n",
    )
    base = shop(tmp_path, "a")
    head = shop(tmp_path, "b", {"templates/base.yaml": reordered})
    assert not compare_renderings(base, head, BASE_SIDE, HEAD_SIDE).differs

    # 1 and true are equal in Python, but not in Kubernetes.
    typed = SHOP["templates/base.yaml"].replace("- port: 80", "- port: 80\n      appProtocol: 1")
    as_bool = SHOP["templates/base.yaml"].replace("- port: 80", "- port: 80\n      appProtocol: true")
    comparison = compare_renderings(
        shop(tmp_path, "c", {"templates/base.yaml": typed}),
        shop(tmp_path, "d", {"templates/base.yaml": as_bool}),
        BASE_SIDE,
        HEAD_SIDE,
    )
    assert [c.name for c in comparison.changed_clusters] == ["dev-1", "prod-east"]


def test_the_same_change_in_several_clusters_is_one_group(tmp_path: Path) -> None:
    base = shop(tmp_path, "a")
    head = shop(tmp_path, "b", {"templates/web.yaml": WEB.replace("image: web:1.0", "image: web:1.1")})
    comparison = compare_renderings(base, head, BASE_SIDE, HEAD_SIDE)
    # web goes to every aws and gcp cluster; edge-1 (onprem) does not get it.
    assert [c.name for c in comparison.changed_clusters] == ["dev-1", "prod-east", "prod-west"]
    assert [c.status for c in comparison.clusters] == ["changed", "unchanged", "changed", "changed"]
    (group,) = comparison.groups
    assert group.names == ("dev-1", "prod-east", "prod-west")
    (change,) = group.changes
    assert change.diff[:2] == ("--- a/shop/deployment.apps_web.yaml", "+++ b/shop/deployment.apps_web.yaml")
    assert "-        image: web:1.0" in change.diff
    assert "+        image: web:1.1" in change.diff
    assert change.fields == (
        FieldChange("/spec/template/spec/containers/0/image", "changed", "web:1.0", "web:1.1"),
    )
    # Grouped although each cluster's diff shows its own domain (and prod-east its labels) as context.
    assert not group.same_diff
    assert "           value: https://dev.example.com" in change.diff  # the first cluster's diff is shown


def test_changes_that_differ_per_cluster_are_not_grouped(tmp_path: Path) -> None:
    base = shop(tmp_path, "a")
    # The prod override now also sets the domain: a different value in each prod cluster.
    prod = PROD + '    - {op: add, path: /metadata/annotations, value: {host: "${cluster.values.domain}"}}\n'
    head = shop(tmp_path, "b", {"overrides/prod.yaml": prod})
    comparison = compare_renderings(base, head, BASE_SIDE, HEAD_SIDE)
    assert [g.names for g in comparison.groups] == [("prod-east",), ("prod-west",)]
    east, west = (g.changes[0].diff for g in comparison.groups)
    assert "+    host: east.example.com" in east
    assert "+    host: west.example.com" in west


def test_clusters_added_and_removed_between_renderings(tmp_path: Path) -> None:
    base = shop(tmp_path, "a")
    clusters = SHOP["clusters/clusters.yaml"].replace("name: prod-west", "name: prod-north")
    head = shop(tmp_path, "b", {"clusters/clusters.yaml": clusters})
    comparison = compare_renderings(base, head, BASE_SIDE, HEAD_SIDE)
    status = {c.name: c.status for c in comparison.clusters}
    assert status == {
        "dev-1": "unchanged",
        "edge-1": "unchanged",
        "prod-east": "unchanged",
        "prod-north": "added",
        "prod-west": "removed",
    }
    north = next(c for c in comparison.clusters if c.name == "prod-north")
    assert (north.base, north.head) == (None, "prod-north")
    assert {c.status for c in north.changes} == {"added"}
    # The Namespace, Secret, ConfigMap and Deployment; the Service names the clusters it goes to.
    assert north.count("added") == 4
    assert [g.names for g in comparison.groups] == [("prod-north",), ("prod-west",)]


def test_only_narrows_the_clusters_compared(tmp_path: Path) -> None:
    base = shop(tmp_path, "a")
    head = shop(tmp_path, "b", {"templates/web.yaml": WEB.replace("image: web:1.0", "image: web:1.1")})
    comparison = compare_renderings(base, head, BASE_SIDE, HEAD_SIDE, only={"prod-west", "edge-1"})
    assert [c.name for c in comparison.clusters] == ["edge-1", "prod-west"]
    assert [g.names for g in comparison.groups] == [("prod-west",)]


def test_secret_values_are_never_in_a_diff(tmp_path: Path) -> None:
    comparison = compare_clusters(shop(tmp_path), "dev-1", "prod-east")
    secret = next(c for c in comparison.clusters[0].changes if c.ident.kind == "Secret")
    text = "\n".join(secret.diff)
    assert "s3cret" not in text and "admin" not in text
    assert f"-  password: {HIDDEN}" in secret.diff
    assert f"+  password: {CHANGED}" in secret.diff
    assert f"   user: {HIDDEN}" in secret.diff  # a context line: same value on both sides

    # A Secret that appears or disappears is masked too, data as well as stringData.
    base = shop(tmp_path, "a")
    added = SHOP["templates/base.yaml"] + (
        "---\napiVersion: v1\nkind: Secret\nmetadata: {name: token, namespace: shop}\n"
        "data: {token: c2VjcmV0}\ntype: Opaque\n"
    )
    head = shop(tmp_path, "b", {"templates/base.yaml": added})
    comparison = compare_renderings(base, head, BASE_SIDE, HEAD_SIDE)
    everything = "\n".join(line for g in comparison.groups for c in g.changes for line in c.diff)
    assert "c2VjcmV0" not in everything
    assert f"+  token: {HIDDEN}" in everything
    removed = compare_renderings(head, base, BASE_SIDE, HEAD_SIDE)
    everything = "\n".join(line for g in removed.groups for c in g.changes for line in c.diff)
    assert "c2VjcmV0" not in everything and f"-  token: {HIDDEN}" in everything


def test_mask_secret_marks_changed_added_and_removed_keys() -> None:
    base = {"kind": "Secret", "data": {"same": "YQ==", "changed": "Yg==", "gone": "Yw=="}, "type": "Opaque"}
    head = {"kind": "Secret", "data": {"same": "YQ==", "changed": "Zg==", "new": "ZA=="}, "type": "Opaque"}
    old, new = mask_secret(base, head)
    assert old == {
        "kind": "Secret",
        "data": {"same": HIDDEN, "changed": HIDDEN, "gone": HIDDEN},
        "type": "Opaque",
    }
    assert new == {
        "kind": "Secret",
        "data": {"same": HIDDEN, "changed": CHANGED, "new": HIDDEN},
        "type": "Opaque",
    }
    assert base["data"]["same"] == "YQ=="  # the inputs are left alone


def test_a_changed_secret_in_one_cluster_is_detected_though_masked(tmp_path: Path) -> None:
    base = shop(tmp_path, "a")
    head = shop(
        tmp_path,
        "b",
        {"templates/base.yaml": SHOP["templates/base.yaml"].replace("user: admin", "user: root")},
    )
    comparison = compare_renderings(base, head, BASE_SIDE, HEAD_SIDE)
    (group,) = comparison.groups
    assert len(group.names) == 4
    (change,) = group.changes
    assert change.ident == ObjectId("", "Secret", "shop", "creds")
    assert f"+  user: {CHANGED}" in change.diff
    assert "root" not in "\n".join(change.diff)


def test_comparisons_are_deterministic(tmp_path: Path) -> None:
    changes = {"overrides/x.yaml": EAST.replace("value: 5", "value: 6")}
    first = compare_renderings(shop(tmp_path, "a"), shop(tmp_path, "b", changes), BASE_SIDE, HEAD_SIDE)
    again = compare_renderings(shop(tmp_path, "c"), shop(tmp_path, "d", changes), BASE_SIDE, HEAD_SIDE)
    assert first == again
    assert [g.names for g in first.groups] == [("prod-east",)]
