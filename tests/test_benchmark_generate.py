"""The benchmark generator writes deterministic, well-formed source roots that a correct renderer accepts."""

from __future__ import annotations

import copy
import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import jsonpatch
import pytest
import yaml

from fanout.render.patch import merge_patch

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "generate.py"

DNS_1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
CLUSTER_REF = re.compile(r"\$\$\{|\$\{cluster\.([^}]*)\}")
PLAIN_KINDS = {("v1", "Namespace"), ("v1", "Service"), ("v1", "ConfigMap"), ("apps/v1", "Deployment")}
TARGET_API_VERSIONS = {"Deployment": "apps/v1", "Service": "v1", "ConfigMap": "v1"}

Doc = dict[str, Any]


def load_generator() -> ModuleType:
    return load_script(SCRIPT, "benchmark_generate")


def load_script(script: Path, name: str) -> ModuleType:
    # benchmarks/ is a folder of scripts, not a package: load the file the way the script runs.
    spec = importlib.util.spec_from_file_location(name, script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


generator = load_generator()


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def documents(root: Path, folder: str) -> list[tuple[str, Doc]]:
    found: list[tuple[str, Doc]] = []
    for path in sorted((root / folder).rglob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            assert isinstance(doc, dict), path
            found.append((path.relative_to(root).as_posix(), doc))
    return found


def make_root(tmp_path: Path, clusters: int, templates: int, overrides: int, seed: int = 0) -> Path:
    out = tmp_path / f"root-{clusters}-{templates}-{overrides}-{seed}"
    generator.generate(out, clusters=clusters, templates=templates, overrides=overrides, seed=seed)
    return out


# --- a small, independent model of the placement and override rules of issue 2 -------------------------


def selector_matches(selector: Doc, labels: dict[str, str]) -> bool:
    if any(labels.get(key) != value for key, value in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        key, operator, values = expression["key"], expression["operator"], expression.get("values", [])
        ok = {
            "In": key in labels and labels[key] in values,
            "NotIn": not (key in labels and labels[key] in values),
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }[operator]
        if not ok:
            return False
    return True


def kubectl_selector_matches(expression: str, labels: dict[str, str]) -> bool:
    """The subset of kubectl's -l syntax the generator writes: ``key in (a,b)`` and ``!key``."""
    for requirement in re.findall(r"[^,(]+(?:\([^)]*\))?", expression):
        requirement = requirement.strip()
        in_set = re.fullmatch(r"(\S+) in \((.*)\)", requirement)
        if in_set:
            if labels.get(in_set.group(1)) not in in_set.group(2).split(","):
                return False
        elif requirement.startswith("!"):
            if requirement[1:] in labels:
                return False
        else:
            raise AssertionError(f"unexpected selector requirement {requirement!r}")
    return True


def target_object(doc: Doc) -> Doc:
    """The object a template renders to, before substitution and overrides."""
    if doc["apiVersion"] != "types.kubefed.io/v1beta1":
        result = copy.deepcopy(doc)
        result["metadata"].pop("annotations", None)
        return result
    kind = doc["kind"].removeprefix("Federated")
    template = copy.deepcopy(doc["spec"]["template"])
    metadata = {"name": doc["metadata"]["name"], "namespace": doc["metadata"]["namespace"]}
    metadata.update(template.pop("metadata", {}))
    return {"apiVersion": TARGET_API_VERSIONS[kind], "kind": kind, "metadata": metadata, **template}


def resource_matches(ref: Doc, obj: Doc) -> bool:
    return (
        ref["kind"] == obj["kind"]
        and ref["name"] in ("*", obj["metadata"]["name"])
        and ref.get("namespace") == obj["metadata"].get("namespace")
        and ref.get("apiVersion", obj["apiVersion"]) == obj["apiVersion"]
    )


def cluster_labels(root: Path) -> dict[str, dict[str, str]]:
    return {doc["metadata"]["name"]: doc["metadata"]["labels"] for _, doc in documents(root, "clusters")}


# --- tests --------------------------------------------------------------------------------------------------


def test_same_arguments_give_byte_identical_trees(tmp_path: Path) -> None:
    first = tree(make_root(tmp_path / "a", 40, 60, 25, seed=3))
    second = tree(make_root(tmp_path / "b", 40, 60, 25, seed=3))
    assert first == second
    assert len(first) > 10


def test_a_different_seed_gives_a_different_tree(tmp_path: Path) -> None:
    assert tree(make_root(tmp_path, 40, 60, 25, seed=0)) != tree(make_root(tmp_path, 40, 60, 25, seed=1))


@pytest.mark.parametrize(
    ("clusters", "templates", "overrides"), [(1, 1, 0), (1, 1, 5), (9, 5, 10), (40, 100, 25)]
)
def test_counts_match_the_arguments(tmp_path: Path, clusters: int, templates: int, overrides: int) -> None:
    root = make_root(tmp_path, clusters, templates, overrides)
    cluster_docs = documents(root, "clusters")
    assert len(cluster_docs) == clusters
    assert len({doc["metadata"]["name"] for _, doc in cluster_docs}) == clusters
    assert len(documents(root, "templates")) == templates
    override_docs = documents(root, "overrides")
    assert len(override_docs) == overrides
    assert len({doc["metadata"]["name"] for _, doc in override_docs}) == overrides


def test_every_document_has_the_expected_shape(tmp_path: Path) -> None:
    root = make_root(tmp_path, 30, 100, 30)
    config = yaml.safe_load((root / "fanout.yaml").read_text(encoding="utf-8"))
    assert config["apiVersion"] == "fanout.dev/v1alpha1"
    assert config["kind"] == "Config"
    assert {config[key] for key in ("clusters", "templates", "overrides")} == {
        "clusters",
        "templates",
        "overrides",
    }

    for _, doc in documents(root, "clusters"):
        assert (doc["apiVersion"], doc["kind"]) == ("fanout.dev/v1alpha1", "Cluster")
        assert DNS_1123_LABEL.match(doc["metadata"]["name"]) and len(doc["metadata"]["name"]) <= 63
        assert set(doc["metadata"]["labels"]) == {"cloud", "region", "env"}
        assert isinstance(doc["spec"]["values"]["replicas"], int)
        assert isinstance(doc["spec"]["values"]["domain"], str)

    federated = 0
    for _, doc in documents(root, "templates"):
        assert DNS_1123_LABEL.match(doc["metadata"]["name"])
        if doc["apiVersion"] == "types.kubefed.io/v1beta1":
            federated += 1
            assert doc["kind"] in {"FederatedDeployment", "FederatedConfigMap"}
            assert set(doc["metadata"]) == {"name", "namespace"}
            assert set(doc["spec"]) == {"template", "placement", "overrides"}
            assert "clusterSelector" in doc["spec"]["placement"]
            assert not {"apiVersion", "kind"} & set(doc["spec"]["template"])
            for override in doc["spec"]["overrides"]:
                assert set(override) == {"clusterName", "clusterOverrides"}
                assert all(
                    op.get("op", "replace") in {"add", "remove", "replace"}
                    for op in override["clusterOverrides"]
                )
        else:
            assert (doc["apiVersion"], doc["kind"]) in PLAIN_KINDS
    assert 0 < federated < 20

    for _, doc in documents(root, "overrides"):
        assert (doc["apiVersion"], doc["kind"]) == ("fanout.dev/v1alpha1", "Override")
        assert DNS_1123_LABEL.match(doc["metadata"]["name"])
        spec = doc["spec"]
        assert set(spec["clusters"]) <= {"names", "clusterSelector"} and spec["clusters"]
        assert spec["resources"] and all({"kind", "name"} <= set(ref) for ref in spec["resources"])
        assert "patch" in spec or "merge" in spec


def test_labels_cover_three_clouds_three_envs_and_several_regions(tmp_path: Path) -> None:
    labels = cluster_labels(make_root(tmp_path, 54, 3, 0)).values()
    assert {label["cloud"] for label in labels} == {"aws", "azure", "gcp"}
    assert {label["env"] for label in labels} == {"prod", "staging", "dev"}
    assert len({(label["cloud"], label["region"], label["env"]) for label in labels}) == 54


def test_overrides_mix_selectors_names_patches_merges_and_priorities(tmp_path: Path) -> None:
    specs = [doc["spec"] for _, doc in documents(make_root(tmp_path, 30, 60, 20), "overrides")]
    assert any("names" in spec["clusters"] for spec in specs)
    selected_by = {
        key for spec in specs for key in spec["clusters"].get("clusterSelector", {}).get("matchLabels", {})
    } | {
        expression["key"]
        for spec in specs
        for expression in spec["clusters"].get("clusterSelector", {}).get("matchExpressions", [])
    }
    assert selected_by == {"env", "cloud", "region"}
    assert any("patch" in spec for spec in specs) and any("merge" in spec for spec in specs)
    assert {spec.get("priority", 0) for spec in specs} > {0}
    assert any(ref["name"] == "*" for spec in specs for ref in spec["resources"])


@pytest.mark.parametrize(("clusters", "templates", "overrides"), [(1, 1, 5), (3, 4, 7), (25, 70, 30)])
def test_every_cluster_gets_every_template_and_every_override_applies(
    tmp_path: Path, clusters: int, templates: int, overrides: int
) -> None:
    root = make_root(tmp_path, clusters, templates, overrides, seed=11)
    labels = cluster_labels(root)
    template_docs = [doc for _, doc in documents(root, "templates")]
    objects = [target_object(doc) for doc in template_docs]

    for doc in template_docs:
        if doc["apiVersion"] == "types.kubefed.io/v1beta1":
            selector = doc["spec"]["placement"]["clusterSelector"]
            assert all(selector_matches(selector, cluster) for cluster in labels.values())
            for inline in doc["spec"]["overrides"]:
                assert inline["clusterName"] in labels
                ops = [{"op": "replace", **op} for op in inline["clusterOverrides"]]
                jsonpatch.apply_patch(target_object(doc), ops)
        placement = doc["metadata"].get("annotations", {}).get("fanout.dev/placement")
        if placement is not None:
            assert all(kubectl_selector_matches(placement, cluster) for cluster in labels.values())
        assert "fanout.dev/clusters" not in doc["metadata"].get("annotations", {})

    namespaces = {obj["metadata"]["name"] for obj in objects if obj["kind"] == "Namespace"}
    assert {obj["metadata"]["namespace"] for obj in objects if obj["kind"] != "Namespace"} <= namespaces

    for path, doc in documents(root, "overrides"):
        spec = doc["spec"]
        chosen = spec["clusters"]
        assert set(chosen.get("names", [])) <= set(labels), path
        assert any(
            name in chosen.get("names", [])
            or ("clusterSelector" in chosen and selector_matches(chosen["clusterSelector"], cluster))
            for name, cluster in labels.items()
        ), f"{path} selects no cluster"
        targets = [obj for obj in objects if any(resource_matches(ref, obj) for ref in spec["resources"])]
        assert targets, f"{path} matches no object"
        for obj in targets:  # merge first, then the JSON Patch: every path must exist
            jsonpatch.apply_patch(merge_patch(obj, spec.get("merge", {})), spec.get("patch", []))


def test_every_cluster_reference_resolves_in_every_cluster(tmp_path: Path) -> None:
    root = make_root(tmp_path, 20, 60, 20)
    references = {
        match.group(1)
        for path in sorted(root.rglob("*.yaml"))
        for match in CLUSTER_REF.finditer(path.read_text(encoding="utf-8"))
        if match.group(1) is not None
    }
    assert {"name", "labels.region", "values.replicas", "values.domain", "values.cache.sizeMb"} <= references
    for _, cluster in documents(root, "clusters"):
        for reference in references:
            head, *rest = reference.split(".")
            value: Any = cluster["metadata"] if head in ("name", "labels") else cluster["spec"]
            for part in [head, *rest]:
                assert isinstance(value, dict) and part in value, (cluster["metadata"]["name"], reference)
                value = value[part]


def test_substitution_features_appear(tmp_path: Path) -> None:
    root = make_root(tmp_path, 10, 100, 10)
    text = "\n".join(path.read_text(encoding="utf-8") for path in sorted(root.rglob("*.yaml")))
    assert "value: ${cluster.values.replicas}" in text  # a whole-string reference: typed
    assert ".${cluster.values.domain}" in text  # inside a longer string
    assert "${HOME}" in text and "$${CACHE_DIR" in text  # shell variables and the escape
    assert "&id" not in text and "*id" not in text  # no YAML anchors or aliases


def test_script_writes_the_same_tree_as_the_function(tmp_path: Path) -> None:
    out = tmp_path / "from-script"
    result = subprocess.run(
        [sys.executable, str(SCRIPT), str(out), "--clusters", "12", "--templates", "20", "--overrides", "6"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "12 clusters" in result.stdout and "240 objects" in result.stdout
    assert tree(out) == tree(make_root(tmp_path, 12, 20, 6))


def test_script_refuses_a_non_empty_folder_and_bad_counts(tmp_path: Path) -> None:
    out = tmp_path / "busy"
    out.mkdir()
    (out / "keep.txt").write_text("mine\n", encoding="utf-8")
    busy = subprocess.run(
        [sys.executable, str(SCRIPT), str(out), "--clusters", "2", "--templates", "2", "--overrides", "0"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert busy.returncode == 2
    assert "not an empty folder" in busy.stderr
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]
    with pytest.raises(ValueError):
        generator.generate(tmp_path / "none", clusters=0, templates=1, overrides=0)
    assert not (tmp_path / "none").exists()


@pytest.mark.parametrize(("clusters", "templates", "overrides"), [(1, 1, 5), (20, 30, 10)])
def test_the_real_renderer_accepts_a_generated_root_and_renders_n_times_m_objects(
    tmp_path: Path, clusters: int, templates: int, overrides: int
) -> None:
    root = make_root(tmp_path, clusters, templates, overrides, seed=5)
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-m", "fanout", "render", str(root), "--output-dir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    cluster_dirs = sorted(p for p in out.iterdir() if p.is_dir())
    assert [p.name for p in cluster_dirs] == sorted(cluster_labels(root))
    for cluster_dir in cluster_dirs:
        objects = [p for p in cluster_dir.rglob("*.yaml") if p.name != "kustomization.yaml"]
        assert len(objects) == templates, cluster_dir.name
