"""FederatedTypeConfig registering federated types, through the real CLI."""

from __future__ import annotations

from pathlib import Path

from conftest import Invoke, write_tree
from kubefed_helpers import ALL, KUBEFED_CLUSTERS, errors, objects, placed, render, warnings


def type_config(
    kind: str = "Bar",
    group: str = "example.io",
    version: str = "v1",
    scope: str = "Namespaced",
    federated_kind: str | None = None,
    federated_scope: str | None = None,
    propagation: str = "Enabled",
) -> str:
    return f"""
apiVersion: core.kubefed.io/v1beta1
kind: FederatedTypeConfig
metadata: {{name: bars.example.io, namespace: kube-federation-system}}
spec:
  targetType: {{group: "{group}", version: {version}, kind: {kind}, pluralName: bars, scope: {scope}}}
  federatedType:
    group: types.kubefed.io
    version: v1beta1
    kind: {federated_kind or "Federated" + kind}
    pluralName: federatedbars
    scope: {federated_scope or scope}
  propagation: {propagation}
"""


FEDERATED_BAR = """
apiVersion: types.kubefed.io/v1beta1
kind: FederatedBar
metadata: {name: one, namespace: shop}
spec:
  template:
    metadata: {labels: {app: bar}}
    spec: {size: 3}
  placement: {clusters: [{name: azure-west}]}
  overrides:
  - clusterName: azure-west
    clusterOverrides:
    - {path: /spec/size, value: 5}
"""


def root(tmp_path: Path, files: dict[str, str]) -> Path:
    return write_tree(tmp_path / "src", {"clusters/kubefed.yaml": KUBEFED_CLUSTERS, **files})


def test_type_config_registers_a_custom_resource(tmp_path: Path, invoke: Invoke) -> None:
    source = root(tmp_path, {"templates/types.yaml": type_config(), "templates/bar.yaml": FEDERATED_BAR})
    out = render(invoke, source)
    assert objects(out, "azure-west") == {
        "shop/bar.example.io_one.yaml": {
            "apiVersion": "example.io/v1",
            "kind": "Bar",
            "metadata": {"name": "one", "namespace": "shop", "labels": {"app": "bar"}},
            "spec": {"size": 5},
        }
    }
    assert objects(out, "aws-east") == {}  # the type config itself is never rendered
    assert warnings(invoke, source) == []


def test_unknown_federated_kind_says_how_to_register_it(tmp_path: Path, invoke: Invoke) -> None:
    source = root(tmp_path, {"templates/bar.yaml": FEDERATED_BAR})
    assert errors(invoke, source) == [
        "templates/bar.yaml:2:1: unknown federated type FederatedBar: register Bar with a FederatedTypeConfig"
        " (core.kubefed.io/v1beta1) among the templates"
    ]


def test_cluster_scoped_custom_type(tmp_path: Path, invoke: Invoke) -> None:
    federated = """
    apiVersion: types.kubefed.io/v1beta1
    kind: FederatedBar
    metadata: {name: global}
    spec:
      template: {spec: {size: 1}}
      placement: {clusterSelector: {}}
    """
    source = root(
        tmp_path, {"templates/types.yaml": type_config(scope="Cluster"), "templates/bar.yaml": federated}
    )
    assert placed(render(invoke, source), "_cluster/bar.example.io_global.yaml") == set(ALL)


def test_type_config_can_change_a_built_in_version(tmp_path: Path, invoke: Invoke) -> None:
    ingress = """
    apiVersion: types.kubefed.io/v1beta1
    kind: FederatedIngress
    metadata: {name: web, namespace: shop}
    spec:
      template: {spec: {rules: []}}
      placement: {clusters: [{name: gcp-dev}]}
    """
    config = type_config(kind="Ingress", group="extensions", version="v1beta1")
    source = root(tmp_path, {"templates/types.yaml": config, "templates/ingress.yaml": ingress})
    rendered = objects(render(invoke, source), "gcp-dev")
    assert rendered["shop/ingress.extensions_web.yaml"]["apiVersion"] == "extensions/v1beta1"


def test_disabled_propagation_renders_nothing_and_warns(tmp_path: Path, invoke: Invoke) -> None:
    source = root(
        tmp_path,
        {"templates/types.yaml": type_config(propagation="Disabled"), "templates/bar.yaml": FEDERATED_BAR},
    )
    assert placed(render(invoke, source), "shop/bar.example.io_one.yaml") == set()
    assert warnings(invoke, source) == [
        "templates/bar.yaml:1:1: Bar.example.io shop/one is not rendered: propagation of FederatedBar is"
        " Disabled by the FederatedTypeConfig at templates/types.yaml:12:3"
    ]


def test_type_config_mistakes(tmp_path: Path, invoke: Invoke) -> None:
    source = root(
        tmp_path,
        {
            "templates/a.yaml": type_config(federated_kind="FedBar"),
            "templates/b.yaml": type_config(kind="Baz", federated_scope="Cluster"),
            "templates/c.yaml": type_config(kind="Qux"),
            "templates/d.yaml": type_config(kind="Qux"),
            "templates/e.yaml": type_config(kind="Quux", scope="Everywhere"),
        },
    )
    assert errors(invoke, source) == [
        "templates/a.yaml:6:3: fanout renders federated types named FederatedBar in group types.kubefed.io;"
        " this type config declares FedBar in group 'types.kubefed.io'",
        "templates/b.yaml:11:5: FederatedBaz is Cluster but Baz is Namespaced: a federated type has the scope"
        " of its target type",
        "templates/d.yaml:5:3: Qux is registered twice (first at templates/c.yaml:1:1)",
        "templates/e.yaml:5:80: 'Everywhere' is not one of ['Namespaced', 'Cluster'] at"
        " /spec/targetType/scope",
        "templates/e.yaml:11:5: 'Everywhere' is not one of ['Namespaced', 'Cluster'] at"
        " /spec/federatedType/scope",
    ]


def test_a_target_group_or_version_kubernetes_would_refuse_is_a_located_error(
    tmp_path: Path, invoke: Invoke
) -> None:
    """The target's group and version make the rendered apiVersion and the file's name: one with a "/" (or a
    capital, or a space) wrote files into folders of its own under the namespace's, with exit 0, for objects
    no API server serves."""
    for group, version in (
        ("ex/am", "v1"),
        ("Example.io", "v1"),
        ("example.io", "v1/x"),
        ("example.io", "V1"),
    ):
        source = root(
            tmp_path / f"{group}-{version}".replace("/", "_"),
            {
                "templates/types.yaml": type_config(group=group, version=version),
                "templates/bar.yaml": FEDERATED_BAR,
            },
        )
        found = errors(invoke, source)
        what = "group" if group != "example.io" else "version"
        # (The FederatedBar it would have registered is then an unknown type, said too.)
        assert any(
            e.startswith("templates/types.yaml:")
            and f"is not an API {what}" in e
            and f"/spec/targetType/{what}" in e
            for e in found
        ), found
