"""Objects reused across renders (``fanout.output.cache.Reuse``): a cluster whose inputs changed is rendered
again, but an object in it whose key is the one its file was written from is not; its file stays as it is.

What must hold: the output is byte for byte a cold render's after any edit, with one worker or two; a file
of such a cluster that was edited or removed by hand is written again from a real rendering; and the
objects an edit did not reach are in fact not rendered.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from conftest import Invoke, read_tree, write_tree
from test_benchmark_generate import make_root

from fanout.output.cache import KEY_BYTES, Reuse, code_digest, load_state, settings_prefix
from fanout.render.pipeline import Renderer, load_inputs, render_plans
from fanout.render.place import plan
from fanout.source.tree import DirectorySource


def _edit(path: Path, pattern: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    changed, count = re.subn(pattern, new, text, count=1)
    assert count == 1, (path, pattern)
    path.write_text(changed, encoding="utf-8")


def _cold(invoke: Invoke, root: Path, out: Path) -> dict[str, bytes]:
    result = invoke("render", str(root), "--output-dir", str(out), "--no-cache", "--jobs", "1")
    assert result.exit_code == 0, result.output
    return read_tree(out)


def _first(folder: Path, pattern: str = "") -> Path:
    """The first YAML file under ``folder`` (that holds ``pattern``)."""
    return next(
        p for p in sorted(folder.rglob("*.yaml")) if re.search(pattern, p.read_text(encoding="utf-8"))
    )


def _edit_first(folder: Path, pattern: str, new: str) -> None:
    _edit(_first(folder, pattern), pattern, new)


# Edits of a generated root (benchmarks/generate.py: selectors, names, priorities, substitution), each
# reaching some clusters and some objects in them.
EDITS = {
    "one cluster's value": lambda r: _edit_first(r / "clusters", r"domain: [^\n]+", "domain: x.example"),
    "a cluster's nested value": lambda r: _edit_first(r / "clusters", r"sizeMb: \d+", "sizeMb: 7"),
    "a cluster's labels": lambda r: _edit_first(r / "clusters", r"env: \w+", "env: qa"),
    "an override's value": lambda r: _edit_first(
        r / "overrides", r"load-balancer-type: \S+", "load-balancer-type: x"
    ),
    "an override's reach": lambda r: _edit_first(r / "overrides", r"cloud: \w+", "env: prod"),
    "a template": lambda r: _edit_first(r / "templates", r"image: [^\n]+", "image: edited:2"),
    "a removed override": lambda r: _first(r / "overrides").unlink(),
    "a setting": lambda r: (r / "fanout.yaml").write_text(
        (r / "fanout.yaml").read_text(encoding="utf-8") + "limits: {maxSubstitutedBytes: 999999}\n",
        encoding="utf-8",
    ),
}


@pytest.mark.parametrize("jobs", ["1", "2"])
@pytest.mark.parametrize("kind", sorted(EDITS))
def test_each_edit_renders_as_a_cold_render_would(
    kind: str, jobs: str, invoke: Invoke, tmp_path: Path
) -> None:
    root = make_root(tmp_path, clusters=16, templates=12, overrides=10, seed=5)
    out = tmp_path / "out"
    assert invoke("render", str(root), "--output-dir", str(out), "--jobs", jobs).exit_code == 0
    EDITS[kind](root)
    again = invoke("render", str(root), "--output-dir", str(out), "--jobs", jobs)
    assert again.exit_code == 0, again.output
    assert read_tree(out) == _cold(invoke, root, tmp_path / "cold")
    # And once more, from the keys this render recorded.
    EDITS["a template"](root) if kind != "a template" else EDITS["one cluster's value"](root)
    third = invoke("render", str(root), "--output-dir", str(out), "--jobs", jobs)
    assert third.exit_code == 0, third.output
    assert read_tree(out) == _cold(invoke, root, tmp_path / "cold-2")
    assert invoke("render", str(root), "--output-dir", str(out), "--check").exit_code == 0


@pytest.mark.parametrize("jobs", ["1", "2"])
@pytest.mark.parametrize("how", ["edited", "deleted"])
def test_a_hand_edited_file_of_a_re_rendered_cluster_is_written_from_a_real_rendering(
    how: str, jobs: str, invoke: Invoke, tmp_path: Path
) -> None:
    """The render reuses the object (its key is unchanged), finds the file is not what fanout wrote, and
    must write it: its bytes are rendered then, as nothing else holds them."""
    root = make_root(tmp_path, clusters=16, templates=12, overrides=10, seed=5)
    out = tmp_path / "out"
    assert invoke("render", str(root), "--output-dir", str(out), "--jobs", jobs).exit_code == 0
    clusters = sorted(p.name for p in out.iterdir() if p.is_dir())
    # Every cluster's inputs change (a new value none reads: a cluster's digest covers its values), no object.
    for path in sorted((root / "clusters").rglob("*.yaml")):
        path.write_text(
            re.sub(r"values:\n( +)", r"values:\n\1note: new\n\1", path.read_text(encoding="utf-8")),
            encoding="utf-8",
        )
    victims = [sorted((out / name).rglob("deployment*.yaml"))[0] for name in clusters[::5]]
    for victim in victims:
        if how == "edited":
            victim.write_bytes(victim.read_bytes() + b"# by hand\n")
        else:
            victim.unlink()
    again = invoke("render", str(root), "--output-dir", str(out), "--jobs", jobs)
    assert again.exit_code == 0, again.output
    word = "changed" if how == "edited" else "added"
    assert f"{len(victims)} {word}" in again.stdout, again.stdout
    assert read_tree(out) == _cold(invoke, root, tmp_path / "cold")


def test_only_the_objects_an_edit_reaches_are_rendered_again(invoke: Invoke, tmp_path: Path) -> None:
    root = make_root(tmp_path, clusters=16, templates=12, overrides=10, seed=5)
    out = tmp_path / "out"
    assert invoke("render", str(root), "--output-dir", str(out)).exit_code == 0
    state = load_state(out, code_digest())
    for record in state.clusters.values():  # every object's file has its key; the kustomization none
        assert set(record.keys) == set(record.files) - {"kustomization.yaml"}
        assert all(len(key) == KEY_BYTES for key in record.keys.values())

    cluster_file = _first(root / "clusters")
    _edit(cluster_file, r"domain: [^\n]+", "domain: x.example")
    edited = re.search(r"name: (\S+)", cluster_file.read_text(encoding="utf-8"))
    assert edited is not None
    inputs = load_inputs(DirectorySource(root))
    plans = plan(inputs, {edited[1]})
    reuse = Reuse(settings_prefix(inputs, code_digest()), state.clusters)
    rendering = render_plans(inputs, plans, renderer=Renderer(inputs.config.limits, False, reuse))
    (output,) = rendering.clusters
    rendered = [o for o in output.objects if not o.digest]
    kept = [o for o in output.objects if o.digest]
    # The objects that read the domain are rendered; the others are not, and their digests are the files'.
    assert rendered and kept
    assert all(b"x.example" in o.content for o in rendered)
    cold = _cold(invoke, root, tmp_path / "cold")
    for o in kept:
        assert o.content == b""
        assert hashlib.sha256(cold[f"{edited[1]}/{o.path}"]).hexdigest() == o.digest
        assert o.key == state.clusters[edited[1]].keys[o.path]


def test_keys_differ_by_anything_that_shapes_the_object(tmp_path: Path) -> None:
    root = make_root(tmp_path, clusters=4, templates=6, overrides=4, seed=1)
    inputs = load_inputs(DirectorySource(root))
    (cluster_plan, *_) = plan(inputs, None)
    job = cluster_plan.jobs[0]
    keys = Reuse(settings_prefix(inputs, b"code"), {})
    base = keys.key(job, (("cluster.name", '"a"'),))
    assert keys.key(job, (("cluster.name", '"a"'),)) == base
    assert keys.key(job, (("cluster.name", '"b"'),)) != base
    assert keys.key(job, (("cluster.name", '"a"'), ("cluster.values.x", "1"))) != base
    assert Reuse(settings_prefix(inputs, b"other code"), {}).key(job, (("cluster.name", '"a"'),)) != base
    assert keys.key(cluster_plan.jobs[1], (("cluster.name", '"a"'),)) != base
    # A job's bytes are not confused by where one token ends and the next begins.
    assert keys.key(job, (("a", "bc"),)) != keys.key(job, (("ab", "c"),))


def test_a_render_that_fails_after_reuse_leaves_the_folder_as_it_was(invoke: Invoke, tmp_path: Path) -> None:
    root = make_root(tmp_path, clusters=8, templates=6, overrides=4, seed=2)
    out = tmp_path / "out"
    assert invoke("render", str(root), "--output-dir", str(out)).exit_code == 0
    before = read_tree(out)
    _edit_first(root / "templates", r"image: [^\n]+", "image: ${cluster.values.nothing}")
    failed = invoke("render", str(root), "--output-dir", str(out))
    assert failed.exit_code == 1
    assert "cluster.values.nothing" in failed.output
    assert read_tree(out) == before


ORDERED = """\
apiVersion: fanout.dev/v1alpha1
kind: Cluster
metadata: {name: a}
spec: {values: {m: {z: 1, a: 2}}}
---
apiVersion: fanout.dev/v1alpha1
kind: Cluster
metadata: {name: b}
spec: {values: {m: {a: 2, z: 1}}}
"""


def test_a_values_key_order_is_part_of_the_object(invoke: Invoke, tmp_path: Path) -> None:
    """A mapping substituted whole is written in its own key order, in every cluster and after an edit that
    only reorders it. Clusters whose values differed only in order once shared one rendering (the first
    cluster's order), so a cluster rendered alone did not match the fleet's render."""
    root = write_tree(
        tmp_path / "src",
        {
            "clusters/c.yaml": ORDERED,
            "templates/w.yaml": "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: x, namespace: ns}\n"
            'spec: "${cluster.values.m}"\n',
        },
    )
    out = tmp_path / "out"
    assert invoke("render", str(root), "--output-dir", str(out)).exit_code == 0
    assert (out / "a/ns/widget.example.com_x.yaml").read_text().endswith("spec:\n  z: 1\n  a: 2\n")
    assert (out / "b/ns/widget.example.com_x.yaml").read_text().endswith("spec:\n  a: 2\n  z: 1\n")
    (root / "clusters/c.yaml").write_text(ORDERED.replace("{z: 1, a: 2}", "{a: 2, z: 1}"), encoding="utf-8")
    assert invoke("render", str(root), "--output-dir", str(out)).exit_code == 0
    assert (out / "a/ns/widget.example.com_x.yaml").read_text().endswith("spec:\n  a: 2\n  z: 1\n")
    assert read_tree(out) == _cold(invoke, root, tmp_path / "cold")


def test_a_render_of_some_clusters_reuses_and_records_as_a_full_one(invoke: Invoke, tmp_path: Path) -> None:
    root = make_root(tmp_path, clusters=16, templates=12, overrides=10, seed=5)
    out = tmp_path / "out"
    assert invoke("render", str(root), "--output-dir", str(out), "--jobs", "2").exit_code == 0
    one = sorted(p.name for p in out.iterdir() if p.is_dir())[3]
    EDITS["a template"](root)
    scoped = invoke("render", str(root), "--output-dir", str(out), "--cluster", one)
    assert scoped.exit_code == 0, scoped.output
    cold = _cold(invoke, root, tmp_path / "cold")
    mine = {p: d for p, d in read_tree(out).items() if p.startswith(f"{one}/")}
    assert mine == {p: d for p, d in cold.items() if p.startswith(f"{one}/")}
    EDITS["an override's value"](root)
    assert invoke("render", str(root), "--output-dir", str(out), "--jobs", "2").exit_code == 0
    assert read_tree(out) == _cold(invoke, root, tmp_path / "cold-2")
