"""Strategic Overrides through the whole pipeline: real source roots in git, the real CLI, and Flux's own
kustomize overlays (examples/kustomize-flux) built by ``kubectl kustomize`` and by fanout."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import CLUSTERS, ROOT, Invoke, read_tree, write_tree
from tests.gitutil import commit_all, init_repo
from tests.strategic import binaries

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 1
  template:
    spec:
      containers:
      - name: web
        image: web:1
        env: [{name: A, value: "1"}, {name: B, value: "2"}]
      - {name: proxy, image: "envoy:1"}
"""

CONFIGMAP = """
apiVersion: v1
kind: ConfigMap
metadata: {name: debug, namespace: shop}
data: {level: trace}
"""


def _override(name: str, clusters: str, body: str, extra: str = "") -> str:
    indented = "".join("    " + line + "\n" for line in body.strip("\n").splitlines())
    return (
        f"apiVersion: fanout.dev/v1alpha1\nkind: Override\nmetadata: {{name: {name}}}\n"
        f"spec:\n  clusters: {clusters}\n{extra}  strategic:\n{indented}"
    )


IMAGE_PATCH = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    spec:
      containers:
      - name: web
        image: web:2
        env: [{name: C, value: "3"}]
"""

DELETE_DEBUG = """
apiVersion: v1
kind: ConfigMap
metadata: {name: debug, namespace: shop}
$patch: delete
"""


def _objects(folder: Path) -> dict[str, Any]:
    return {
        str(p.relative_to(folder)): yaml.safe_load(p.read_text())
        for p in sorted(folder.rglob("*.yaml"))
        if p.name != "kustomization.yaml"
    }


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return init_repo(
        tmp_path / "repo",
        {
            "clusters/all.yaml": CLUSTERS,
            "templates/web.yaml": DEPLOYMENT,
            "templates/debug.yaml": CONFIGMAP,
            "overrides/prod.yaml": _override(
                "prod-image", "{clusterSelector: {matchLabels: {env: prod}}}", IMAGE_PATCH
            ),
            "overrides/no-debug.yaml": _override("no-debug", "{names: [aws-east]}", DELETE_DEBUG),
        },
    )


def test_render_merges_by_key_and_deletes_where_asked(repo: Path, invoke: Invoke) -> None:
    result = invoke("render", str(repo))
    assert result.exit_code == 0, result.output
    east = _objects(repo / "rendered" / "aws-east")
    web = east["shop/deployment.apps_web.yaml"]["spec"]["template"]["spec"]["containers"]
    # kustomize's order: the items the patch names first, then the object's others; env merged by name.
    assert web == [
        {
            "name": "web",
            "image": "web:2",
            "env": [{"name": "C", "value": "3"}, {"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
        },
        {"name": "proxy", "image": "envoy:1"},
    ]
    assert "shop/configmap_debug.yaml" not in east  # $patch: delete, in aws-east only
    kustomization = yaml.safe_load((repo / "rendered" / "aws-east" / "kustomization.yaml").read_text())
    assert "shop/configmap_debug.yaml" not in kustomization["resources"]
    dev = _objects(repo / "rendered" / "gcp-dev")
    assert "shop/configmap_debug.yaml" in dev
    assert (
        dev["shop/deployment.apps_web.yaml"]["spec"]["template"]["spec"]["containers"][0]["image"] == "web:1"
    )


@pytest.mark.parametrize(("mode", "order"), [("kustomize", ["B", "A"]), ("kubernetes", ["A", "B"])])
def test_each_mode_orders_lists_as_its_tool_does(
    mode: str, order: list[str], source: Path, invoke: Invoke
) -> None:
    patch = IMAGE_PATCH.replace('env: [{name: C, value: "3"}]', 'env: [{name: B, value: "22"}]')
    write_tree(
        source,
        {
            "fanout.yaml": f"apiVersion: fanout.dev/v1alpha1\nkind: Config\nstrategicMerge: {mode}\n",
            "templates/web.yaml": DEPLOYMENT,
            "overrides/prod.yaml": _override("prod", "{names: [aws-east]}", patch),
        },
    )
    assert invoke("render", str(source)).exit_code == 0
    web = _objects(source / "rendered" / "aws-east")["shop/deployment.apps_web.yaml"]
    env = web["spec"]["template"]["spec"]["containers"][0]["env"]
    # kustomize puts the items a patch names first (kustomize#5904); Kubernetes keeps the object's order.
    assert [e["name"] for e in env] == order
    assert {e["name"]: e["value"] for e in env} == {"A": "1", "B": "22"}


def test_render_at_a_commit_reads_the_strategic_override_from_git(
    repo: Path, invoke: Invoke, tmp_path: Path
) -> None:
    first = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    )
    (repo / "overrides" / "no-debug.yaml").unlink()
    commit_all(repo, "keep debug")
    out = tmp_path / "at-first"
    result = invoke("render", str(repo), "--ref", first.stdout.strip(), "--output-dir", str(out))
    assert result.exit_code == 0, result.output
    assert "shop/configmap_debug.yaml" not in _objects(out / "aws-east")


def test_an_identity_field_may_be_repeated_but_not_changed(source: Path, invoke: Invoke) -> None:
    """(A kustomize-mode patch with resources: takes each object's identity instead: see the next tests.)"""
    same = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec: {replicas: 3}\n"
    )
    write_tree(
        source,
        {
            "overrides/merge.yaml": "apiVersion: fanout.dev/v1alpha1\nkind: Override\nmetadata: {name: m}\n"
            "spec:\n  clusters: {names: [aws-east]}\n  resources: [{kind: Deployment, name: web}]\n"
            "  merge: {apiVersion: apps/v1, kind: Deployment, metadata: {name: web, namespace: shop},"
            " spec: {replicas: 5}}\n",
            "overrides/strategic.yaml": _override("s", "{names: [gcp-dev]}", same),
        },
    )
    result = invoke("render", str(source))
    assert result.exit_code == 0, result.output
    assert (
        _objects(source / "rendered" / "aws-east")["shop/deployment.apps_web.yaml"]["spec"]["replicas"] == 5
    )
    assert _objects(source / "rendered" / "gcp-dev")["shop/deployment.apps_web.yaml"]["spec"]["replicas"] == 3

    before = read_tree(source / "rendered")
    renamed = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: other}\nspec: {replicas: 3}\n"
    write_tree(
        source,
        {
            "overrides/strategic.yaml": _override(
                "s", "{names: [gcp-dev]}", renamed, "  resources: [{kind: Deployment, name: web}]\n"
            ),
            "overrides/merge.yaml": "apiVersion: fanout.dev/v1alpha1\nkind: Override\nmetadata: {name: m}\n"
            "spec:\n  clusters: {names: [aws-east]}\n  resources: [{kind: Deployment, name: web}]\n"
            "  merge: {apiVersion: apps/v2}\n",
            "fanout.yaml": "apiVersion: fanout.dev/v1alpha1\nkind: Config\nstrategicMerge: kubernetes\n",
        },
    )
    result = invoke("render", str(source))
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert (
        "overrides/merge.yaml:7:11: patch failed on Deployment.apps shop/web: overrides may not change /apiVersion"
        in lines[0]
    )
    assert (
        "overrides/strategic.yaml:10:16: patch failed on Deployment.apps shop/web: overrides may not change /metadata/name"
        in lines[1]
    )
    assert lines[-1] == "fanout: 2 problems found"
    assert read_tree(source / "rendered") == before


def _all_located(stderr: str, count: int) -> None:
    lines = stderr.splitlines()
    assert lines[-1] == f"fanout: {count} problems found", stderr
    for line in lines[:-1]:
        assert line.startswith("overrides/"), line


def test_bad_overrides_are_located_all_at_once(source: Path, invoke: Invoke) -> None:
    write_tree(
        source,
        {
            "overrides/c.yaml": _override("c", "{names: [gcp-dev]}", "spec: {replicas: 2}"),
            "overrides/e.yaml": _override(
                "e", "{names: [gcp-dev]}", IMAGE_PATCH, "  merge: {spec: {replicas: 2}}\n"
            ),
        },
    )
    before = read_tree(source)
    result = invoke("render", str(source))
    assert result.exit_code == 1
    assert "overrides/c.yaml:6:3: a strategic patch without resources: names its target" in result.stderr
    assert "overrides/e.yaml:7:3: strategic and merge cannot be used in one Override" in result.stderr
    _all_located(result.stderr, 2)
    assert read_tree(source) == before


def test_bad_strategic_patches_are_located_all_at_once(source: Path, invoke: Invoke) -> None:
    bad_value = IMAGE_PATCH.replace("image: web:2", "$patch: remove")
    no_key = IMAGE_PATCH.replace("- name: web\n        image: web:2", "- image: x")
    nothing = IMAGE_PATCH.replace("name: web, namespace", "name: nothing, namespace")
    write_tree(
        source,
        {
            "overrides/a.yaml": _override("a", "{names: [aws-east]}", bad_value),
            "overrides/b.yaml": _override("b", "{names: [gcp-dev]}", no_key),
        },
    )
    result = invoke("render", str(source))
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    text = result.stderr
    assert (
        "overrides/a.yaml:15:13: patch failed on Deployment.apps shop/web: unknown $patch value 'remove'"
        in text
    )
    assert (
        "overrides/b.yaml:14:13: patch failed on Deployment.apps shop/web: this item lacks the merge key 'name'"
        in text
    )
    lines = text.splitlines()
    assert lines[-1] == "fanout: 2 problems found" and all(
        line.startswith("overrides/") for line in lines[:-1]
    )

    write_tree(source, {"overrides/a.yaml": _override("a", "{names: [gcp-dev]}", nothing)})
    (source / "overrides" / "b.yaml").unlink()
    result = invoke("render", str(source))
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "overrides/a.yaml:4:1: override 'a' matches no rendered object in the clusters"
    )


def test_an_unknown_strategic_merge_mode_is_located(source: Path, invoke: Invoke) -> None:
    (source / "fanout.yaml").write_text(
        "apiVersion: fanout.dev/v1alpha1\nkind: Config\nstrategicMerge: kubectl\n"
    )
    result = invoke("validate", str(source))
    assert result.exit_code == 1
    assert result.stderr.startswith("fanout.yaml:3:1: ")
    assert "kustomize" in result.stderr and "kubernetes" in result.stderr


def test_explain_names_the_strategic_override_that_set_a_field(repo: Path, invoke: Invoke) -> None:
    field = "/spec/template/spec/containers/0/image"
    result = invoke("explain", "aws-east", "deployment/web", str(repo), "-n", "shop", "--field", field)
    assert result.exit_code == 0, result.output
    assert "prod-image" in result.output
    assert "(overrides/prod.yaml:15)" in result.output  # the image line inside the patch, found by name
    assert "strategic merge patch (kustomize)" in result.output

    gone = invoke("explain", "aws-east", "configmap/debug", str(repo), "-n", "shop")
    assert gone.exit_code == 1
    assert "$patch: delete removes the object from this cluster" in gone.output


def test_diff_shows_what_a_strategic_override_changes(repo: Path, invoke: Invoke) -> None:
    result = invoke("diff", "--clusters", "gcp-dev", "aws-east", str(repo))
    assert result.exit_code == 0, result.output
    assert "web:2" in result.output and "configmap" in result.output.lower()


# --- Flux's flux2-kustomize-helm-example, built by kustomize and by fanout --------------------------------

FLUX = ROOT / "examples" / "kustomize-flux"


@pytest.mark.skipif(
    binaries.kubectl() is None and not os.environ.get("CI"), reason="kubectl is not installed"
)
@pytest.mark.parametrize("cluster", ["production", "staging"])
def test_flux_overlays_build_what_kubectl_kustomize_builds(cluster: str) -> None:
    theirs = sorted(
        yaml.safe_load_all(binaries.build(FLUX / "upstream" / "apps" / cluster)),
        key=lambda o: (o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"]),
    )
    ours = sorted(
        _objects(FLUX / "rendered" / cluster).values(),
        key=lambda o: (o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"]),
    )
    assert ours == theirs


def test_validate_kubernetes_points_at_the_strategic_line_that_wrote_a_field(
    source: Path, invoke: Invoke
) -> None:
    pytest.importorskip("kubernetes_validate")
    bad = IMAGE_PATCH.replace("image: web:2", "image: 42")  # an image must be a string
    write_tree(
        source,
        {
            "templates/web.yaml": DEPLOYMENT,
            "overrides/image.yaml": _override("image", "{names: [aws-east]}", bad),
        },
    )
    result = invoke("validate", "--kubernetes", str(source))
    assert result.exit_code == 1
    [finding] = [line for line in result.stdout.splitlines() if "containers/0/image" in line]
    # The line inside the strategic patch, found by the container's name.
    assert finding.startswith("overrides/image.yaml:15:13: cluster aws-east: Deployment shop/web"), finding


# The layout of kostis-codefresh/gitops-environment-promotion (commit c99a92c87e4153825650075d07add98830958f41),
# a widely read example of environment promotion with kustomize: a base, kustomize Components for the
# variant (prod, non-prod) and the region, and per-environment strategic patches, each adding env vars to
# the same container. Rendered by hand as 11 clusters it matched `kubectl kustomize` object for object; this
# is the same shape with our own content: component patches apply before the overlay's, in the order listed,
# and a later patch changes a value an earlier one set.
GEP_BASE = """apiVersion: apps/v1
kind: Deployment
metadata: {name: app}
spec:
  replicas: 1
  selector: {matchLabels: {app: app}}
  template:
    metadata: {labels: {app: app}}
    spec:
      containers:
      - name: app
        image: example.com/app:1.0
        ports: [{containerPort: 8080}]
        env: [{name: UI_THEME, value: light}]
"""


def _gep_patch(body: str) -> str:
    return (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: app}\nspec:\n  template:\n    spec:\n"
        "      containers:\n      - name: app\n" + "".join(f"        {line}\n" for line in body.splitlines())
    )


GEP_COMPONENTS = {
    "prod": _gep_patch(
        "env: [{name: ENV_TYPE, value: production}, {name: DB_USER, value: prod}]\n"
        "livenessProbe: {httpGet: {path: /health, port: 8080}}"
    ),
    "non-prod": _gep_patch("env: [{name: ENV_TYPE, value: non-production}, {name: DB_USER, value: test}]"),
    "eu": _gep_patch("env: [{name: REGION, value: eu}, {name: DB_USER, value: prod-eu}]"),
    "us": _gep_patch("env: [{name: REGION, value: us}]"),
}
GEP_ENVS = {
    "prod-eu": (
        ["prod", "eu"],
        [_gep_patch("image: example.com/app:2.0"), _gep_patch("env: [{name: UI_THEME, value: dark}]")],
    ),
    "prod-us": (
        ["prod", "us"],
        [_gep_patch("env: [{name: SORTING, value: ascending}]\nimage: example.com/app:1.1")],
    ),
    "qa": (["non-prod"], [_gep_patch("env: [{name: UI_THEME, value: dark}, {name: DEBUG, value: 'true'}]")]),
}


@pytest.mark.skipif(
    binaries.kubectl() is None and not os.environ.get("CI"), reason="kubectl is not installed"
)
def test_components_and_overlay_patches_build_what_kubectl_kustomize_builds(
    tmp_path: Path, invoke: Invoke
) -> None:
    layout = {
        "kustomize/base/deployment.yaml": GEP_BASE,
        "kustomize/base/kustomization.yaml": "resources: [deployment.yaml]\n",
    }
    for name, patch in GEP_COMPONENTS.items():
        layout[f"kustomize/variants/{name}/patch.yaml"] = patch
        layout[f"kustomize/variants/{name}/kustomization.yaml"] = (
            "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\npatches: [{path: patch.yaml}]\n"
        )
    fanout_files = {
        "fanout.yaml": "apiVersion: fanout.dev/v1alpha1\nkind: Config\ndefaultNamespace: default\n",
        "templates/deployment.yaml": GEP_BASE,
        # Components first, the variant before the region, as each overlay lists them; then the overlay's own.
        **{
            f"overrides/{name}.yaml": _override(
                name,
                f"{{clusterSelector: {{matchLabels: {{{name}: 'yes'}}}}}}",
                patch,
                f"  priority: {1 if name in ('prod', 'non-prod') else 2}\n",
            )
            for name, patch in GEP_COMPONENTS.items()
        },
    }
    clusters = []
    for env, (components, patches) in GEP_ENVS.items():
        layout[f"kustomize/envs/{env}/kustomization.yaml"] = (
            "resources: [../../base]\n"
            f"components: [{', '.join(f'../../variants/{c}' for c in components)}]\n"
            f"patches: [{', '.join(f'{{path: p{i}.yaml}}' for i in range(len(patches)))}]\n"
        )
        labels = ", ".join(f"{c}: 'yes'" for c in components)
        clusters.append(
            f"apiVersion: fanout.dev/v1alpha1\nkind: Cluster\nmetadata: {{name: {env}, labels: {{{labels}}}}}\n"
        )
        for i, patch in enumerate(patches):
            layout[f"kustomize/envs/{env}/p{i}.yaml"] = patch
            fanout_files[f"overrides/{env}-{i}.yaml"] = _override(
                f"{env}-{i}", f"{{names: [{env}]}}", patch, f"  priority: {10 + i}\n"
            )
    fanout_files["clusters/all.yaml"] = "---\n".join(clusters)
    write_tree(tmp_path, layout)
    source = write_tree(tmp_path / "fanout", fanout_files)
    assert invoke("render", str(source)).exit_code == 0
    for env in GEP_ENVS:
        (theirs,) = yaml.safe_load_all(binaries.build(tmp_path / "kustomize/envs" / env))
        theirs["metadata"]["namespace"] = "default"  # fanout names the namespace every object lands in
        (ours,) = _objects(source / "rendered" / env).values()
        assert ours == theirs, env


# Modelled on kustomize's examples/patchMultipleObjects.md (kubernetes-sigs/kustomize commit
# 12f9e6391464b3ad9dd3fe8182049dc1b1772990): one patch, named `not-important`, injects a sidecar into every
# Deployment its target selects. kustomize gives the patch each target's identity; fanout did not, and
# refused the pasted patch ("overrides may not change /metadata/name").
TWO_DEPLOYMENTS = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: deploy1
  labels: {old-label: old-value}
spec:
  template:
    metadata:
      labels: {old-label: old-value}
    spec:
      containers:
      - {name: nginx, image: nginx, args: [one, two]}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: deploy2
  labels: {key: value}
spec:
  template:
    metadata:
      labels: {key: value}
    spec:
      containers:
      - {name: busybox, image: busybox}
"""

SIDECAR = """
spec:
  template:
    spec:
      containers:
      - name: istio-proxy
        image: docker.io/istio/proxyv2
        args: [proxy, sidecar]
"""


@pytest.mark.skipif(
    binaries.kubectl() is None and not os.environ.get("CI"), reason="kubectl is not installed"
)
@pytest.mark.parametrize(
    "header",
    [
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: not-important}\n",
        # kustomize takes the target's apiVersion, and puts its kind, name and namespace back after merging.
        "apiVersion: apps/v9\nkind: StatefulSet\nmetadata: {name: not-important, namespace: elsewhere}\n",
    ],
)
def test_a_patch_with_a_target_takes_each_objects_identity_as_kubectl_kustomize_does(
    tmp_path: Path, invoke: Invoke, header: str
) -> None:
    patch = header + SIDECAR.lstrip("\n")
    write_tree(
        tmp_path / "kustomize",
        {
            "deployments.yaml": TWO_DEPLOYMENTS,
            "patch.yaml": patch,
            "kustomization.yaml": "resources: [deployments.yaml]\n"
            "patches: [{path: patch.yaml, target: {kind: Deployment}}]\n",
        },
    )
    source = write_tree(
        tmp_path / "fanout",
        {
            "fanout.yaml": "apiVersion: fanout.dev/v1alpha1\nkind: Config\ndefaultNamespace: default\n",
            "clusters/c.yaml": "apiVersion: fanout.dev/v1alpha1\nkind: Cluster\nmetadata: {name: dev}\n",
            "templates/deployments.yaml": TWO_DEPLOYMENTS,
            "overrides/sidecar.yaml": _override(
                "sidecar", "{names: [dev]}", patch, "  resources: [{kind: Deployment, name: '*'}]\n"
            ),
        },
    )
    result = invoke("render", str(source))
    assert result.exit_code == 0, result.output
    theirs = {}
    for obj in yaml.safe_load_all(binaries.build(tmp_path / "kustomize")):
        obj["metadata"]["namespace"] = "default"  # fanout names the namespace every object lands in
        theirs[f"default/deployment.apps_{obj['metadata']['name']}.yaml"] = obj
    assert _objects(source / "rendered" / "dev") == theirs

    explained = invoke("explain", "dev", "deployment/deploy1", str(source), "--field", "/metadata/name")
    assert explained.exit_code == 0, explained.output
    assert explained.stdout.rstrip().endswith(
        '/metadata/name: "deploy1" (template templates/deployments.yaml:4)'
    )


CONFIGMAP_IN = "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: web, namespace: {}}}\ndata: {{a: '1'}}\n"


def test_a_patch_without_a_namespace_names_one_object_or_is_refused(source: Path, invoke: Invoke) -> None:
    """kustomize takes a patch without target: for one object (without a namespace: the one in default);
    fanout takes the one namespace its templates put that name in, and refuses to pick between two."""
    patch = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\ndata: {a: '2'}\n"
    write_tree(
        source,
        {
            "templates/web-prod.yaml": CONFIGMAP_IN.format("prod"),
            "overrides/web.yaml": _override("web", "{names: [aws-east]}", patch),
        },
    )
    result = invoke("render", str(source))
    assert result.exit_code == 0, result.output
    assert _objects(source / "rendered" / "aws-east")["prod/configmap_web.yaml"]["data"] == {"a": "2"}

    before = read_tree(source / "rendered")
    (source / "templates" / "web-default.yaml").write_text(CONFIGMAP_IN.format("default"))
    result = invoke("render", str(source))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "overrides/web.yaml:9:5: the strategic patch names ConfigMap web without a namespace, but cluster"
        " aws-east has one in each of default, prod: add metadata.namespace to say which (kubectl kustomize"
        " takes the one in default), or resources: to patch them all",
        "fanout: 1 problem found",
    ]
    assert read_tree(source / "rendered") == before

    # Only what clashes is named: gcp-dev has its one web in staging, and is not in the message.
    def placed(namespace: str, cluster: str) -> str:
        return CONFIGMAP_IN.format(namespace).replace(
            "metadata: {", f"metadata: {{annotations: {{fanout.dev/clusters: {cluster}}}, "
        )

    for namespace, cluster in (("default", "aws-east"), ("prod", "aws-east"), ("staging", "gcp-dev")):
        (source / "templates" / f"web-{namespace}.yaml").write_text(placed(namespace, cluster))
    (source / "overrides" / "web.yaml").write_text(_override("web", "{names: [aws-east, gcp-dev]}", patch))
    result = invoke("render", str(source))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        "overrides/web.yaml:9:5: the strategic patch names ConfigMap web without a namespace, but cluster"
        " aws-east has one in each of default, prod: add metadata.namespace to say which (kubectl kustomize"
        " takes the one in default), or resources: to patch them all"
    )
    (source / "templates" / "web-staging.yaml").unlink()
    (source / "templates" / "web-prod.yaml").write_text(CONFIGMAP_IN.format("prod"))
    (source / "templates" / "web-default.yaml").write_text(CONFIGMAP_IN.format("default"))

    (source / "overrides" / "web.yaml").write_text(
        _override(
            "web", "{names: [aws-east]}", patch.replace("{name: web}", "{name: web, namespace: default}")
        )
    )
    result = invoke("render", str(source))
    assert result.exit_code == 0, result.output
    objects = _objects(source / "rendered" / "aws-east")
    assert objects["default/configmap_web.yaml"]["data"] == {"a": "2"}
    assert objects["prod/configmap_web.yaml"]["data"] == {"a": "1"}


# The shape of Gateway API's Gateway CRD (kubernetes-sigs/gateway-api, config/crd/standard/
# gateway.networking.k8s.io_gateways.yaml: `listeners` is `x-kubernetes-list-type: map` keyed by `name`),
# cut to what the patch touches.
GATEWAY_CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gateways.gateway.networking.k8s.io}
spec:
  group: gateway.networking.k8s.io
  names: {kind: Gateway, listKind: GatewayList, plural: gateways, singular: gateway}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              gatewayClassName: {type: string}
              listeners:
                type: array
                x-kubernetes-list-type: map
                x-kubernetes-list-map-keys: [name]
                items:
                  type: object
                  properties:
                    name: {type: string}
                    port: {type: integer}
                    protocol: {type: string}
"""

GATEWAY = """
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: edge, namespace: shop}
spec:
  gatewayClassName: example
  listeners:
  - {name: http, port: 80, protocol: HTTP}
  - {name: https, port: 443, protocol: HTTPS}
"""

GATEWAY_PATCH = """
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: edge, namespace: shop}
spec:
  listeners:
  - {name: https, port: 8443, protocol: HTTPS}
"""


@pytest.mark.skipif(
    binaries.kubectl() is None and not os.environ.get("CI"), reason="kubectl is not installed"
)
@pytest.mark.parametrize("mode", ["kustomize", "kubernetes"])
def test_a_custom_resources_list_is_replaced_as_kubectl_kustomize_replaces_it(
    mode: str, tmp_path: Path, invoke: Invoke
) -> None:
    """kubectl kustomize reads no CustomResourceDefinition among its resources: a patch replaces the
    Gateway's listeners whole. fanout did the same only without the CRD; with it, it merged them by name
    (exit 0, a listener kustomize drops kept). ``strategicMerge: kubernetes`` merges by the CRD's keys."""
    overlay = write_tree(
        tmp_path / "kustomize",
        {
            "crd.yaml": GATEWAY_CRD,
            "gateway.yaml": GATEWAY,
            "patch.yaml": GATEWAY_PATCH,
            "kustomization.yaml": "resources: [crd.yaml, gateway.yaml]\npatches:\n- path: patch.yaml\n",
        },
    )
    theirs = next(o for o in yaml.safe_load_all(binaries.build(overlay)) if o["kind"] == "Gateway")
    source = write_tree(
        tmp_path / "fanout",
        {
            "fanout.yaml": f"apiVersion: fanout.dev/v1alpha1\nkind: Config\nstrategicMerge: {mode}\n",
            "clusters/a.yaml": "apiVersion: fanout.dev/v1alpha1\nkind: Cluster\nmetadata: {name: a}\n",
            "templates/crd.yaml": GATEWAY_CRD,
            "templates/gateway.yaml": GATEWAY,
            "overrides/https.yaml": _override("https", "{names: [a]}", GATEWAY_PATCH),
        },
    )
    result = invoke("render", str(source))
    assert result.exit_code == 0, result.output
    ours = _objects(source / "rendered/a")["shop/gateway.gateway.networking.k8s.io_edge.yaml"]
    if mode == "kustomize":
        assert ours == theirs
        assert [listener["name"] for listener in ours["spec"]["listeners"]] == ["https"]
    else:
        assert ours["spec"]["listeners"] == [
            {"name": "http", "port": 80, "protocol": "HTTP"},
            {"name": "https", "port": 8443, "protocol": "HTTPS"},
        ]
