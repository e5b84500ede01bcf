"""The render cache never serves stale output: after any edit, a cached render equals a cold one byte for byte."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import ROOT, Invoke, read_tree, write_tree
from hypothesis import given, settings
from hypothesis import strategies as st

from fanout.output.cache import (
    EMPTY,
    KEY_BYTES,
    RACY_NS,
    ClusterRecord,
    PackedFiles,
    PackedKeys,
    _encode,
    _encode_other,
    cache_dir,
    code_digest,
    load_state,
    save_state,
    state_path,
)
from fanout.output.folder import MARKER

CLUSTERS = """
apiVersion: fanout.dev/v1alpha1
kind: Cluster
metadata: {name: aws-east, labels: {cloud: aws, env: prod, region: us-east-1}}
spec: {values: {domain: east.example.com, replicas: 4}}
---
apiVersion: fanout.dev/v1alpha1
kind: Cluster
metadata: {name: azure-west, labels: {cloud: azure, env: prod, region: westeurope}}
spec: {values: {domain: west.example.com, replicas: 3}}
---
apiVersion: fanout.dev/v1alpha1
kind: Cluster
metadata: {name: gcp-dev, labels: {cloud: gcp, env: dev, region: europe-west1}}
spec: {values: {domain: dev.example.com, replicas: 1}}
"""

WEB = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 1
  template:
    spec:
      containers:
      - name: web
        image: "web:1"
        env:
        - {name: REGION, value: "${cluster.labels.region}"}
"""

CONFIG = """
apiVersion: v1
kind: ConfigMap
metadata:
  name: urls
  namespace: shop
  annotations: {fanout.dev/placement: env=prod}
data: {PUBLIC_URL: "https://${cluster.values.domain}/shop"}
"""

FEDERATED = """
apiVersion: types.kubefed.io/v1beta1
kind: FederatedService
metadata: {name: web, namespace: shop}
spec:
  template:
    spec:
      selector: {app: web}
      ports: [{port: 80}]
  placement:
    clusterSelector: {}
  overrides:
  - clusterName: aws-east
    clusterOverrides:
    - {path: /spec/type, value: LoadBalancer, op: add}
"""

REPLICAS = """
apiVersion: fanout.dev/v1alpha1
kind: Override
metadata: {name: prod-replicas}
spec:
  clusters: {clusterSelector: {matchLabels: {env: prod}}}
  resources: [{kind: Deployment, name: web, namespace: shop}]
  patch:
  - {op: replace, path: /spec/replicas, value: "${cluster.values.replicas}"}
"""

FANOUT_YAML = """
apiVersion: fanout.dev/v1alpha1
kind: Config
templates: templates
"""


def shop_root(path: Path) -> Path:
    """Three clusters, templates of each format, an override (also the root of test_trusted_base and
    test_snapshot, which hold the fast paths to the same edits)."""
    return write_tree(
        path,
        {
            "fanout.yaml": FANOUT_YAML,
            "clusters/all.yaml": CLUSTERS,
            "templates/web.yaml": WEB,
            "templates/config.yaml": CONFIG,
            "templates/federated.yaml": FEDERATED,
            "overrides/replicas.yaml": REPLICAS,
        },
    )


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return shop_root(tmp_path / "src")


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _cold(invoke: Invoke, root: Path, tmp_path: Path, name: str) -> dict[str, bytes]:
    out = tmp_path / f"cold-{name}"
    result = invoke("render", str(root), "--output-dir", str(out), "--no-cache", "--jobs", "1")
    assert result.exit_code == 0, result.output
    return read_tree(out)


EDITS: dict[str, Callable[[Path], None]] = {
    "cluster label": lambda r: _edit(r / "clusters/all.yaml", "region: us-east-1", "region: us-east-2"),
    "cluster value": lambda r: _edit(r / "clusters/all.yaml", "west.example.com", "west.example.org"),
    "cluster value used by no template": lambda r: _edit(
        r / "clusters/all.yaml", "replicas: 1}", "replicas: 2}"
    ),
    "template": lambda r: _edit(r / "templates/web.yaml", "web:1", "web:2"),
    "template placement": lambda r: _edit(r / "templates/config.yaml", "env=prod", "env=dev"),
    "inline override": lambda r: _edit(r / "templates/federated.yaml", "LoadBalancer", "NodePort"),
    "override": lambda r: _edit(r / "overrides/replicas.yaml", "env: prod", "cloud: aws"),
    "fanout.yaml": lambda r: (
        shutil.copytree(r / "templates", r / "templates-v2"),
        _edit(r / "templates-v2/web.yaml", "web:1", "web:3"),
        _edit(r / "fanout.yaml", "templates: templates", "templates: templates-v2"),
    ),
    "new cluster file": lambda r: write_tree(
        r,
        {
            "clusters/more.yaml": """
            apiVersion: fanout.dev/v1alpha1
            kind: Cluster
            metadata: {name: aws-west, labels: {cloud: aws, env: prod, region: us-west-2}}
            spec: {values: {domain: aws-west.example.com, replicas: 5}}
            """
        },
    ),
    "removed cluster": lambda r: _edit(
        r / "clusters/all.yaml", CLUSTERS.strip().rsplit("---", 1)[1], "\n# gcp-dev is gone\n{}\n"
    ),
    "new template file": lambda r: write_tree(
        r,
        {
            "templates/sa.yaml": "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: bot, namespace: shop}\n"
        },
    ),
    "removed template file": lambda r: (r / "templates/config.yaml").unlink(),
    "renamed template file": lambda r: (r / "templates/web.yaml").rename(r / "templates/deployment.yaml"),
    "new override file": lambda r: write_tree(
        r,
        {
            "overrides/labels.yaml": """
            apiVersion: fanout.dev/v1alpha1
            kind: Override
            metadata: {name: team}
            spec:
              clusters: {names: [gcp-dev]}
              resources: [{kind: Service, name: web}]
              merge: {metadata: {labels: {team: shop}}}
            """
        },
    ),
    "removed override file": lambda r: (r / "overrides/replicas.yaml").unlink(),
}


@pytest.mark.parametrize("kind", sorted(EDITS))
def test_each_kind_of_edit_renders_as_a_cold_render_would(
    kind: str, root: Path, invoke: Invoke, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    first = invoke("render", str(root), "--output-dir", str(out))
    assert first.exit_code == 0, first.output
    before = read_tree(out)
    if kind == "removed cluster":  # an empty document is not a cluster: write the two that stay
        (root / "clusters/all.yaml").write_text(CLUSTERS.strip().rsplit("---", 1)[0], encoding="utf-8")
    else:
        EDITS[kind](root)

    again = invoke("render", str(root), "--output-dir", str(out))
    assert again.exit_code == 0, again.output
    assert read_tree(out) == _cold(invoke, root, tmp_path, "after")
    if kind != "cluster value used by no template":
        assert read_tree(out) != before  # every other edit changes some output
    check = invoke("render", str(root), "--output-dir", str(out), "--check")
    assert check.exit_code == 0, check.output


def test_unchanged_clusters_are_not_rendered_again(root: Path, invoke: Invoke, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert invoke("render", str(root), "--output-dir", str(out)).exit_code == 0
    _edit(root / "clusters/all.yaml", "dev.example.com", "dev.example.org")  # only gcp-dev's objects change
    result = invoke("render", str(root), "--output-dir", str(out))
    assert "(2 clusters unchanged since the last render, not rendered again)" in result.stdout
    assert read_tree(out) == _cold(invoke, root, tmp_path, "after")
    nothing = invoke("render", str(root), "--output-dir", str(out))
    assert "0 added, 0 changed, 0 removed" in nothing.stdout
    assert "(3 clusters unchanged since the last render" in nothing.stdout


@pytest.mark.parametrize("how", ["append", "same size", "same size, mtime restored", "deleted"])
def test_a_hand_edited_output_file_is_detected_and_repaired(
    how: str, root: Path, invoke: Invoke, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    assert invoke("render", str(root), "--output-dir", str(out)).exit_code == 0
    time.sleep(2 * RACY_NS / 1e9)
    # A second render that saves the state again, well after aws-east's files were written: from now
    # on, their stat alone vouches for them.
    _edit(root / "clusters/all.yaml", "dev.example.com", "dev.example.org")
    assert invoke("render", str(root), "--output-dir", str(out)).exit_code == 0
    target = out / "aws-east/shop/deployment.apps_web.yaml"
    state = load_state(out, code_digest())
    assert state.trusted(state.clusters["aws-east"].files["shop/deployment.apps_web.yaml"], target.stat())

    expected = read_tree(out)
    original = target.read_bytes()
    stat = target.stat()
    if how == "append":
        target.write_bytes(original + b"# edited\n")
    elif how == "deleted":
        target.unlink()
    else:  # in place, the same length: only the content (and the ctime) tells
        target.write_bytes(original.replace(b"web:1", b"web:9"))
        if how == "same size, mtime restored":
            os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    check = invoke("render", str(root), "--output-dir", str(out), "--check")
    assert check.exit_code == 3
    assert "aws-east/shop/deployment.apps_web.yaml" in check.stdout
    repaired = invoke("render", str(root), "--output-dir", str(out))
    assert repaired.exit_code == 0
    assert "1 changed" in repaired.stdout or "1 added" in repaired.stdout
    assert read_tree(out) == expected


def test_an_edit_right_after_a_render_is_seen(root: Path, invoke: Invoke, tmp_path: Path) -> None:
    """Within the same timestamp tick as the render, stat cannot tell: such files are read."""
    out = tmp_path / "out"
    assert invoke("render", str(root), "--output-dir", str(out)).exit_code == 0
    target = out / "gcp-dev/shop/deployment.apps_web.yaml"
    target.write_bytes(target.read_bytes().replace(b"web:1", b"web:0"))
    assert invoke("render", str(root), "--output-dir", str(out), "--check").exit_code == 3


def test_check_reports_stale_output_after_an_input_edit(root: Path, invoke: Invoke, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert invoke("render", str(root), "--output-dir", str(out)).exit_code == 0
    assert invoke("render", str(root), "--output-dir", str(out), "--check").exit_code == 0
    _edit(root / "templates/web.yaml", "web:1", "web:2")
    stale = invoke("render", str(root), "--output-dir", str(out), "--check")
    assert stale.exit_code == 3
    assert "3 files would change" in stale.stdout


def test_a_damaged_or_foreign_state_file_is_ignored(root: Path, invoke: Invoke, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert invoke("render", str(root), "--output-dir", str(out)).exit_code == 0
    state = state_path(out)
    assert state.is_file() and state.is_relative_to(cache_dir())
    assert load_state(out, code_digest()).clusters
    assert load_state(out, b"another fanout") is EMPTY  # any change to fanout invalidates the state
    assert load_state(tmp_path / "elsewhere", code_digest()) is EMPTY

    state.write_bytes(state.read_bytes()[:-10] + b"0123456789")
    assert load_state(out, code_digest()) is EMPTY
    _edit(root / "templates/web.yaml", "web:1", "web:2")
    result = invoke("render", str(root), "--output-dir", str(out))
    assert "not rendered again" not in result.stdout
    assert read_tree(out) == _cold(invoke, root, tmp_path, "after")


def test_no_cache_neither_reads_nor_writes_the_state(root: Path, invoke: Invoke, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert invoke("render", str(root), "--output-dir", str(out), "--no-cache").exit_code == 0
    assert not state_path(out).exists()
    assert invoke("render", str(root), "--output-dir", str(out)).exit_code == 0
    again = invoke("render", str(root), "--output-dir", str(out), "--no-cache")
    assert "not rendered again" not in again.stdout


def test_the_output_folder_holds_only_rendered_files(root: Path, invoke: Invoke, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert invoke("render", str(root), "--output-dir", str(out)).exit_code == 0
    files = read_tree(out)
    assert MARKER in files
    assert all(path == MARKER or path.endswith(".yaml") for path in files)  # the cache lives elsewhere


KUBEFED_EDITS: dict[str, Callable[[Path], None]] = {
    "replica scheduling": lambda r: _edit(
        r / "templates/replica-scheduling.yaml", "totalReplicas: 20", "totalReplicas: 9"
    ),
    "a cluster joins the schedule": lambda r: write_tree(
        r,
        {
            "clusters/aws-us-west-2.yaml": """
            apiVersion: core.kubefed.io/v1beta1
            kind: KubeFedCluster
            metadata:
              name: aws-us-west-2
              namespace: kube-federation-system
              labels: {cloud: aws, region: us-west-2, env: prod}
            spec:
              apiEndpoint: https://10.0.0.9
              secretRef: {name: aws-us-west-2-token}
            """
        },
    ),
    # With namespacePlacement: kubefed, the namespace's placement narrows every object inside it.
    "namespace placement": lambda r: _edit(r / "templates/namespace.yaml", "env: prod", "cloud: aws"),
}


@pytest.mark.parametrize("kind", sorted(KUBEFED_EDITS))
def test_kubefed_inputs_that_reach_across_clusters(kind: str, invoke: Invoke, tmp_path: Path) -> None:
    """Replica scheduling makes one cluster's output depend on the others: the cache must follow."""
    root = tmp_path / "kubefed"
    shutil.copytree(ROOT / "examples" / "kubefed", root, ignore=shutil.ignore_patterns("rendered"))
    out = tmp_path / "out"
    assert invoke("render", str(root), "--output-dir", str(out)).exit_code == 0
    before = read_tree(out)
    KUBEFED_EDITS[kind](root)
    again = invoke("render", str(root), "--output-dir", str(out))
    assert again.exit_code == 0, again.output
    assert read_tree(out) == _cold(invoke, root, tmp_path, "after") != before


def test_the_code_digest_reads_every_file_of_the_package_and_its_schemas() -> None:
    from fanout.core.schemas import schema_dir
    from fanout.output.cache import _package_files

    package = ROOT / "fanout"
    read = {p.resolve() for p in _package_files()}
    modules = {p.resolve() for p in package.rglob("*.py") if "__pycache__" not in p.parts}
    assert modules <= read
    assert {p.resolve() for p in schema_dir().glob("*.schema.json")} <= read
    for far in ("formats/helm.py", "render/emit.py", "core/model.py", "__init__.py", "kube/kinds.py"):
        assert (package / far).resolve() in read


def test_a_fanout_changed_anywhere_renders_again_rather_than_trust_the_cache(
    root: Path, tmp_path: Path
) -> None:
    """The render state, the no-op snapshot and the input memo are keyed by fanout's code: a fanout whose
    rendering changed outside ``fanout/output`` (as an upgrade does) must not take their word. It did: the
    digest read only the folder its module moved into."""
    import subprocess
    import sys

    copy = tmp_path / "copy"
    shutil.copytree(ROOT / "fanout", copy / "fanout", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "schemas", copy / "schemas")
    env = {**os.environ, "PYTHONPATH": str(copy), "FANOUT_CACHE_DIR": str(tmp_path / "cache")}
    out = tmp_path / "out"

    def render(*extra: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "fanout", "render", str(root), "--output-dir", str(out), *extra]
        # (cwd: ``python -m`` puts the current folder before PYTHONPATH, and pytest runs in the checkout)
        return subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, check=False)

    assert (
        "copy"
        in subprocess.run(
            [sys.executable, "-c", "import fanout; print(fanout.__file__)"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )

    assert render().returncode == 0
    assert "not rendered again" in render().stdout  # the cache serves an unchanged fanout
    emit = copy / "fanout/render/emit.py"
    emit.write_text(emit.read_text() + "\n# a fanout that renders differently\n")
    again = render()
    assert again.returncode == 0, again.stderr
    assert "not rendered again" not in again.stdout
    assert "0 added, 0 changed, 0 removed" in again.stdout


def test_a_location_counts_by_its_file_not_its_line() -> None:
    from fanout.core.errors import Location
    from fanout.output.cache import fingerprint

    assert fingerprint(Location("templates/a.yaml", 3, 1)) == fingerprint(Location("templates/a.yaml", 9, 5))
    assert fingerprint(Location("templates/a.yaml")) != fingerprint(Location("templates/b.yaml"))


# --- packed records ------------------------------------------------------------------------------------


def _digest(n: int) -> str:
    return hashlib.sha256(str(n).encode()).hexdigest()


def test_a_cluster_record_is_packed_and_reads_as_the_records_it_was_made_from() -> None:
    files = {f"ns/{n}.yaml": (100 + n, -(10**18) + n, 2**62 + n, n, _digest(n)) for n in range(5)}
    keys = {f"ns/{n}.yaml": bytes([n]) * KEY_BYTES for n in range(4)}  # the last file has none
    record = ClusterRecord("inputs", files, keys)
    assert isinstance(record.files, PackedFiles) and isinstance(record.keys, PackedKeys)
    assert record.files == files and files == record.files  # both ways round, as mappings
    assert dict(record.files.items()) == files and list(record.files.values()) == list(files.values())
    assert list(record.files) == list(files) and len(record.files) == 5 and record.objects == 4
    assert record.files["ns/3.yaml"] == files["ns/3.yaml"] and record.files.get("ns/9.yaml") is None
    assert "ns/4.yaml" in record.files and "ns/9.yaml" not in record.files and 3 not in record.files
    assert dict(record.keys.items()) == keys and record.keys.get("ns/4.yaml") is None
    assert record == ClusterRecord("inputs", dict(files), dict(keys))
    assert record.files != {**files, "ns/0.yaml": (0, 0, 0, 0, _digest(0))}
    assert ClusterRecord("inputs", record.files).files is record.files  # packed once


@pytest.mark.parametrize(
    "digest",
    [
        "d1",  # not SHA-256
        _digest(1).upper(),  # capitals: reading it back packed would change it
        _digest(1)[:62] + " 1",  # a space, which fromhex skips
        None,
    ],
)
def test_records_that_do_not_pack_stay_as_they_are(digest: object) -> None:
    files = {"a.yaml": (1, 2, 3, 4, _digest(0)), "b.yaml": (1, 2, 3, 5, digest)}
    record = ClusterRecord("inputs", files)  # type: ignore[arg-type]  # (the None case)
    assert record.files is files


def test_records_beyond_64_bits_stay_as_they_are() -> None:
    files = {"a.yaml": (1, 2, 3, 2**64 - 1, _digest(0))}  # an inode number some file systems give
    assert ClusterRecord("inputs", files).files is files
    keys = {"a.yaml": b"short"}
    assert ClusterRecord("inputs", {}, keys).keys is keys


def test_packed_and_unpacked_records_survive_the_state_file(tmp_path: Path) -> None:
    out = tmp_path / "out"
    packed = ClusterRecord("i", {"a.yaml": (1, 2, 3, 4, _digest(1))}, {"a.yaml": b"k" * KEY_BYTES})
    loose = ClusterRecord("j", {"a.yaml": (1, 2, 3, 2**64 - 1, _digest(2))})
    save_state(out, b"code", {"packed": packed, "loose": loose}, tmp_path / "cache", marker="m")
    state = load_state(out, b"code", tmp_path / "cache")
    assert state.clusters == {"packed": packed, "loose": loose} and state.marker == "m"
    assert isinstance(state.clusters["packed"].files, PackedFiles)
    assert not isinstance(state.clusters["loose"].files, PackedFiles)


def test_a_record_beyond_64_bits_leaves_no_stat_index_rather_than_fail(tmp_path: Path) -> None:
    from fanout.output import statindex

    out = tmp_path / "out"
    loose = ClusterRecord("j", {"a.yaml": (1, 2, 3, 2**64 - 1, _digest(2))})
    statindex.save(out, b"code", "m", (1, 2, 3, 4), {"loose": loose}, tmp_path / "cache")
    assert not statindex.index_path(out, tmp_path / "cache").exists()
    statindex.save(out, b"code", "m", (1, 2, 3, 4), {"packed": ClusterRecord("i", {})}, tmp_path / "cache")
    assert statindex.index_path(out, tmp_path / "cache").exists()


def test_a_render_saves_packed_records_and_reads_its_marker_by_cluster(
    root: Path, invoke: Invoke, tmp_path: Path
) -> None:
    """What keeps a large fleet's re-render small holds for a real render: every record the state loads is
    packed, with its object keys, and the marker parses into its cluster folders."""
    from fanout.output.folder import Listing, read_marker

    out = tmp_path / "out"
    assert invoke("render", str(root), "--output-dir", str(out)).exit_code == 0
    state = load_state(out, code_digest())
    assert state.clusters and all(isinstance(r.files, PackedFiles) for r in state.clusters.values())
    assert all(isinstance(r.keys, PackedKeys) and len(r.keys) == r.objects for r in state.clusters.values())
    marker = read_marker(out)
    assert marker is not None and isinstance(marker.files, Listing)
    assert set(marker.files.clusters) == set(state.clusters)
    for name, record in state.clusters.items():
        assert marker.files.clusters[name] == {relative: f[4] for relative, f in record.files.items()}


_SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8)
_PLAIN_DATA = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=4).map(tuple)
        | st.dictionaries(st.text(max_size=6) | st.integers(), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(_PLAIN_DATA)
def test_the_fast_path_for_parsed_yaml_writes_what_the_general_branches_write(value: object) -> None:
    """The markers' committed digests depend on this text: the exact-type fast path must not change it."""
    fast: list[str] = []
    general: list[str] = []
    _encode(value, fast)
    _encode_general(value, general)
    assert fast == general


def _encode_general(value: object, out: list[str]) -> None:
    """``_encode`` with its fast path left out at every level (what every fanout before it wrote)."""
    if type(value) is dict:
        out.append(f"M{len(value)}{{")
        for key, item in value.items():
            _encode_general(key, out)
            _encode_general(item, out)
        out.append("}")
    elif type(value) in (list, tuple):
        assert isinstance(value, (list, tuple))
        out.append(f"L{type(value).__qualname__}{len(value)}[")
        for item in value:
            _encode_general(item, out)
        out.append("]")
    else:
        _encode_other(value, out)


@pytest.mark.parametrize("cached", [True, False], ids=["state", "no-state"])
def test_files_that_leave_are_removed_with_or_without_the_state(
    cached: bool, root: Path, invoke: Invoke, tmp_path: Path
) -> None:
    """Without the state (``--no-cache``, or a marker the state was not saved with) the files that leave
    are found cluster by cluster from the parsed marker; with it, from the state's records: the same
    removals. Without it, an entry outside every cluster folder (a marker edited by hand, naming a file
    that holds what it says) goes too."""
    out = tmp_path / "out"
    assert invoke("render", str(root), "--output-dir", str(out)).exit_code == 0
    stray = out / "stray.yaml"
    if not cached:
        marker = json.loads((out / MARKER).read_text())
        stray.write_text("kind: Stray\n")
        marker["files"]["stray.yaml"] = hashlib.sha256(stray.read_bytes()).hexdigest()
        (out / MARKER).write_text(json.dumps(marker))
    (root / "templates/config.yaml").unlink()  # ConfigMap urls leaves the prod clusters
    _edit(root / "clusters/all.yaml", "name: gcp-dev", "name: gcp-dev2")  # a cluster leaves, one comes
    extra = () if cached else ("--no-cache",)
    result = invoke("render", str(root), "--output-dir", str(out), *extra)
    assert result.exit_code == 0, result.output
    # Two ConfigMaps, gcp-dev's three files, and the stray.
    assert f"{5 if cached else 6} removed" in result.stdout
    assert not stray.exists()
    assert read_tree(out) == _cold(invoke, root, tmp_path, "after")
