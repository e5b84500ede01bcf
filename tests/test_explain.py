"""``fanout explain``: the chain of steps behind one object, and the reasons an object is absent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fanout.cli import app
from fanout.core.document import Document
from fanout.core.errors import FanoutError
from fanout.core.model import ObjectId, Patch, PatchOp
from fanout.render.pipeline import load_inputs, render
from fanout.report.explain import Rendered, explain, matches, parse_target, replay, touches
from fanout.source.tree import DirectorySource
from tests.gitutil import commit_all
from tests.shop import BASE, EAST, PROD, SHOP, WEB, line_of, shop_repo, write

runner = CliRunner()


def fanout(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return shop_repo(tmp_path)


def test_the_chain_through_an_inline_override_and_two_override_files(root: Path) -> None:
    code, out, err = fanout("explain", "prod-east", "deployment/web", str(root), "--field", "/spec/replicas")
    assert (code, err) == (0, "")
    template = line_of(WEB, "replicas: 2")
    inline = line_of(WEB, "- path: /spec/replicas")
    prod = line_of(PROD, "- {op: replace")
    east = line_of(EAST, "- {op: replace")
    assert out.splitlines()[-1] == (
        f"/spec/replicas: 2 (template templates/web.yaml:{template}) → 3 (templates/web.yaml:{inline})"
        f" → 4 (overrides/prod.yaml:{prod}) → 5 (overrides/x.yaml:{east})"
    )


def test_the_whole_story_of_a_rendered_object(root: Path) -> None:
    code, out, _ = fanout("explain", "prod-east", "Deployment/web", str(root))
    assert code == 0
    assert out.splitlines() == [
        "Deployment.apps shop/web in cluster prod-east",
        "output: prod-east/shop/deployment.apps_web.yaml",
        "template: templates/web.yaml:1 (FederatedDeployment web)",
        "placed:",
        f"  rule: selector cloud in (aws,gcp) (templates/web.yaml:{line_of(WEB, 'clusterSelector')})",
        "  - cloud in (aws,gcp) matches (the cluster has cloud=aws)",
        "  cluster labels: cloud=aws, env=prod",
        "overrides, in the order applied:",
        f"  1. templates/web.yaml:{line_of(WEB, '- path')}: inline override for cluster prod-east"
        " (spec.overrides)",
        f"       replace /spec/replicas (templates/web.yaml:{line_of(WEB, '- path')})",
        f"  2. overrides/prod.yaml:{line_of(PROD, '- {op')}: Override prod-replicas (its selector env=prod matches)",
        f"       replace /spec/replicas (overrides/prod.yaml:{line_of(PROD, '- {op')})",
        f"  3. overrides/x.yaml:{line_of(EAST, 'merge:')}: Override east-boost (names cluster prod-east)",
        f"       merge patch (overrides/x.yaml:{line_of(EAST, 'merge:')})",
        f"       replace /spec/replicas (overrides/x.yaml:{line_of(EAST, '- {op')})",
    ]


@pytest.mark.parametrize(
    "kind", ["Deployment", "deployment", "deployments", "deployment.apps", "DEPLOYMENT.APPS"]
)
def test_kind_may_be_written_as_kubectl_users_do(root: Path, kind: str) -> None:
    code, out, _ = fanout("explain", "dev-1", f"{kind}/web", str(root))
    assert code == 0
    assert out.startswith("Deployment.apps shop/web in cluster dev-1\n")


def test_field_history_shows_substitution_and_skips_steps_that_change_nothing(root: Path) -> None:
    code, out, _ = fanout(
        "explain",
        "prod-west",
        "deployment/web",
        str(root),
        "--field",
        "/spec/template/spec/containers/0/env/0/value",
    )
    assert code == 0
    assert out.splitlines()[-1] == (
        f'/spec/template/spec/containers/0/env/0/value: "https://west.example.com" (template templates/web.yaml:'
        f"{line_of(WEB, '- {name: URL')}, from https://${{cluster.values.domain}})"
    )
    # A whole sub-tree is a value too; an absent field says so, then where it appears.
    _, out, _ = fanout("explain", "prod-east", "deployment/web", str(root), "--field", "/metadata/labels")
    assert out.splitlines()[-1] == (
        f"/metadata/labels: (absent) (template templates/web.yaml:{line_of(WEB, 'template:')})"
        f' → {{"boost": "yes"}} (overrides/x.yaml:{line_of(EAST, "labels:")})'
    )


def test_a_patch_that_writes_the_value_it_already_had_is_where_it_comes_from(root: Path) -> None:
    same = PROD.replace("env: prod", "env: dev").replace('"${cluster.values.replicas}"', "2")
    write(root, "overrides/dev.yaml", same.replace("prod-replicas", "dev-replicas"))
    code, out, _ = fanout("explain", "dev-1", "deployment/web", str(root), "--field", "/spec/replicas")
    assert code == 0
    assert out.splitlines()[-1] == (
        f"/spec/replicas: 2 (template templates/web.yaml:{line_of(WEB, 'replicas: 2')})"
        f" → 2 (overrides/dev.yaml:{line_of(PROD, '- {op')})"
    )


def test_which_patches_touch_a_field() -> None:
    doc = Document("overrides/o.yaml", 0, {}, {})
    merge = Patch("k", "l", doc, (), {"metadata": {"labels": None}, "spec": {"replicas": 3}}, "/spec/merge")
    assert touches(merge, "/spec/replicas")
    assert touches(merge, "/spec")  # a part of it
    assert touches(merge, "/metadata/labels/app")  # a parent is removed
    assert not touches(merge, "/spec/template")
    op = PatchOp("replace", "/spec/template/spec", "/spec/patch/0", {}, True)
    ops = Patch("k", "l", doc, (op,))
    assert touches(ops, "/spec/template/spec/containers/0/image")
    assert touches(ops, "/spec/template")
    assert not touches(ops, "/spec/replicas")
    moved = Patch("k", "l", doc, (PatchOp("move", "/spec/b", "/spec/patch/0", from_="/spec/a"),))
    assert touches(moved, "/spec/a/x") and touches(moved, "/spec/b")


def test_a_field_that_is_never_set(root: Path) -> None:
    code, out, _ = fanout("explain", "dev-1", "deployment/web", str(root), "--field", "/spec/paused")
    assert code == 0
    assert (
        out.splitlines()[-1]
        == f"/spec/paused: (absent) (template templates/web.yaml:{line_of(WEB, 'spec:', after='template:')})"
    )


def test_secret_values_are_not_shown(root: Path) -> None:
    code, out, _ = fanout("explain", "dev-1", "secret/creds", str(root), "--field", "/stringData/password")
    assert code == 0
    assert out.splitlines()[-1] == (
        f"/stringData/password: <hidden> (template templates/base.yaml:{line_of(BASE, 'password:')})"
    )
    assert "s3cret" not in out
    _, out, _ = fanout("explain", "dev-1", "secret/creds", str(root), "--field", "/stringData")
    assert "admin" not in out and "<hidden>" in out


def test_absent_because_the_selector_fails(root: Path) -> None:
    code, out, err = fanout("explain", "edge-1", "deployment/web", str(root))
    assert (code, err) == (1, "")
    assert out.splitlines() == [
        "deployment/web is not rendered in cluster edge-1: it is not placed there",
        "",
        "template: templates/web.yaml:1 (FederatedDeployment web)",
        "not placed:",
        f"  rule: selector cloud in (aws,gcp) (templates/web.yaml:{line_of(WEB, 'clusterSelector')})",
        "  - cloud in (aws,gcp) fails (the cluster has cloud=onprem)",
        "  cluster labels: cloud=onprem, env=dev",
    ]


def test_absent_because_of_an_annotation(root: Path) -> None:
    code, out, _ = fanout("explain", "dev-1", "configmap/prod-only", str(root))
    assert code == 1
    lines = out.splitlines()
    assert "  - env=prod fails (the cluster has env=dev)" in lines
    assert "  cluster labels: cloud=aws, env=dev" in lines
    code, out, _ = fanout("explain", "prod-west", "service/web", str(root))
    assert code == 1
    assert "  rule: clusters [prod-east, dev-1] (templates/base.yaml:" in out
    assert "  - cluster prod-west is not in the list of names" in out.splitlines()
    assert fanout("explain", "dev-1", "service/web", str(root))[0] == 0


def test_a_missing_label_is_named(root: Path) -> None:
    web = WEB.replace("{key: cloud, operator: In, values: [aws, gcp]}", "{key: tier, operator: Exists}")
    write(root, "templates/web.yaml", web)
    write(root, "overrides/prod.yaml", PROD.replace("Deployment", "Service"))
    write(root, "overrides/x.yaml", EAST.replace("Deployment", "Service"))
    code, out, _ = fanout("explain", "dev-1", "deployment/web", str(root))
    assert code == 1
    assert "  - tier fails (the cluster has no tier label)" in out.splitlines()


def test_no_such_template_suggests_a_known_object(root: Path) -> None:
    code, out, err = fanout("explain", "dev-1", "deployment/wbe", str(root))
    assert (code, out) == (1, "")
    assert err.splitlines()[0] == "no template renders deployment/wbe (did you mean 'deployment/web'?)"
    code, _, err = fanout("explain", "dev-1", "statefulset/web", str(root))
    assert code == 1
    assert err.splitlines()[0] == "no template renders statefulset/web (did you mean 'web'?)"
    code, _, err = fanout("explain", "dev-1", "deployment.batch/web", str(root))
    assert err.splitlines()[0].startswith("no template renders deployment.batch/web")


def test_wrong_cluster_target_or_field(root: Path) -> None:
    _, _, err = fanout("explain", "dev-2", "deployment/web", str(root))
    assert err.splitlines()[0] == "unknown cluster 'dev-2' (did you mean 'dev-1'?)"
    _, _, err = fanout("explain", "dev-1", "deployment", str(root))
    assert err.splitlines()[0] == "'deployment': expected KIND/NAME, for example deployment/pacman"
    code, _, err = fanout("explain", "dev-1", "deployment/web", str(root), "--field", "spec.replicas")
    assert code == 1
    assert err.splitlines()[0] == "--field 'spec.replicas': expected a JSON Pointer such as /spec/replicas"


def test_namespace_chooses_between_objects_of_the_same_name(root: Path) -> None:
    other = BASE.split("---\n")[1].replace("namespace: shop", "namespace: back")
    write(root, "templates/back.yaml", other)
    code, _, err = fanout("explain", "dev-1", "secret/creds", str(root))
    assert code == 1
    assert err.splitlines()[0] == "secret/creds exists in namespaces back, shop: choose one with -n"
    code, out, _ = fanout("explain", "dev-1", "secret/creds", str(root), "-n", "back")
    assert code == 0 and out.startswith("Secret back/creds in cluster dev-1\n")
    assert "template: templates/back.yaml:1 (Secret creds)" in out


def test_ref_reads_an_older_commit(root: Path) -> None:
    write(root, "overrides/x.yaml", EAST.replace("value: 5", "value: 8"))
    commit_all(root.parent, "eight")
    write(root, "overrides/x.yaml", EAST.replace("value: 5", "value: 9"))
    _, now, _ = fanout("explain", "prod-east", "deployment/web", str(root), "--field", "/spec/replicas")
    code, then, _ = fanout(
        "explain", "prod-east", "deployment/web", str(root), "--field", "/spec/replicas", "--ref", "HEAD~1"
    )
    assert code == 0
    assert now.splitlines()[-1].endswith("→ 9 (overrides/x.yaml:13)")
    assert then.splitlines()[-1].endswith("→ 5 (overrides/x.yaml:13)")
    assert then.splitlines()[0].startswith("source: ") and "@" in then.splitlines()[0]
    code, _, err = fanout("explain", "prod-east", "deployment/web", str(root), "--ref", "nope")
    assert code == 1 and err.startswith("--ref nope: no such branch, tag or commit")


def test_a_patch_that_fails_is_shown_where_it_fails(root: Path) -> None:
    write(root, "overrides/x.yaml", EAST.replace("path: /spec/replicas", "path: /spec/strategy/type"))
    code, out, _ = fanout("explain", "prod-east", "deployment/web", str(root), "--field", "/spec/replicas")
    assert code == 1
    lines = out.splitlines()
    assert lines[-2].startswith("/spec/replicas: 2 (template")
    assert lines[-1] == (
        f"rendering fails at overrides/x.yaml (east-boost) (overrides/x.yaml:{line_of(EAST, '- {op')}):"
        " replace /spec/strategy/type: the path does not exist (use add to create it)"
    )


def test_federated_namespace_narrowing_is_explained(tmp_path: Path) -> None:
    files = dict(SHOP)
    files["templates/base.yaml"] = BASE.split("---\n", 1)[1]  # the plain Namespace goes
    files["templates/ns.yaml"] = (
        "apiVersion: types.kubefed.io/v1beta1\nkind: FederatedNamespace\n"
        "metadata: {name: shop, namespace: shop}\n"
        "spec:\n  placement:\n    clusters: [{name: prod-east}, {name: dev-1}]\n"
    )
    root = shop_repo(tmp_path, files)
    code, out, _ = fanout("explain", "prod-west", "deployment/web", str(root))
    assert code == 1
    assert "  - cloud in (aws,gcp) matches (the cluster has cloud=gcp)" in out.splitlines()
    assert (
        "  then only where the FederatedNamespace 'shop' goes (templates/ns.yaml:1): clusters dev-1, prod-east;"
        " this cluster is not among them"
    ) in out.splitlines()
    code, out, _ = fanout("explain", "prod-east", "deployment/web", str(root))
    assert code == 0
    assert out.splitlines()[6].endswith("this cluster is among them")


# --- the pure API -------------------------------------------------------------------------------------


def test_targets() -> None:
    deployment = ObjectId("apps", "Deployment", "shop", "web")
    assert matches(parse_target("deploy.apps/web", None), deployment)  # kubectl's short name
    assert not matches(parse_target("pod/web", None), deployment)
    assert matches(parse_target("deployments.apps/web", "shop"), deployment)
    assert not matches(parse_target("deployment/web", "other"), deployment)
    policy = ObjectId("networking.k8s.io", "NetworkPolicy", "shop", "deny")
    assert matches(parse_target("networkpolicies.networking.k8s.io/deny", None), policy)
    ingress = ObjectId("networking.k8s.io", "Ingress", "shop", "web")
    assert matches(parse_target("ingresses/web", None), ingress)
    with pytest.raises(FanoutError):
        parse_target("a/b/c", None)


def test_replay_agrees_with_render_for_every_object_of_every_cluster(tmp_path: Path) -> None:
    """The step-by-step replay is only worth trusting if it ends where ``render`` does."""
    root = tmp_path / "src"
    for path, content in SHOP.items():
        write(root, path, content)
    inputs = load_inputs(DirectorySource(root))
    rendering = render(inputs)
    checked = 0
    for output in rendering.clusters:
        for rendered in output.objects:
            result = replay(rendered.template, rendered.patches, output.cluster, None).result
            assert json.dumps(result, sort_keys=True) == json.dumps(rendered.obj, sort_keys=True)
            checked += 1
    assert checked == rendering.object_count == 15


def test_explain_returns_plain_data(tmp_path: Path) -> None:
    root = tmp_path / "src"
    for path, content in SHOP.items():
        write(root, path, content)
    inputs = load_inputs(DirectorySource(root))
    story = explain(inputs, "prod-east", parse_target("deployment/web", None), "/spec/replicas")
    assert isinstance(story, Rendered)
    assert [step.value for step in story.replay.history] == [2, 3, 4, 5]
    assert [p.label for p in story.patches] == [
        "templates/web.yaml (inline override for prod-east)",
        "overrides/prod.yaml (prod-replicas)",
        "overrides/x.yaml (east-boost)",
    ]
    assert story.placement.placed and story.path == "shop/deployment.apps_web.yaml"


def test_replica_scheduling_is_part_of_the_story() -> None:
    """The bundled KubeFed example: a ReplicaSchedulingPreference decides placement and replicas."""
    example = str(Path(__file__).resolve().parent.parent / "examples" / "kubefed")
    code, out, _ = fanout("explain", "aws-us-east-1", "deploy/pacman", example, "--field", "/spec/replicas")
    assert code == 0
    lines = out.splitlines()
    assert any(
        line.startswith("  then ReplicaSchedulingPreference pacman/pacman places it on the clusters its plan")
        and line.endswith("this cluster is among them")
        for line in lines
    )
    assert any("ReplicaSchedulingPreference (replica scheduling: " in line for line in lines)
    assert lines[-1].startswith("/spec/replicas: 1 (template templates/frontend.yaml:")
    assert "(templates/replica-scheduling.yaml:" in lines[-1]
    code, out, _ = fanout("explain", "gcp-europe-west1", "deploy/pacman", example)
    assert code == 1
    assert out.splitlines()[-2].endswith("this cluster is not among them")


def test_a_disabled_federated_type_is_the_reason(tmp_path: Path) -> None:
    types = """\
apiVersion: core.kubefed.io/v1beta1
kind: FederatedTypeConfig
metadata: {name: deployments.apps, namespace: kube-federation-system}
spec:
  targetType: {group: apps, version: v1, kind: Deployment, pluralName: deployments, scope: Namespaced}
  federatedType: {group: types.kubefed.io, version: v1beta1, kind: FederatedDeployment,
                  pluralName: federateddeployments, scope: Namespaced}
  propagation: Disabled
"""
    files = {**SHOP, "templates/types.yaml": types}
    files.pop("overrides/prod.yaml")
    files.pop("overrides/x.yaml")
    root = shop_repo(tmp_path, files)
    code, out, _ = fanout("explain", "prod-east", "deployment/web", str(root))
    assert code == 1
    assert "  - cloud in (aws,gcp) matches (the cluster has cloud=aws)" in out.splitlines()
    assert (
        "  then propagation of FederatedDeployment is Disabled by its FederatedTypeConfig"
        f" (templates/types.yaml:{line_of(types, 'propagation:')}): clusters none; this cluster is not among them"
    ) in out.splitlines()
