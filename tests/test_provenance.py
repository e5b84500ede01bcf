"""fanout.report.provenance: which template or override line last wrote a field of a rendered object."""

from __future__ import annotations

from pathlib import Path

import pytest

from fanout.core.errors import Location
from fanout.render.pipeline import RenderedObject, load_inputs, render
from fanout.report.provenance import last_writer
from fanout.source.tree import DirectorySource
from tests.conftest import CLUSTERS, write_tree

TEMPLATE = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels: {app: web}
spec:
  replicas: 1
  template:
    spec:
      containers:
      - name: web
        image: "web:1"
      - name: sidecar
        image: "side:1"
"""


def override(name: str, priority: int, body: str) -> str:
    head = f"""
apiVersion: fanout.dev/v1alpha1
kind: Override
metadata: {{name: {name}}}
spec:
  clusters: {{names: [aws-east]}}
  resources: [{{kind: Deployment, name: web}}]
  priority: {priority}
"""
    return head + body


def rendered_for(tmp_path: Path, overrides: dict[str, str]) -> RenderedObject:
    files = {"clusters/all.yaml": CLUSTERS, "templates/web.yaml": TEMPLATE}
    files.update({f"overrides/{name}.yaml": text for name, text in overrides.items()})
    root = write_tree(tmp_path / "src", files)
    rendering = render(load_inputs(DirectorySource(root)), {"aws-east"})
    [output] = rendering.clusters
    [obj] = output.objects
    return obj


def where(rendered: RenderedObject, pointer: str) -> Location:
    return last_writer(rendered.template, rendered.patches, rendered.obj, pointer)


def test_untouched_fields_come_from_the_template(tmp_path: Path) -> None:
    rendered = rendered_for(tmp_path, {})
    assert where(rendered, "/spec/replicas") == Location("templates/web.yaml", 8, 3)
    assert where(rendered, "/spec/template/spec/containers/1/image") == Location("templates/web.yaml", 15, 9)
    assert where(rendered, "/metadata/labels/app") == Location("templates/web.yaml", 6, 12)
    # Below anything written: the nearest written ancestor.
    assert where(rendered, "/spec/template/spec/containers/0/ports/0") == Location(
        "templates/web.yaml", 12, 9
    )


def test_the_last_patch_that_wrote_a_field_wins(tmp_path: Path) -> None:
    first = override("first", 0, "  patch:\n  - {op: replace, path: /spec/replicas, value: 2}\n")
    second = override("second", 5, "  patch:\n  - {op: replace, path: /spec/replicas, value: 3}\n")
    rendered = rendered_for(tmp_path, {"a-first": first, "b-second": second})
    assert rendered.obj["spec"]["replicas"] == 3
    assert where(rendered, "/spec/replicas") == Location("overrides/b-second.yaml", 9, 41)
    assert where(rendered, "/spec/template") == Location("templates/web.yaml", 9, 3)


def test_value_written_as_a_whole_subtree(tmp_path: Path) -> None:
    body = """  patch:
  - op: replace
    path: /spec/template/spec/containers/0
    value:
      name: web
      image: 5
"""
    rendered = rendered_for(tmp_path, {"swap": override("swap", 0, body)})
    assert where(rendered, "/spec/template/spec/containers/0/image") == Location("overrides/swap.yaml", 13, 7)
    assert where(rendered, "/spec/template/spec/containers/0") == Location("overrides/swap.yaml", 11, 5)
    assert where(rendered, "/spec/template/spec/containers/1/image") == Location("templates/web.yaml", 15, 9)


def test_append_with_dash_points_at_the_appended_value(tmp_path: Path) -> None:
    body = """  patch:
  - op: add
    path: /spec/template/spec/containers/-
    value: {name: extra, image: 7}
"""
    rendered = rendered_for(tmp_path, {"append": override("append", 0, body)})
    assert where(rendered, "/spec/template/spec/containers/2/image") == Location(
        "overrides/append.yaml", 11, 26
    )
    assert where(rendered, "/spec/template/spec/containers/1/image") == Location("templates/web.yaml", 15, 9)


def test_move_and_copy_point_at_the_op(tmp_path: Path) -> None:
    body = """  patch:
  - {op: copy, from: /spec/template/spec/containers/0/image, path: /metadata/labels/image}
"""
    rendered = rendered_for(tmp_path, {"copy": override("copy", 0, body)})
    assert where(rendered, "/metadata/labels/image") == Location("overrides/copy.yaml", 9, 5)


def test_merge_patch_locations(tmp_path: Path) -> None:
    body = """  merge:
    metadata:
      labels: {tier: 1}
    spec:
      template:
        spec:
          containers:
          - {name: only, image: 9}
"""
    rendered = rendered_for(tmp_path, {"merge": override("merge", 0, body)})
    assert where(rendered, "/metadata/labels/tier") == Location("overrides/merge.yaml", 10, 16)
    assert where(rendered, "/metadata/labels/app") == Location("templates/web.yaml", 6, 12)
    # A list in a merge patch replaces the whole list.
    assert where(rendered, "/spec/template/spec/containers/0/image") == Location(
        "overrides/merge.yaml", 15, 26
    )
    assert where(rendered, "/spec/replicas") == Location("templates/web.yaml", 8, 3)


def test_substituted_mapping_resolves_to_the_reference(tmp_path: Path) -> None:
    body = """  patch:
  - {op: add, path: /spec/template/spec/nodeSelector, value: "${cluster.values.db}"}
"""
    rendered = rendered_for(tmp_path, {"subst": override("subst", 0, body)})
    assert rendered.obj["spec"]["template"]["spec"]["nodeSelector"] == {"size": "10Gi"}
    assert where(rendered, "/spec/template/spec/nodeSelector/size") == Location("overrides/subst.yaml", 9, 55)


@pytest.mark.parametrize("op", ["remove", "test"])
def test_ops_that_write_nothing_are_passed_over(tmp_path: Path, op: str) -> None:
    value = ", value: 1" if op == "test" else ""
    body = f"  patch:\n  - {{op: {op}, path: /spec/replicas{value}}}\n"
    rendered = rendered_for(tmp_path, {"nothing": override("nothing", 0, body)})
    assert where(rendered, "/spec/template") == Location("templates/web.yaml", 9, 3)


def test_append_inside_a_list_element(tmp_path: Path) -> None:
    body = """  patch:
  - op: add
    path: /spec/template/spec/containers/1/args
    value: []
  - op: add
    path: /spec/template/spec/containers/1/args/-
    value: 3
"""
    rendered = rendered_for(tmp_path, {"args": override("args", 0, body)})
    assert rendered.obj["spec"]["template"]["spec"]["containers"][1]["args"] == [3]
    assert where(rendered, "/spec/template/spec/containers/1/args/0") == Location(
        "overrides/args.yaml", 14, 5
    )
    assert where(rendered, "/spec/template/spec/containers/1/image") == Location("templates/web.yaml", 15, 9)
