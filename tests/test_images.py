"""``Override.spec.images``: kustomize's ``images:``, compared with ``kubectl kustomize`` (kustomize v5.8.1).

The vectors of ``matches`` and ``split`` are those of kustomize's own tests (kubernetes-sigs/kustomize
12f9e6391464b3ad9dd3fe8182049dc1b1772990, api/internal/image/image_test.go). The kustomizations below are
built by kubectl and rendered by fanout, object for object, including what kustomize users trip on: a
``tagSuffix`` added twice to the containers both of its passes reach, and a ``name`` read as a regular
expression.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from fanout.core.images import ImageRule, could_write, matches, split, updated
from fanout.render.images import is_image_field
from tests.conftest import Invoke, write_tree
from tests.strategic import binaries


@pytest.mark.parametrize(
    ("value", "name", "expected"),
    [
        ("nginx", "nginx", True),
        ("nginx:12345", "nginx", True),
        ("nginx@sha256:xyz", "nginx", True),
        ("nginx:12345@sha256:xyz", "nginx", True),
        ("nginx@sha512:xyz", "nginx", True),
        ("nginx:12345@sha512:xyz", "nginx", True),
        ("nginx@multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8", "nginx", True),
        ("apache:12345", "nginx", False),
        ("nginx", "[", False),  # not a valid expression: matches nothing (fanout refuses it first)
        ("nginxx:2", "nginx", False),
        ("nginx2:3", "ngin.", False),  # "." is any character, but the rest must be a tag
        ("nginx:3", "ngin.", True),
        ("nginx:1\n", "nginx", False),  # Go's $ is the end of the text
    ],
)
def test_matches_as_kustomize(value: str, name: str, expected: bool) -> None:
    assert matches(value, name) is expected


@pytest.mark.parametrize(
    ("value", "parts"),
    [
        ("nginx", ("nginx", "", "")),
        ("nginx:1.2.3", ("nginx", "1.2.3", "")),
        ("nginx@sha256:12345", ("nginx", "", "sha256:12345")),
        ("nginx:1.2.3@sha256:12345", ("nginx", "1.2.3", "sha256:12345")),
        ("docker.io/nginx:1.2.3", ("docker.io/nginx", "1.2.3", "")),
        ("foo.com:443/nginx:1.2.3", ("foo.com:443/nginx", "1.2.3", "")),
        ("foo.com:443/nginx:1.2.3@sha256:12345", ("foo.com:443/nginx", "1.2.3", "sha256:12345")),
        ("foo.com:443/nginx", ("foo.com:443/nginx", "", "")),
    ],
)
def test_split_as_kustomize(value: str, parts: tuple[str, str, str]) -> None:
    assert split(value) == parts


def test_a_rule_sets_name_tag_and_digest_as_kustomizes_updater() -> None:
    assert updated("nginx:1@sha256:a", ImageRule("nginx", new_tag="2")) == "nginx:2"
    assert updated("nginx:1@sha256:a", ImageRule("nginx", digest="sha256:b")) == "nginx@sha256:b"
    assert updated("nginx:1", ImageRule("nginx", new_tag="2", digest="sha256:b")) == "nginx:2@sha256:b"
    assert updated("nginx", ImageRule("nginx", tag_suffix="-x")) == "nginx:-x"
    assert updated("nginx:1", ImageRule("nginx", new_tag="2", tag_suffix="-x")) == "nginx:2"
    assert updated("nginx:1", ImageRule("nginx", new_name="reg/nginx")) == "reg/nginx:1"
    assert updated("apache:1", ImageRule("nginx", new_tag="2")) == "apache:1"


def test_explain_knows_which_fields_and_entries() -> None:
    assert is_image_field("/spec/template/spec/containers/0/image")
    assert is_image_field("/spec/deep/initContainers/3/image")
    assert is_image_field("/spec/volumes/1/image/reference")
    assert not is_image_field("/spec/volumes/1/image")
    assert not is_image_field("/spec/template/spec/containers/0/name")
    assert could_write(ImageRule("nginx", new_tag="2"), "nginx:2")
    assert not could_write(ImageRule("nginx", new_tag="2"), "nginx:3")
    assert could_write(ImageRule("nginx", new_name="reg/x"), "reg/x:1")
    assert could_write(ImageRule("nginx", tag_suffix="-s"), "nginx:1-s")
    assert not could_write(ImageRule("nginx"), "nginx:1")


RESOURCES = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    spec:
      initContainers:
      - {name: init, image: "nginx"}
      containers:
      - {name: a, image: "nginx:1.0"}
      - {name: b, image: "docker.io/library/nginx:1.0@sha256:abc"}
      - {name: c}
      - {name: d, image: "nginxx:2"}
      - {name: e, image: "my.reg:5000/nginx:3"}
      volumes:
      - name: v
        image: {reference: "nginx:9"}
      - {name: cfg, configMap: {name: x}}
---
apiVersion: example.com/v1
kind: Thing
metadata: {name: t, namespace: shop}
spec:
  deep:
    containers:
    - {name: x, image: "nginx:4"}
  image: "nginx:5"
---
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: shop}
spec:
  containers: [{name: a, image: "nginx:7"}]
  ephemeralContainers: [{name: dbg, image: "nginx:8"}]
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: cj, namespace: shop}
spec:
  jobTemplate:
    spec:
      template:
        spec:
          containers: [{name: a, image: "nginx:1"}]
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: things.example.com}
spec:
  group: example.com
  names: {kind: Thing, plural: things}
  scope: Namespaced
  versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object}}}]
  containers: [{name: a, image: "nginx:1"}]
"""

CASES: dict[str, list[dict[str, str]]] = {
    "new-tag": [{"name": "nginx", "newTag": "2.0"}],
    "tag-suffix-twice": [{"name": "nginx", "tagSuffix": "-x"}],
    "names-digests-ports": [
        {"name": "docker.io/library/nginx", "newName": "reg.example/nginx"},
        {"name": "my.reg:5000/nginx", "digest": "sha256:ddd"},
    ],
    "one-after-another": [
        {"name": "nginx", "newName": "nginx2", "tagSuffix": "-s"},
        {"name": "nginx2", "newTag": "3"},
        {"name": "ngin.", "newTag": "re"},
    ],
    "tag-and-digest": [{"name": "nginx", "newTag": "1", "digest": "sha256:e"}],
}


def _objects(text: str) -> dict[tuple[str, str], Any]:
    found = {}
    for obj in yaml.safe_load_all(text):
        if obj:
            obj["metadata"].pop("namespace", None)
            found[(obj["kind"], obj["metadata"]["name"])] = obj
    return found


def _source(root: Path, images: Any, **more: str) -> Path:
    override = yaml.safe_dump(
        {
            "apiVersion": "fanout.dev/v1alpha1",
            "kind": "Override",
            "metadata": {"name": "images"},
            "spec": {"clusters": {"names": ["a"]}, "images": images},
        }
    )
    return write_tree(
        root,
        {
            "clusters/c.yaml": "apiVersion: fanout.dev/v1alpha1\nkind: Cluster\nmetadata: {name: a}\n"
            "spec: {values: {tag: 1.25}}\n---\n"
            "apiVersion: fanout.dev/v1alpha1\nkind: Cluster\nmetadata: {name: b}\n",
            "templates/res.yaml": RESOURCES,
            "overrides/images.yaml": override,
            **more,
        },
    )


@pytest.mark.skipif(
    binaries.kubectl() is None and not os.environ.get("CI"), reason="kubectl is not installed"
)
@pytest.mark.parametrize("case", sorted(CASES))
def test_images_build_what_kubectl_kustomize_builds(case: str, tmp_path: Path, invoke: Invoke) -> None:
    overlay = write_tree(
        tmp_path / "kustomize",
        {
            "res.yaml": RESOURCES,
            "kustomization.yaml": yaml.safe_dump({"resources": ["res.yaml"], "images": CASES[case]}),
        },
    )
    theirs = _objects(binaries.build(overlay))
    root = _source(tmp_path / "src", CASES[case])
    result = invoke("render", str(root))
    assert result.exit_code == 0, result.output
    ours = _objects(
        "---\n".join(
            p.read_text()
            for p in sorted((root / "rendered" / "a").rglob("*.yaml"))
            if p.name != "kustomization.yaml"
        )
    )
    assert ours == theirs
    untouched = _objects(
        "---\n".join(
            p.read_text()
            for p in sorted((root / "rendered" / "b").rglob("*.yaml"))
            if p.name != "kustomization.yaml"
        )
    )
    assert untouched == _objects(RESOURCES)  # cluster b is not selected


def test_a_reference_gives_a_tag_as_text_and_explain_names_the_entry(tmp_path: Path, invoke: Invoke) -> None:
    root = _source(tmp_path, [{"name": "nginx", "newTag": "${cluster.values.tag}"}])
    result = invoke("render", str(root))
    assert result.exit_code == 0, result.output
    written = yaml.safe_load((root / "rendered/a/shop/pod_p.yaml").read_text())
    assert written["spec"]["containers"][0]["image"] == "nginx:1.25"  # the number, as YAML writes it
    explained = invoke(
        "explain", "a", "pod/p", str(root), "-n", "shop", "--field", "/spec/containers/0/image"
    )
    assert explained.exit_code == 0, explained.output
    assert (
        '"nginx:7" (template templates/res.yaml:33) → "nginx:1.25" (overrides/images.yaml:9)'
        in explained.stdout
    )


def test_images_with_resources_reach_only_those(tmp_path: Path, invoke: Invoke) -> None:
    root = _source(tmp_path, [{"name": "nginx", "newTag": "9"}])
    text = (root / "overrides/images.yaml").read_text()
    (root / "overrides/images.yaml").write_text(
        text.replace("spec:\n", "spec:\n  resources: [{kind: Pod, name: p}]\n")
    )
    result = invoke("render", str(root))
    assert result.exit_code == 0, result.output
    pod = yaml.safe_load((root / "rendered/a/shop/pod_p.yaml").read_text())
    cronjob = yaml.safe_load((root / "rendered/a/shop/cronjob.batch_cj.yaml").read_text())
    assert pod["spec"]["containers"][0]["image"] == "nginx:9"
    assert cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1"
    # explain names the entry that wrote the image
    lines = (root / "overrides/images.yaml").read_text().splitlines()
    entry = next(i for i, line in enumerate(lines, 1) if line.strip() == "- name: nginx")
    field = "/spec/containers/0/image"
    explained = invoke("explain", "a", "pod/p", str(root), "-n", "shop", "--field", field)
    assert f'→ "nginx:9" (overrides/images.yaml:{entry})' in explained.stdout


def test_images_problems_are_located(tmp_path: Path, invoke: Invoke) -> None:
    both = yaml.safe_dump(
        {
            "apiVersion": "fanout.dev/v1alpha1",
            "kind": "Override",
            "metadata": {"name": "both"},
            "spec": {
                "clusters": {"names": ["a"]},
                "images": [{"name": "nginx", "newTag": "2"}],
                "merge": {"metadata": {"labels": {"x": "y"}}},
            },
        }
    )
    root = _source(
        tmp_path / "one",
        [{"name": "nginx", "newTag": "2", "newTagg": "3"}],
        **{"overrides/both.yaml": both},
    )
    result = invoke("render", str(root))
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert any(
        line.startswith("overrides/both.yaml:") and "images and merge cannot be used" in line
        for line in lines
    )
    assert any(line.startswith("overrides/images.yaml:") and "newTagg" in line for line in lines)
    assert "Traceback" not in result.output

    not_text = RESOURCES.replace('image: "nginx:7"', "image: {name: nginx}")
    root = _source(tmp_path / "two", [{"name": "nginx", "newTag": "2"}], **{"templates/res.yaml": not_text})
    result = invoke("render", str(root))
    assert result.exit_code == 1
    assert "/spec/containers/0/image is not text, so it names no image" in result.stderr
    assert result.stderr.startswith("overrides/images.yaml:")


def test_a_name_that_is_no_expression_is_refused(tmp_path: Path, invoke: Invoke) -> None:
    """kustomize v5.8.1 crashes on it (a nil regexp), later versions match nothing: either way the tag
    the entry meant to set is not set."""
    root = _source(tmp_path, [{"name": "nginx", "newTag": "2"}, {"name": "reg/[abc", "newTag": "1"}])
    result = invoke("render", str(root))
    assert result.exit_code == 1
    (line, summary) = result.stderr.splitlines()
    assert line.startswith("overrides/images.yaml:")
    assert "images: kustomize reads name as a regular expression, and this one is not (" in line
    assert summary == "fanout: 1 problem found"
    assert not (root / "rendered").exists()


def test_an_entry_that_matches_no_image_is_said(tmp_path: Path, invoke: Invoke) -> None:
    entries = [
        {"name": "nginx", "newName": "nginx2"},
        {"name": "nginx2", "newTag": "3"},  # matches what the entry before made
        {"name": "ngnix", "newTag": "3"},  # misspelt
        {"name": "nginx2", "newTag": "${cluster.values.tag}"},  # a reference in a tag is still a tag
        {"name": "nginx22"},  # misspelt too
        {"name": "${cluster.name}", "newTag": "1"},  # a reference in a name: nothing more is said
        {"name": "nothing-is-said-of-this"},
    ]
    root = _source(tmp_path, entries)
    result = invoke("render", str(root))
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        "overrides/images.yaml:14:5: warning: images: 'ngnix' matches no image of the objects this Override"
        " reaches, so it changes nothing (kubectl kustomize says nothing either)",
        "overrides/images.yaml:18:5: warning: images: 'nginx22' matches no image of the objects this Override"
        " reaches, so it changes nothing (kubectl kustomize says nothing either)",
    ]
