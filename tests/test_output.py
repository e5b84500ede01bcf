"""The output folder: deterministic, incremental, and never touching what fanout did not write."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import Invoke, read_tree, write_tree
from hypothesis import given, settings
from hypothesis import strategies as st

from fanout.core.errors import FanoutError
from fanout.output.folder import (
    MARKER,
    Listing,
    _Folder,
    by_cluster,
    cluster_entries,
    dump_indented,
    marker_content,
    marker_of_clusters,
    parse_marker,
    safe_path,
    spliced_marker,
    with_pending,
)


def test_rendering_twice_is_byte_identical_and_writes_nothing(
    source: Path, invoke: Invoke, tmp_path: Path
) -> None:
    first = invoke("render", str(source), "--output-dir", str(tmp_path / "a"))
    assert first.exit_code == 0
    second = invoke("render", str(source), "--output-dir", str(tmp_path / "b"))
    assert read_tree(tmp_path / "a") == read_tree(tmp_path / "b")
    again = invoke("render", str(source), "--output-dir", str(tmp_path / "a"))
    assert "0 added, 0 changed, 0 removed, 6 unchanged" in again.stdout
    assert second.exit_code == again.exit_code == 0


def test_layout_and_marker(source: Path, invoke: Invoke) -> None:
    assert invoke("render", str(source)).exit_code == 0
    out = source / "rendered"
    files = sorted(read_tree(out))
    assert files == [
        MARKER,
        "aws-east/kustomization.yaml",
        "aws-east/shop/deployment.apps_web.yaml",
        "azure-west/kustomization.yaml",
        "azure-west/shop/deployment.apps_web.yaml",
        "gcp-dev/kustomization.yaml",
        "gcp-dev/shop/deployment.apps_web.yaml",
    ]
    marker = json.loads((out / MARKER).read_text())
    assert list(marker["files"]) == files[1:]
    assert (
        marker["files"]["aws-east/kustomization.yaml"]
        == hashlib.sha256((out / "aws-east/kustomization.yaml").read_bytes()).hexdigest()
    )
    first_line = (out / "aws-east/shop/deployment.apps_web.yaml").read_text().splitlines()[0]
    assert first_line.startswith("# Rendered by fanout from templates/web.yaml.")


def test_files_of_removed_templates_and_clusters_are_removed(source: Path, invoke: Invoke) -> None:
    write_tree(
        source,
        {"templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: other}\n"},
    )
    assert invoke("render", str(source)).exit_code == 0
    out = source / "rendered"
    assert (out / "gcp-dev/other/configmap_x.yaml").is_file()

    (source / "templates/cm.yaml").unlink()
    result = invoke("render", str(source))
    assert result.exit_code == 0
    assert "3 removed" in result.stdout
    assert not (out / "gcp-dev/other").exists()  # emptied folders go too

    text = (source / "clusters/all.yaml").read_text()
    (source / "clusters/all.yaml").write_text(text.split("---")[0])  # keep only aws-east
    assert invoke("render", str(source)).exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "aws-east"]


def test_files_fanout_did_not_write_are_kept(source: Path, invoke: Invoke) -> None:
    assert invoke("render", str(source)).exit_code == 0
    out = source / "rendered"
    notes = out / "aws-east" / "shop" / "NOTES.md"
    notes.write_text("hand-written")
    write_tree(
        source,
        {"templates/web.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: shop}\n"},
    )
    assert invoke("render", str(source)).exit_code == 0
    assert notes.read_text() == "hand-written"
    assert not (out / "aws-east/shop/deployment.apps_web.yaml").exists()


def test_refuses_a_non_empty_folder_it_did_not_create(source: Path, invoke: Invoke, tmp_path: Path) -> None:
    foreign = tmp_path / "foreign"
    write_tree(foreign, {"important.txt": "keep me"})
    result = invoke("render", str(source), "--output-dir", str(foreign))
    assert result.exit_code == 1
    assert "it is not empty and fanout did not create it" in result.stderr
    assert read_tree(foreign) == {"important.txt": b"keep me"}


def test_an_empty_existing_folder_is_fine(source: Path, invoke: Invoke, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    assert invoke("render", str(source), "--output-dir", str(tmp_path / "empty")).exit_code == 0


def test_refuses_to_overwrite_a_file_it_did_not_write(source: Path, invoke: Invoke) -> None:
    assert invoke("render", str(source)).exit_code == 0
    out = source / "rendered"
    write_tree(
        source,
        {"templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: shop}\n"},
    )
    (out / "aws-east/shop/configmap_x.yaml").write_text("mine")
    before = read_tree(out)
    result = invoke("render", str(source))
    assert result.exit_code == 1
    assert "configmap_x.yaml: fanout did not write it" in result.stderr
    assert read_tree(out) == before


def test_output_that_is_a_file(source: Path, invoke: Invoke, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    result = invoke("render", str(source), "--output-dir", str(tmp_path / "file"))
    assert result.exit_code == 1
    assert "exists and is not a folder" in result.stderr


def test_a_broken_marker_is_reported(source: Path, invoke: Invoke) -> None:
    assert invoke("render", str(source)).exit_code == 0
    (source / "rendered" / MARKER).write_text("{not json")
    result = invoke("render", str(source))
    assert result.exit_code == 1
    assert "not a fanout marker file" in result.stderr


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda m: m.update(files=["a/b.yaml", 3]), "files is not a list of paths"),
        (lambda m: m.update(files={"a/b.yaml": 3}), "files is not a list of paths"),
        (lambda m: m.update(files="a/b.yaml"), "files is not a list of paths"),
        (lambda m: m.update(pending=[1]), "pending is not a list of paths"),
        (lambda m: m.update(clusters=["a"]), "clusters is not a map of cluster names to digests"),
        (lambda m: m.update(clusters={"a": 1}), "clusters is not a map of cluster names to digests"),
        (lambda m: m.update(fanout=1), "fanout is not a version"),
    ],
    ids=[
        "a path not text",
        "a digest not text",
        "files a string",
        "pending",
        "clusters a list",
        "a cluster digest not text",
        "fanout release not text",
    ],
)
def test_a_marker_of_the_wrong_shape_is_reported(change: Any, why: str, source: Path, invoke: Invoke) -> None:
    """The marker is input like any other: every field is checked before fanout believes it."""
    assert invoke("render", str(source)).exit_code == 0
    marker = source / "rendered" / MARKER
    data = json.loads(marker.read_text(encoding="utf-8"))
    change(data)
    marker.write_text(json.dumps(data), encoding="utf-8")
    for args in (["render", str(source)], ["render", str(source), "--check"]):
        result = invoke(*args)
        assert result.exit_code == 1, result.output
        assert f"not a fanout marker file ({why})" in result.stderr
        assert "Traceback" not in result.output


def test_paths_outside_the_output_folder_are_refused(tmp_path: Path) -> None:
    guard = _Folder(tmp_path / "out")
    for path in ("../escape.yaml", "/etc/passwd", "a/../../b.yaml", ""):
        with pytest.raises(FanoutError, match="refusing to write outside the output folder"):
            guard.path(path)


def test_the_guard_judges_each_folder_of_a_path_by_its_links(tmp_path: Path) -> None:
    """The guard lstats each folder once, from its parent's verdict: a link anywhere along a path is followed
    (inside the output folder it is fine; out of it, everything below is refused), a folder not made yet is
    where its name says."""
    out = tmp_path / "out"
    (out / "real" / "deep").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (out / "inward").symlink_to(out / "real")
    (out / "real" / "away").symlink_to(outside)
    (out / "real" / "deep" / "up").symlink_to("../../..")  # the output folder's parent
    (out / "loop").symlink_to(out / "loop")
    guard = _Folder(out)
    for fine in ("c/ns/a.yaml", "real/deep/a.yaml", "inward/deep/a.yaml", "inward/new/a.yaml", "a.yaml"):
        assert guard.path(fine) == out.resolve() / fine
    for refused in ("real/away/a.yaml", "inward/away/x/a.yaml", "real/deep/up/a.yaml", "loop/a.yaml"):
        for _ in range(2):  # the second time from the memo
            with pytest.raises(FanoutError, match="refusing to write outside the output folder"):
                guard.path(refused)


def test_cluster_and_selector_replace_only_those_folders(source: Path, invoke: Invoke) -> None:
    assert invoke("render", str(source)).exit_code == 0
    out = source / "rendered"
    before = read_tree(out)
    web = source / "templates/web.yaml"
    web.write_text(web.read_text().replace("web:1", "web:2"))

    result = invoke("render", str(source), "--cluster", "gcp-dev")
    assert result.exit_code == 0
    after = read_tree(out)
    assert b"web:2" in after["gcp-dev/shop/deployment.apps_web.yaml"]
    assert after["aws-east/shop/deployment.apps_web.yaml"] == before["aws-east/shop/deployment.apps_web.yaml"]
    # The other clusters' files are still fanout's, with the same content.
    listed, listed_before = json.loads(after[MARKER])["files"], json.loads(before[MARKER])["files"]
    assert set(listed) == set(listed_before)
    assert {p: d for p, d in listed.items() if not p.startswith("gcp-dev/")} == {
        p: d for p, d in listed_before.items() if not p.startswith("gcp-dev/")
    }

    assert invoke("render", str(source), "--selector", "env=prod").exit_code == 0
    assert b"web:2" in read_tree(out)["aws-east/shop/deployment.apps_web.yaml"]


def test_unknown_cluster_and_bad_selector_on_the_command_line(source: Path, invoke: Invoke) -> None:
    result = invoke("render", str(source), "--cluster", "aws-eats", "--selector", "env in (")
    assert result.exit_code == 1
    assert "--cluster: unknown cluster 'aws-eats' (did you mean 'aws-east'?)" in result.stderr
    assert "--selector: cannot parse 'env in ('" in result.stderr
    nothing = invoke("render", str(source), "--selector", "env=qa")
    assert nothing.exit_code == 1
    assert "--selector 'env=qa' matches no cluster" in nothing.stderr


def test_check_reports_stale_output_and_writes_nothing(source: Path, invoke: Invoke) -> None:
    missing = invoke("render", str(source), "--check")
    assert missing.exit_code == 3
    assert not (source / "rendered").exists()

    assert invoke("render", str(source)).exit_code == 0
    current = invoke("render", str(source), "--check")
    assert current.exit_code == 0
    assert "is up to date" in current.stdout

    out = source / "rendered"
    before = read_tree(out)
    write_tree(
        source,
        {"templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: shop}\n"},
    )
    web = source / "templates/web.yaml"
    web.write_text(web.read_text().replace("replicas: 1", "replicas: 2"))
    stale = invoke("render", str(source), "--check")
    assert stale.exit_code == 3
    assert "  + aws-east/shop/configmap_x.yaml" in stale.stdout
    assert "  ~ gcp-dev/shop/deployment.apps_web.yaml" in stale.stdout
    assert read_tree(out) == before


def test_check_notices_a_hand_edited_and_a_deleted_file(source: Path, invoke: Invoke) -> None:
    assert invoke("render", str(source)).exit_code == 0
    out = source / "rendered"
    (out / "aws-east/shop/deployment.apps_web.yaml").write_text("edited")
    (out / "gcp-dev/kustomization.yaml").unlink()
    stale = invoke("render", str(source), "--check")
    assert stale.exit_code == 3
    assert "  ~ aws-east/shop/deployment.apps_web.yaml" in stale.stdout
    assert "  + gcp-dev/kustomization.yaml" in stale.stdout


def test_fail_on_change_for_pre_commit(source: Path, invoke: Invoke) -> None:
    assert invoke("render", str(source), "--fail-on-change").exit_code == 3
    assert invoke("render", str(source), "--fail-on-change").exit_code == 0


def test_a_symlinked_folder_pointing_outside_is_refused(source: Path, invoke: Invoke, tmp_path: Path) -> None:
    assert invoke("render", str(source)).exit_code == 0
    out = source / "rendered"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shop = out / "aws-east" / "shop"
    for child in shop.iterdir():
        child.unlink()
    shop.rmdir()
    shop.symlink_to(elsewhere)
    result = invoke("render", str(source))
    assert result.exit_code == 1
    assert (
        "refusing to write outside the output folder: aws-east/shop/deployment.apps_web.yaml" in result.stderr
    )
    assert list(elsewhere.iterdir()) == []


_TEXT = st.text(st.characters(codec="utf-8"), max_size=12)
_PLAIN = st.none() | st.integers() | _TEXT


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        _TEXT, _PLAIN | st.dictionaries(_TEXT, _PLAIN, max_size=4) | st.lists(_PLAIN, max_size=4), max_size=5
    )
)
def test_the_marker_writer_matches_the_json_module(document: dict[str, object]) -> None:
    """The marker's fast writer prints what ``json.dumps(indent=1)`` prints, character for character."""
    assert dump_indented(document) == json.dumps(document, indent=1)  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(_TEXT, st.none() | _TEXT, max_size=6),
    st.lists(_TEXT, min_size=1, max_size=4),
    st.dictionaries(_TEXT, _TEXT, max_size=3),
)
def test_the_journal_is_the_marker_with_its_pending_files(
    files: dict[str, str | None], pending: list[str], clusters: dict[str, str]
) -> None:
    """A render's journal (the new marker plus its temporary files) is spliced, not encoded again."""
    marker = marker_content(files, clusters=clusters)
    assert with_pending(marker, pending) == marker_content(files, pending, clusters)
    with pytest.raises(ValueError):
        with_pending(marker, [])


_PATHS = st.lists(
    st.text(alphabet="ab./\\\0", max_size=6) | st.sampled_from([MARKER, "a/.", "./a", "a/..", "..", "a//b"]),
    max_size=6,
)


@settings(max_examples=400, deadline=None)
@given(_PATHS)
def test_a_marker_keeps_exactly_the_safe_paths(paths: list[str]) -> None:
    """The substring scans that vet 100,000 entries at once keep what ``safe_path`` one by one keeps."""
    listed = {path: None for path in [*paths, "c/ns/a.yaml"]}
    marker = parse_marker(json.dumps({"files": listed}).encode(), "m")
    # (Kept by cluster folder: the order of the entries is the marker's within each folder.)
    assert sorted(marker.files) == sorted(p for p in listed if safe_path(p) and p != MARKER)
    assert len(marker.warnings) == sum(1 for p in listed if not safe_path(p))


_LISTED = st.dictionaries(
    st.text(alphabet="ab/.", min_size=1, max_size=5), st.sampled_from([None, "d1", "d2", "d3"]), max_size=12
)


@settings(max_examples=300, deadline=None)
@given(_LISTED, st.text(alphabet="ab/.", max_size=5))
def test_a_listing_reads_as_the_flat_map_it_was_made_from(listed: dict[str, str | None], probe: str) -> None:
    listing = Listing.of(listed)
    assert listing == listed and listed == listing and dict(listing.items()) == listed
    assert sorted(listing) == sorted(listed) and len(listing) == len(listed)
    assert (probe in listing) == (probe in listed) and listing.get(probe) == listed.get(probe)
    assert 7 not in listing
    assert by_cluster(listing) == by_cluster(listed)
    assert Listing.of(listing) is listing and listing == Listing.of(dict(listed))
    assert listing.keys() - {probe} == listed.keys() - {probe}


_NAMES = st.text(alphabet="ab-0.", min_size=1, max_size=4).filter(lambda n: n not in (".", ".."))
_FILES = st.dictionaries(
    st.text(alphabet="xy/_é.", min_size=1, max_size=5).filter(
        lambda p: "//" not in p and not p.startswith("/")
    ),
    st.one_of(st.none(), st.sampled_from(["d1", "d2"])),
    min_size=1,
    max_size=4,
)


@settings(max_examples=300, deadline=None)
@given(
    old=st.dictionaries(_NAMES, _FILES, max_size=5),
    new=st.dictionaries(_NAMES, st.one_of(st.none(), _FILES), max_size=5),
    digests=st.dictionaries(_NAMES, st.sampled_from(["i1", "i2"]), max_size=6),
)
def test_a_spliced_marker_is_the_marker_encoded_afresh(
    old: dict[str, dict[str, str | None]],
    new: dict[str, dict[str, str | None] | None],
    digests: dict[str, str],
) -> None:
    """Entries copied from the old marker give the very bytes ``marker_content`` gives; None stands for a
    cluster whose entries the old marker has (the others are new, or listed afresh)."""
    new = {name: files if files is not None or name not in old else None for name, files in new.items()}
    new = {name: files for name, files in new.items() if files is not None or name in old}
    flat = lambda listing: {f"{n}/{r}": d for n, files in listing.items() for r, d in files.items()}  # noqa: E731
    before = marker_content(flat(old), clusters=digests)
    listing = {name: old[name] if files is None else files for name, files in new.items()}
    spliced = spliced_marker(before, old, new, digests)
    if spliced is None:  # allowed only where there is nothing to copy: the caller encodes afresh
        assert not old
    else:
        assert spliced == marker_content(flat(listing), clusters=digests)


@settings(max_examples=300, deadline=None)
@given(
    clusters=st.dictionaries(_NAMES, _FILES, max_size=6),
    digests=st.dictionaries(_NAMES, st.sampled_from(["i1", "i2"]), max_size=6),
)
def test_a_marker_encoded_cluster_by_cluster_is_the_marker_encoded_at_once(
    clusters: dict[str, dict[str, str | None]], digests: dict[str, str]
) -> None:
    """A first render encodes each cluster's entries as the cluster arrives (in any order) and joins them
    at the end: the very bytes ``marker_content`` gives for the whole listing."""
    parts = {name: cluster_entries(name, files) for name, files in reversed(clusters.items())}
    flat = {f"{n}/{r}": d for n, files in clusters.items() for r, d in files.items()}
    assert marker_of_clusters(parts, digests) == marker_content(flat, clusters=digests)


_RBAC_NAMES = st.text(st.characters(codec="utf-8", exclude_characters="/%"), min_size=1).filter(
    lambda n: n not in (".", "..")
)


@settings(max_examples=300, deadline=None)
@given(_RBAC_NAMES, _RBAC_NAMES)
def test_file_names_of_rbac_names_stay_distinct_and_portable(first: str, second: str) -> None:
    """A Role's name may hold any character but "/" and "%": its file name must still be one safe path part,
    distinct from another name's even where the disk ignores case (macOS, Windows), and checkable-out by
    Windows' git (no ':' and the like)."""
    from fanout.core.model import ObjectId
    from fanout.render.emit import object_path

    def path(name: str) -> str:
        return object_path(ObjectId("rbac.authorization.k8s.io", "ClusterRole", "", name))

    a = path(first)
    assert a.startswith("_cluster/clusterrole.rbac.authorization.k8s.io_") and a.endswith(".yaml")
    assert a.count("/") == 1 and all(c in "abcdefghijklmnopqrstuvwxyz0123456789._-%/ABCDEF~" for c in a)
    if first != second:
        assert a.lower() != path(second).lower()


@settings(max_examples=200, deadline=None)
@given(
    st.text(st.characters(codec="utf-8", exclude_characters="/%"), min_size=200, max_size=253),
    st.integers(min_value=0, max_value=252),
)
def test_every_file_name_and_its_staged_name_fit_a_file_system(name: str, cut: int) -> None:
    """An object name may have 253 characters (a Role's, any of them), up to 4 bytes each as a file name's
    %XX: fanout's file and the temporary name it is staged under must each stay within 255 bytes, and two
    names that differ only after the part a long file name keeps must still get two files."""
    from fanout.core.model import ObjectId
    from fanout.output.staging import staged_path
    from fanout.render.emit import object_path

    def path(name: str) -> str:
        return object_path(ObjectId("rbac.authorization.k8s.io", "ClusterRoleBinding", "", name))

    a = path(name)
    for written in (a, staged_path("/out", "cluster", a, "0123456789ab")):
        assert len(written.rsplit("/", 1)[1].encode("utf-8")) <= 255
    cut %= len(name)
    other = name[:cut] + ("x" if name[cut] != "x" else "y") + name[cut + 1 :]
    assert path(other).lower() != a.lower()


def test_a_name_too_long_for_a_file_keeps_its_start_and_a_digest(source: Path, invoke: Invoke) -> None:
    """A 253-character ConfigMap name (Kubernetes allows it) was refused: its file name with the kind and the
    staging prefix was longer than a file system takes. It is written under a shortened name now."""
    name = ".".join(["a" * 63] * 3) + "." + "b" * 61
    write_tree(
        source,
        {
            "templates/long.yaml": f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}, namespace: shop}}\n"
        },
    )
    result = invoke("render", str(source))
    assert result.exit_code == 0, result.output
    (written,) = (source / "rendered/aws-east/shop").glob("configmap_aaa*")
    assert len(written.name) == 230 and written.name.startswith("configmap_" + "a" * 63 + ".")
    assert re.fullmatch(r"[a-z0-9._-]+~[0-9a-f]{16}\.yaml", written.name)
    assert yaml.safe_load(written.read_text())["metadata"]["name"] == name
    assert invoke("render", str(source), "--check").exit_code == 0


def test_dns_names_are_file_names_as_they_are() -> None:
    from fanout.core.model import ObjectId
    from fanout.render.emit import object_path

    assert (
        object_path(ObjectId("", "ConfigMap", "shop", "web-1.config")) == "shop/configmap_web-1.config.yaml"
    )
    assert (
        object_path(ObjectId("rbac.authorization.k8s.io", "ClusterRole", "", "system:metrics-server"))
        == "_cluster/clusterrole.rbac.authorization.k8s.io_system%3Ametrics-server.yaml"
    )
