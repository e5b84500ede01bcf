"""FederatedNamespace placement and ``namespacePlacement: kubefed | own``, through the real CLI."""

from __future__ import annotations

from pathlib import Path

from conftest import Invoke, write_tree
from kubefed_helpers import (
    ALL,
    KUBEFED_CLUSTERS,
    errors,
    federated_deployment,
    federated_namespace,
    placed,
    render,
    warnings,
)

DEPLOY = "shop/deployment.apps_web.yaml"
CONFIG = "apiVersion: fanout.dev/v1alpha1\nkind: Config\nnamespacePlacement: {mode}\n"


def root(tmp_path: Path, files: dict[str, str]) -> Path:
    return write_tree(tmp_path / "src", {"clusters/kubefed.yaml": KUBEFED_CLUSTERS, **files})


def test_object_goes_to_the_intersection_with_its_namespace(tmp_path: Path, invoke: Invoke) -> None:
    source = root(
        tmp_path,
        {
            "templates/ns.yaml": federated_namespace("shop", "clusterSelector: {matchLabels: {env: prod}}"),
            "templates/web.yaml": federated_deployment(
                "web", placement="clusters: [{name: aws-east}, {name: gcp-dev}]"
            ),
        },
    )
    out = render(invoke, source)
    assert placed(out, "_cluster/namespace_shop.yaml") == {"aws-east", "azure-west"}
    assert placed(out, DEPLOY) == {"aws-east"}  # gcp-dev is outside the namespace's placement
    assert warnings(invoke, source) == []


def test_federated_namespace_renders_the_namespace(tmp_path: Path, invoke: Invoke) -> None:
    source = root(
        tmp_path,
        {
            "templates/ns.yaml": """
            apiVersion: types.kubefed.io/v1beta1
            kind: FederatedNamespace
            metadata: {name: shop, namespace: shop}
            spec:
              template:
                metadata: {labels: {team: games}}
              placement: {clusters: [{name: gcp-dev}]}
            """
        },
    )
    out = render(invoke, source)
    text = (out / "gcp-dev/_cluster/namespace_shop.yaml").read_text()
    assert text.endswith(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  labels:\n    team: games\n"
    )
    assert placed(out, "_cluster/namespace_shop.yaml") == {"gcp-dev"}


def test_kubefed_mode_is_the_default_once_a_federated_namespace_exists(
    tmp_path: Path, invoke: Invoke
) -> None:
    source = root(
        tmp_path,
        {
            "templates/ns.yaml": federated_namespace("shop"),
            "templates/web.yaml": federated_deployment("web"),
            "templates/orphan.yaml": federated_deployment("lost", namespace="nowhere"),
        },
    )
    out = render(invoke, source)
    assert placed(out, DEPLOY) == set(ALL)
    assert placed(out, "nowhere/deployment.apps_lost.yaml") == set()
    assert warnings(invoke, source) == [
        "templates/orphan.yaml:1:1: Deployment.apps nowhere/lost is not rendered anywhere: namespace"
        " 'nowhere' has no FederatedNamespace (namespacePlacement: kubefed). Add one, or set"
        " namespacePlacement: own in fanout.yaml"
    ]


def test_own_mode_lets_the_object_decide(tmp_path: Path, invoke: Invoke) -> None:
    source = root(
        tmp_path,
        {
            "fanout.yaml": CONFIG.format(mode="own"),
            "templates/ns.yaml": federated_namespace("shop", "clusters: [{name: aws-east}]"),
            "templates/web.yaml": federated_deployment("web"),
            "templates/other.yaml": federated_deployment("api", namespace="other"),
        },
    )
    out = render(invoke, source)
    assert placed(out, DEPLOY) == {"aws-east"}  # a FederatedNamespace still limits its objects
    assert placed(out, "other/deployment.apps_api.yaml") == set(ALL)
    assert warnings(invoke, source) == []


def test_without_any_federated_namespace_objects_keep_their_placement(tmp_path: Path, invoke: Invoke) -> None:
    source = root(tmp_path, {"templates/web.yaml": federated_deployment("web")})
    assert placed(render(invoke, source), DEPLOY) == set(ALL)


def test_explicit_kubefed_mode_without_federated_namespaces(tmp_path: Path, invoke: Invoke) -> None:
    source = root(
        tmp_path,
        {"fanout.yaml": CONFIG.format(mode="kubefed"), "templates/web.yaml": federated_deployment("web")},
    )
    assert placed(render(invoke, source), DEPLOY) == set()
    assert len(warnings(invoke, source)) == 1


def test_plain_manifests_and_cluster_scoped_objects_are_not_limited(tmp_path: Path, invoke: Invoke) -> None:
    source = root(
        tmp_path,
        {
            "templates/ns.yaml": federated_namespace("shop", "clusters: [{name: aws-east}]"),
            "templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: plain, namespace: shop}\n",
            "templates/role.yaml": """
            apiVersion: types.kubefed.io/v1beta1
            kind: FederatedClusterRole
            metadata: {name: reader}
            spec:
              template: {rules: []}
              placement: {clusterSelector: {}}
            """,
        },
    )
    out = render(invoke, source)
    assert placed(out, "shop/configmap_plain.yaml") == set(ALL)  # fanout's own rules for plain manifests
    assert placed(out, "_cluster/clusterrole.rbac.authorization.k8s.io_reader.yaml") == set(ALL)


def test_federated_namespace_must_live_in_itself(tmp_path: Path, invoke: Invoke) -> None:
    source = root(
        tmp_path,
        {
            "templates/ns.yaml": """
            apiVersion: types.kubefed.io/v1beta1
            kind: FederatedNamespace
            metadata: {name: shop, namespace: default}
            spec: {placement: {clusterSelector: {}}}
            """
        },
    )
    assert errors(invoke, source) == [
        "templates/ns.yaml:3:24: the FederatedNamespace 'shop' must be in namespace 'shop', not 'default'"
    ]


def test_namespace_placement_value_is_checked(tmp_path: Path, invoke: Invoke) -> None:
    source = root(tmp_path, {"fanout.yaml": CONFIG.format(mode="kubfed")})
    (line,) = errors(invoke, source)
    assert line.startswith("fanout.yaml:3:1: ")
    assert "kubfed" in line


def test_inline_overrides_cut_off_by_the_namespace_are_reported(tmp_path: Path, invoke: Invoke) -> None:
    deployment = federated_deployment("web") + (
        "  overrides:\n  - clusterName: gcp-dev\n    clusterOverrides: [{path: /spec/replicas, value: 2}]\n"
    )
    source = root(
        tmp_path,
        {
            "templates/ns.yaml": federated_namespace("shop", "clusterSelector: {matchLabels: {env: prod}}"),
            "templates/web.yaml": deployment,
            "templates/lost.yaml": deployment.replace("namespace: shop", "namespace: elsewhere"),
        },
    )
    found = warnings(invoke, source)
    # Cut off by the namespace: the core's "no effect" warning. Not rendered at all: one warning only.
    assert [w.split(": ", 1)[0] for w in found] == ["templates/lost.yaml:1:1", "templates/web.yaml:14:24"]
    assert "has no effect: Deployment.apps shop/web is not placed there" in found[1]
