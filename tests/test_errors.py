"""Every user mistake: a located one-line message, exit 1, no traceback, previous output untouched."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import Invoke, read_tree, write_tree

OVERRIDE = """
apiVersion: fanout.dev/v1alpha1
kind: Override
metadata: {{name: o}}
spec:
  clusters: {{names: [{cluster}]}}
  resources: [{{kind: Deployment, name: web, namespace: shop}}]
  patch:
  - {{op: {op}, path: {path}, value: 1}}
"""

CASES = {
    "malformed-yaml": (
        {"templates/bad.yaml": "a: [1\nb: 2\n"},
        "templates/bad.yaml:2:2: invalid YAML: while parsing a flow sequence",
    ),
    # YAML ends an unquoted scalar at `{` inside [ ]: the message says the fix.
    "reference-in-flow-sequence": (
        {
            "templates/flow.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\nx: [a/${cluster.name}]\n"
        },
        "templates/flow.yaml:4:8: invalid YAML: while parsing a flow sequence did not find expected ',' or"
        " ']' (inside [ ] or { }, quote a value that holds ${...}: \"${cluster.name}\")",
    ),
    # A key with nothing after it reads as null: Karmada's documentation writes `overriders:` above `#...`
    # (karmada-io/website docs/userguide/scheduling/override-policy.md, commit
    # 747f80c48c9a8784ec679cf88ae15b935c7824a9); the message was "None is not of type 'object'".
    "empty-key": (
        {
            "overrides/empty.yaml": "apiVersion: fanout.dev/v1alpha1\nkind: Override\nmetadata: {name: o}\n"
            "spec:\n  clusters: {names: [aws-east]}\n  merge:\n  # ...\n"
        },
        "overrides/empty.yaml:6:3: merge is empty: expected a map at /spec/merge",
    ),
    "override-among-templates": (
        {"templates/o.yaml": "apiVersion: fanout.dev/v1alpha1\nkind: Override\nmetadata: {name: o}\n"},
        "templates/o.yaml:2:1: an Override document does not belong among the templates",
    ),
    # A kustomize base copied into templates/ whole: one message that says what the file is.
    "kustomization-among-templates": (
        {"templates/kustomization.yaml": "resources: [web.yaml]\npatches: [{path: p.yaml}]\n"},
        "templates/kustomization.yaml:1:1: kustomization.yaml is kustomize's build file, not a manifest",
    ),
    "duplicate-key": (
        {"templates/dup.yaml": "apiVersion: v1\nkind: ConfigMap\nkind: Secret\n"},
        "templates/dup.yaml:3:1: duplicate key 'kind' (first defined on line 2)",
    ),
    "non-data-tag": (
        {"templates/tag.yaml": "apiVersion: v1\nkind: !!python/name:os.system ConfigMap\n"},
        "templates/tag.yaml:2:7: YAML tag 'tag:yaml.org,2002:python/name:os.system' is not plain data",
    ),
    "schema": (
        {
            "clusters/extra.yaml": "apiVersion: fanout.dev/v1alpha1\nkind: Cluster\nmetadata: {name: x, lables: {}}\n"
        },
        "clusters/extra.yaml:3:21: unknown field 'lables' (allowed: annotations, labels, name)",
    ),
    "wrong-kind-in-clusters": (
        {"clusters/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"},
        "clusters/cm.yaml:1:1: expected apiVersion fanout.dev/v1alpha1, kind Cluster here (or a Karmada Cluster, a KubeFedCluster, a Federation v1 or Cluster Registry Cluster), found v1 ConfigMap",
    ),
    "placement-unknown-cluster": (
        {
            "templates/cm.yaml": """
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: x
              namespace: shop
              annotations: {fanout.dev/clusters: "aws-eats"}
            """
        },
        "templates/cm.yaml:6:17: unknown cluster 'aws-eats' (did you mean 'aws-east'?)",
    ),
    "federated-unknown-cluster": (
        {
            "templates/f.yaml": """
            apiVersion: types.kubefed.io/v1beta1
            kind: FederatedConfigMap
            metadata: {name: x, namespace: shop}
            spec:
              placement:
                clusters: [{name: gcp-devv}]
            """
        },
        "templates/f.yaml:6:17: unknown cluster 'gcp-devv' (did you mean 'gcp-dev'?)",
    ),
    "override-unknown-cluster": (
        {"overrides/o.yaml": OVERRIDE.format(cluster="azure-wset", op="replace", path="/spec/replicas")},
        "overrides/o.yaml:5:22: unknown cluster 'azure-wset' (did you mean 'azure-west'?)",
    ),
    "override-matches-nothing": (
        {
            "overrides/o.yaml": OVERRIDE.format(
                cluster="aws-east", op="replace", path="/spec/replicas"
            ).replace("name: web", "name: wbe")
        },
        "overrides/o.yaml:6:3: override 'o' matches no rendered object in the clusters it selects"
        " (resources: Deployment shop/wbe)",
    ),
    "patch-fails": (
        {"overrides/o.yaml": OVERRIDE.format(cluster="aws-east", op="replace", path="/spec/nope")},
        "overrides/o.yaml:8:5: patch failed on Deployment.apps shop/web: replace /spec/nope:"
        " the path does not exist (use add to create it) (in cluster aws-east)",
    ),
    # fanout import guards a list item it names by position with a test of its key (tests/test_import.py).
    "test-fails": (
        {
            "overrides/o.yaml": OVERRIDE.format(
                cluster="aws-east", op="test", path="/spec/template/spec/containers/0/name"
            ).replace("value: 1", "value: sidecar")
        },
        "overrides/o.yaml:8:5: patch failed on Deployment.apps shop/web: test"
        ' /spec/template/spec/containers/0/name: the object has "web" there, the patch expects "sidecar"'
        " (if the template's list was reordered, the patch's positions name other items now)"
        " (in cluster aws-east)",
    ),
    "test-of-a-whole-object-fails": (
        {
            "overrides/o.yaml": OVERRIDE.format(
                cluster="aws-east", op="test", path="/spec/template/spec/containers/0"
            ).replace("value: 1", "value: {name: web, image: 'web:1', args: [a-rather-long-argument]}")
        },
        "overrides/o.yaml:8:5: patch failed on Deployment.apps shop/web: test"
        ' /spec/template/spec/containers/0: the object has {"image": "web:1", "name": "web"} there, the'
        ' patch expects {"args": ["a-rather-long-argument"], "image": "web:1", "name…'
        " (if the template's list was reordered, the patch's positions name other items now)"
        " (in cluster aws-east)",
    ),
    "add-without-parent": (
        {"overrides/o.yaml": OVERRIDE.format(cluster="aws-east", op="add", path="/spec/strategy/type")},
        "overrides/o.yaml:8:5: patch failed on Deployment.apps shop/web: add /spec/strategy/type:"
        " the parent /spec/strategy does not exist; add the whole parent, or use a merge patch,"
        " which creates missing parents (in cluster aws-east)",
    ),
    "undefined-reference": (
        {
            "templates/cm.yaml": """
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: x, namespace: shop}
            data:
              a: "${cluster.values.nope}"
            """
        },
        "templates/cm.yaml:5:3: ${cluster.values.nope} is undefined for clusters aws-east, azure-west, gcp-dev:"
        " values has no 'nope' (it has: db, domain, replicas)",
    ),
    "unknown-reference-kind": (
        {
            "templates/cm.yaml": """
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: x, namespace: shop}
            data:
              a: "${cluster.region}"
            """
        },
        "templates/cm.yaml:5:3: ${cluster.region} is undefined for clusters aws-east, azure-west, gcp-dev:"
        " unknown reference: use cluster.name, cluster.labels.<key> or cluster.values.<path>",
    ),
    "duplicate-object": (
        {
            "templates/zz-again.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\n"
        },
        "templates/zz-again.yaml:1:1: Deployment.apps shop/web is also rendered by templates/web.yaml:1:1,"
        " in 3 clusters (aws-east, azure-west, gcp-dev)",
    ),
    "invalid-object-name": (
        {
            "templates/evil.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ../../etc, namespace: shop}\n"
        },
        "templates/evil.yaml:3:12: object name '../../etc' is not a DNS-1123 subdomain",
    ),
    "invalid-rbac-name": (
        {
            "templates/evil.yaml": "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\n"
            "metadata: {name: ../../etc}\n"
        },
        "templates/evil.yaml:3:12: ClusterRole name '../../etc' must not be empty, '.' or '..', nor hold '/' or '%'",
    ),
    "colon-outside-rbac": (
        {
            "templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: 'system:x', namespace: shop}\n"
        },
        "templates/cm.yaml:3:12: object name 'system:x' is not a DNS-1123 subdomain",
    ),
    "invalid-namespace": (
        {"templates/evil.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: Shop_1}\n"},
        "templates/evil.yaml:3:21: namespace 'Shop_1' is not a DNS-1123 label",
    ),
    "invalid-cluster-name": (
        {"clusters/bad.yaml": "apiVersion: fanout.dev/v1alpha1\nkind: Cluster\nmetadata: {name: ../up}\n"},
        "clusters/bad.yaml:3:12: '../up' is not a DNS-1123 label (lowercase letters, digits and '-', at most 63)",
    ),
    "namespaced-without-namespace": (
        {"templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"},
        "templates/cm.yaml:3:1: ConfigMap 'x' is namespaced but has no namespace",
    ),
    "unknown-federated-type": (
        {
            "templates/f.yaml": (
                "apiVersion: types.kubefed.io/v1beta1\nkind: FederatedWidget\n"
                "metadata: {name: x, namespace: shop}\nspec: {}\n"
            )
        },
        "templates/f.yaml:2:1: unknown federated type FederatedWidget: register Widget with a FederatedTypeConfig",
    ),
    "protected-path": (
        {"overrides/o.yaml": OVERRIDE.format(cluster="aws-east", op="replace", path="/metadata/name")},
        "overrides/o.yaml:8:19: overrides may not change /metadata/name (it identifies the object)",
    ),
    # A merge patch renamed the object while its output file kept the old name (rendered, exit 0).
    "protected-path-in-a-merge-patch": (
        {
            "overrides/o.yaml": "apiVersion: fanout.dev/v1alpha1\nkind: Override\nmetadata: {name: o}\n"
            "spec:\n  clusters: {names: [aws-east]}\n  resources: [{kind: Deployment, name: web}]\n"
            "  merge: {metadata: {name: other}}\n"
        },
        "overrides/o.yaml:7:22: patch failed on Deployment.apps shop/web: overrides may not change"
        " /metadata/name (it identifies the object) (in cluster aws-east)",
    ),
    "bad-selector-annotation": (
        {
            "templates/cm.yaml": """
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: x
              namespace: shop
              annotations: {fanout.dev/placement: "env=prod,,"}
            """
        },
        "templates/cm.yaml:6:17: invalid fanout.dev/placement: cannot parse ''",
    ),
    "bad-config": (
        {"fanout.yaml": "apiVersion: fanout.dev/v1alpha1\nkind: Config\noutput: ../elsewhere\n"},
        "fanout.yaml:3:1: output must be a relative folder inside the source root, not '../elsewhere'",
    ),
}

LINE = re.compile(r"^[^:\s]+:\d+:\d+: .+$")


@pytest.mark.parametrize("case", sorted(CASES))
def test_error_is_located_and_output_untouched(case: str, source: Path, invoke: Invoke) -> None:
    out = source / "rendered"
    assert invoke("render", str(source)).exit_code == 0
    before = read_tree(out)

    files, expected = CASES[case]
    write_tree(source, files)
    result = invoke("render", str(source))

    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert lines[-1].startswith("fanout: "), lines
    assert all(LINE.match(line) for line in lines[:-1]), lines
    assert any(line.startswith(expected) for line in lines), "\n".join(lines)
    assert read_tree(out) == before

    validated = invoke("validate", str(source))
    assert validated.exit_code == 1
    assert any(line.startswith(expected) for line in validated.stderr.splitlines())


def test_every_problem_is_reported_not_just_the_first(source: Path, invoke: Invoke) -> None:
    write_tree(
        source,
        {
            "templates/bad.yaml": "a: [1\n",
            "templates/dup.yaml": "apiVersion: v1\nkind: ConfigMap\nkind: Secret\n",
            "clusters/extra.yaml": "apiVersion: fanout.dev/v1alpha1\nkind: Cluster\nmetadata: {name: Bad}\n",
        },
    )
    result = invoke("validate", str(source))
    assert result.exit_code == 1
    located = [line for line in result.stderr.splitlines() if LINE.match(line)]
    assert [line.split(":")[0] for line in located] == [
        "clusters/extra.yaml",
        "templates/bad.yaml",
        "templates/dup.yaml",  # 'metadata' is required
        "templates/dup.yaml",  # duplicate key
    ]
    assert result.stderr.splitlines()[-1] == "fanout: 4 problems found"


def test_a_failing_patch_names_every_cluster_it_fails_in(source: Path, invoke: Invoke) -> None:
    write_tree(
        source,
        {
            "overrides/o.yaml": """
            apiVersion: fanout.dev/v1alpha1
            kind: Override
            metadata: {name: o}
            spec:
              clusters: {clusterSelector: {matchLabels: {env: prod}}}
              resources: [{kind: Deployment, name: web}]
              patch: [{op: remove, path: /spec/paused}]
            """
        },
    )
    result = invoke("render", str(source))
    assert result.exit_code == 1
    assert (
        "remove /spec/paused: the path does not exist (use add to create it) (in clusters aws-east, azure-west)"
        in (result.stderr)
    )


def test_usage_errors_exit_2(invoke: Invoke) -> None:
    result = invoke("render", "--no-such-option")
    assert result.exit_code == 2


def test_missing_source_folder(tmp_path: Path, invoke: Invoke) -> None:
    result = invoke("render", str(tmp_path / "nope"))
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines()[0] == f"{tmp_path / 'nope'}: no such folder"


def test_folder_that_is_not_a_source_root(tmp_path: Path, invoke: Invoke) -> None:
    result = invoke("validate", str(tmp_path))
    assert result.exit_code == 1
    assert "not a fanout source root" in result.stderr


def test_source_root_without_clusters(tmp_path: Path, invoke: Invoke) -> None:
    write_tree(tmp_path, {"fanout.yaml": "apiVersion: fanout.dev/v1alpha1\nkind: Config\n"})
    result = invoke("validate", str(tmp_path))
    assert result.exit_code == 1
    assert "no clusters in clusters/" in result.stderr


def test_validate_warns_about_an_inline_override_for_an_unplaced_cluster(
    tmp_path: Path, invoke: Invoke
) -> None:
    from conftest import CLUSTERS

    write_tree(
        tmp_path,
        {
            "clusters/all.yaml": CLUSTERS,
            "templates/f.yaml": """
            apiVersion: types.kubefed.io/v1beta1
            kind: FederatedConfigMap
            metadata: {name: x, namespace: shop}
            spec:
              template: {data: {a: "1"}}
              placement: {clusters: [{name: aws-east}]}
              overrides:
              - clusterName: gcp-dev
                clusterOverrides: [{path: /data/a, value: "2"}]
            """,
        },
    )
    result = invoke("validate", str(tmp_path))
    assert result.exit_code == 0
    # Warnings are located like errors, on stderr; render prints them too.
    assert result.stderr.splitlines()[0] == (
        "templates/f.yaml:9:24: warning: inline override for cluster 'gcp-dev' has no effect:"
        " ConfigMap shop/x is not placed there"
    )
    rendered = invoke("render", str(tmp_path), "--output-dir", str(tmp_path / "out"))
    assert rendered.exit_code == 0
    assert rendered.stderr.splitlines()[0] == result.stderr.splitlines()[0]


def test_a_selector_that_matches_no_cluster_is_said(tmp_path: Path, invoke: Invoke) -> None:
    """`env=prdo` rendered the object nowhere with exit 0 and nothing said: a typo dropped it from every
    cluster unseen. Now it is a located warning; a selector that matches, and an explicit list of names
    (even empty, KubeFed's way of saying nowhere), say nothing."""
    from conftest import CLUSTERS

    write_tree(
        tmp_path,
        {
            "clusters/all.yaml": CLUSTERS,
            "templates/f.yaml": """
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: typo
              namespace: shop
              annotations: {fanout.dev/placement: "env=prdo"}
            ---
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: right
              namespace: shop
              annotations: {fanout.dev/placement: "env=prod"}
            ---
            apiVersion: types.kubefed.io/v1beta1
            kind: FederatedConfigMap
            metadata: {name: nowhere, namespace: shop}
            spec:
              template: {data: {a: "1"}}
              placement: {clusters: []}
            ---
            apiVersion: types.kubefed.io/v1beta1
            kind: FederatedConfigMap
            metadata: {name: selected-by-label, namespace: shop}
            spec:
              template: {data: {a: "1"}}
              placement: {clusterSelector: {matchLabels: {cloud: ibm}}}
            """,
        },
    )
    result = invoke("validate", str(tmp_path))
    assert result.exit_code == 0
    assert result.stderr.splitlines() == [
        "templates/f.yaml:6:3: warning: ConfigMap shop/typo is rendered in no cluster: selector env=prdo"
        " matches none of the clusters (3 in the inventory; `fanout clusters` lists their labels)",
        "templates/f.yaml:27:15: warning: ConfigMap shop/selected-by-label is rendered in no cluster:"
        " selector cloud=ibm matches none of the clusters (3 in the inventory; `fanout clusters` lists"
        " their labels)",
    ]
    rendered = invoke("render", str(tmp_path), "--output-dir", str(tmp_path / "out"))
    assert rendered.exit_code == 0
    assert rendered.stderr.splitlines() == result.stderr.splitlines()
    assert (
        sorted(p.name for p in (tmp_path / "out").rglob("configmap_*.yaml")) == ["configmap_right.yaml"] * 2
    )
