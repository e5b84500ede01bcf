"""Publishing safely at fleet size (issue 12): no silent rollback, no lost clusters, stale branches,
objects written in process, and the files Argo CD's source hydrator and GitOps Promoter read."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import ROOT, Invoke, read_tree

from fanout.output.folder import MARKER
from tests.gitutil import (
    clone,
    commit_all,
    file_url,
    git,
    head,
    init_bare,
    init_repo,
    tree_files,
    write_files,
)

SAMPLE = ROOT / "sample-repo"
CLUSTERS = sorted(p.name for p in (SAMPLE / "rendered").iterdir() if p.is_dir())


@pytest.fixture
def platform(tmp_path: Path) -> Path:
    repo = init_repo(tmp_path / "platform")
    shutil.copytree(SAMPLE, repo / "sample-repo", ignore=shutil.ignore_patterns("rendered"))
    write_files(repo, {"README.md": "the platform team's repository\n"})
    commit_all(repo, "sample source")
    return repo


def edit(repo: Path, replicas: str) -> str:
    """A new source commit that changes the frontend's replicas (in every cluster)."""
    path = repo / "sample-repo/overrides/env/replicas.yaml"
    text = path.read_text()
    assert 'value: "${cluster.values.replicas}"' in text
    path.write_text(text.replace('value: "${cluster.values.replicas}"', f"value: {replicas}"))
    return commit_all(repo, f"replicas {replicas}")


def trailer(repo: Path, ref: str) -> str:
    return git(repo, "log", "-1", "--format=%(trailers:key=Fanout-Source-Commit,valueonly)", ref).strip()


def test_an_older_source_does_not_roll_the_branch_back(platform: Path, invoke: Invoke) -> None:
    sample = str(platform / "sample-repo")
    first = head(platform)
    second = edit(platform, "7")
    assert invoke("publish", sample, "-b", "rendered").exit_code == 0
    result = invoke("publish", sample, "-b", "rendered", "--ref", first)
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        f"branch rendered holds the output of source commit {second[:12]}, which is newer than {first[:12]}:"
        f" publishing {first[:12]} would roll it back; pass --allow-rollback to do that on purpose"
    )
    assert trailer(platform, "rendered") == second
    rolled = invoke("publish", sample, "-b", "rendered", "--ref", first, "--allow-rollback")
    assert rolled.exit_code == 0, rolled.output
    assert trailer(platform, "rendered") == first


def test_the_rollback_check_runs_again_on_a_push_retry(
    platform: Path, tmp_path: Path, invoke: Invoke
) -> None:
    """Bob publishes an older commit; Alice pushed a newer one's output first: the retry refuses."""
    remote = init_bare(tmp_path / "remote.git")
    git(platform, "remote", "add", "origin", file_url(remote))
    older = head(platform)
    git(platform, "push", "-q", "origin", "main")
    alice = clone(file_url(remote), tmp_path / "alice")
    newer = edit(alice, "9")
    git(alice, "push", "-q", "origin", "main")
    published = invoke("publish", str(alice / "sample-repo"), "-b", "rendered", "--push")
    assert published.exit_code == 0, published.output
    # Bob's clone has not fetched Alice's branch: his first push is rejected, his retry sees her output.
    result = invoke("publish", str(platform / "sample-repo"), "-b", "rendered", "--ref", older, "--push")
    assert result.exit_code == 1
    assert f"holds the output of source commit {newer[:12]}" in result.stderr
    assert trailer(remote, "rendered") == newer


def test_a_missing_shard_is_refused_not_deleted(platform: Path, tmp_path: Path, invoke: Invoke) -> None:
    sample = str(platform / "sample-repo")
    shards = tmp_path / "shards"
    for index in (1, 2):
        assert invoke("render", sample, "--shard", f"{index}/2", "--output-dir", str(shards)).exit_code == 0
    assert invoke("publish", sample, "-b", "rendered", "--from-dir", str(shards)).exit_code == 0
    before = tree_files(platform, "rendered")
    partial = tmp_path / "partial"
    assert invoke("render", sample, "--shard", "1/2", "--output-dir", str(partial)).exit_code == 0
    missing = sorted(set(CLUSTERS) - {p.name for p in partial.iterdir() if p.is_dir()})
    result = invoke("publish", sample, "-b", "rendered", "--from-dir", str(partial))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        f"--from-dir {partial} lacks {len(missing)} of the clusters to publish ({', '.join(missing)});"
        " publishing it would remove them from the branch: render every shard into it first"
    )
    assert tree_files(platform, "rendered") == before
    # The shard's own clusters, published as a subset, replace only those folders.
    shard_clusters = [p.name for p in partial.iterdir() if p.is_dir()]
    args = [a for name in shard_clusters for a in ("-c", name)]
    subset = invoke("publish", sample, "-b", "rendered", "--from-dir", str(partial), *args)
    assert subset.exit_code == 0, subset.output
    assert tree_files(platform, "rendered") == before


def test_stale_per_cluster_branches_are_listed_and_pruned(platform: Path, invoke: Invoke) -> None:
    sample = platform / "sample-repo"
    template = "environment/{cluster}-next"
    assert invoke("publish", str(sample), "--per-cluster-branch", template).exit_code == 0
    branches = git(platform, "for-each-ref", "--format=%(refname:short)", "refs/heads/environment/")
    assert sorted(branches.splitlines()) == sorted(f"environment/{c}-next" for c in CLUSTERS)
    gone = "aws-ap-southeast-1"
    clusters = sample / "clusters/aws.yaml"
    documents = clusters.read_text().split("\n---\n")
    clusters.write_text("\n---\n".join(d for d in documents if f"name: {gone}" not in d))
    commit_all(platform, "drop a cluster")
    listed = invoke("publish", str(sample), "--per-cluster-branch", template)
    assert listed.exit_code == 0, listed.output
    assert listed.stdout.splitlines()[-1] == (
        f"fanout: branches of clusters no longer rendered (delete them with --prune): environment/{gone}-next"
    )
    pruned = invoke("publish", str(sample), "--per-cluster-branch", template, "--prune")
    assert pruned.exit_code == 0, pruned.output
    assert f"environment/{gone}-next" not in git(platform, "branch", "--list", "environment/*")


def test_hydrator_metadata_and_a_note_when_nothing_changed(platform: Path, invoke: Invoke) -> None:
    sample = str(platform / "sample-repo")
    source = head(platform)
    assert invoke("publish", sample, "-b", "rendered", "--hydrator-metadata").exit_code == 0
    files = tree_files(platform, "rendered")
    root = json.loads(files["hydrator.metadata"])
    assert root["drySha"] == source
    assert root["subject"] == "sample source"
    assert "commands" not in root  # as Argo CD's top-level file: the dry commit, no commands
    cluster = json.loads(files[f"{CLUSTERS[0]}/hydrator.metadata"])
    assert set(cluster) <= {"commands", "drySha", "repoURL"}  # repoURL left out when empty (omitempty)
    assert cluster["drySha"] == source
    assert cluster["commands"] == [f"fanout render -c {CLUSTERS[0]} --output-dir rendered sample-repo"]
    assert f"git checkout {source}" in files[f"{CLUSTERS[0]}/README.md"].decode()
    # Argo CD's .gitattributes: only its own files are generated, so promotion pull requests show manifests.
    assert files[".gitattributes"] == (
        b"**/README.md linguist-generated=true\n**/hydrator.metadata linguist-generated=true"
    )
    tip = head(platform, "rendered")
    # Every hydrated commit carries a note naming its dry commit (Argo CD's AddNote).
    first = git(platform, "notes", "--ref=refs/notes/hydrator.metadata", "show", tip)
    assert json.loads(first) == {"drySha": source}
    # A new source commit that changes no manifest: no commit, a git note names the new dry commit.
    write_files(platform, {"README.md": "edited\n"})
    later = commit_all(platform, "docs only")
    result = invoke("publish", sample, "-b", "rendered", "--hydrator-metadata")
    assert result.exit_code == 0, result.output
    assert "up to date" in result.stdout
    assert head(platform, "rendered") == tip
    note = git(platform, "notes", "--ref=refs/notes/hydrator.metadata", "show", tip)
    assert json.loads(note) == {"drySha": later}


def test_hydrator_metadata_follows_argo_cds_commit_server(platform: Path, invoke: Invoke) -> None:
    """argoproj/argo-cd 37ee0097cf85: commitserver/commit/hydratorhelper.go (WriteForPaths), commit.go,
    util/hydrator/hydrator.go (GetCommitMetadata) and util/git/client.go (GetReferences)."""
    sample = str(platform / "sample-repo")
    assert invoke("publish", sample, "-b", "environment/prod", "--hydrator-metadata").exit_code == 0
    synced = head(platform, "environment/prod")
    # A dry commit with a two-line subject, a body and reference trailers (one invalid, which stays).
    path = platform / "sample-repo/clusters/aws.yaml"
    path.write_text(path.read_text().replace("replicas: 4", "replicas: 5", 1))
    message = (
        "Scale aws\nfor the sale\n\nMore pods for the weekend.\n\n"
        "Argocd-reference-commit-author: Ana Lopez <ana@example.com>\n"
        "Argocd-reference-commit-sha: abc1234\n"
        "Argocd-reference-commit-date: 2026-11-30T10:00:00Z\n"
        'Argocd-reference-commit-body: "line one\\nline two"\n'
        "Argocd-reference-commit-repourl: https://github.com/org/app\n"
        "Argocd-reference-commit-sha-extra: not a field\n"
    )
    git(platform, "add", "-A")
    git(platform, "commit", "-q", "-m", message)
    dry = head(platform)
    # GitOps Promoter's `-next` branch starts from its sync branch, so its pull request shows only the change.
    result = invoke("publish", sample, "-b", "environment/prod-next", "--hydrator-metadata")
    assert result.exit_code == 0, result.output
    tip = head(platform, "environment/prod-next")
    assert git(platform, "rev-parse", f"{tip}^") == synced
    files = tree_files(platform, "environment/prod-next")
    root = json.loads(files["hydrator.metadata"])
    assert root["subject"] == "Scale aws\nfor the sale"  # up to the first blank line
    assert root["body"] == "More pods for the weekend.\n\nArgocd-reference-commit-sha-extra: not a field\n"
    assert root["date"].endswith("Z")
    assert root["references"] == [
        {
            "commit": {
                "author": '"Ana Lopez" <ana@example.com>',
                "date": "2026-11-30T10:00:00Z",
                "body": "line one\nline two",
                "sha": "abc1234",
                "repoUrl": "https://github.com/org/app",
            }
        }
    ]
    # Only the clusters whose manifests changed get new hydrator files; the others keep theirs.
    before = tree_files(platform, "environment/prod")

    def manifests(tree: dict[str, bytes], cluster: str) -> dict[str, bytes]:
        skip = (f"{cluster}/hydrator.metadata", f"{cluster}/README.md")
        return {p: b for p, b in tree.items() if p.startswith(cluster + "/") and p not in skip}

    changed = [c for c in CLUSTERS if manifests(files, c) != manifests(before, c)]
    assert changed and len(changed) < len(CLUSTERS)
    for cluster in CLUSTERS:
        mine = json.loads(files[f"{cluster}/hydrator.metadata"])
        if cluster in changed:
            assert mine["drySha"] == dry, cluster
        else:
            assert files[f"{cluster}/hydrator.metadata"] == before[f"{cluster}/hydrator.metadata"], cluster
    note = git(platform, "notes", "--ref=refs/notes/hydrator.metadata", "show", tip)
    assert json.loads(note) == {"drySha": dry}


def test_objects_are_written_in_process_and_once(platform: Path, invoke: Invoke) -> None:
    sample = str(platform / "sample-repo")

    def loose() -> int:
        objects = platform / ".git" / "objects"
        return sum(1 for p in objects.glob("??/*"))

    assert invoke("publish", sample, "-b", "rendered").exit_code == 0
    subprocess.run(
        ["git", "fsck", "--strict", "--no-progress"], cwd=platform, check=True, capture_output=True
    )
    count = loose()
    again = invoke("publish", sample, "-b", "rendered")  # nothing changed: not one object is written
    assert again.exit_code == 0 and "up to date" in again.stdout
    assert loose() == count
    rendered = read_tree(SAMPLE / "rendered")
    assert tree_files(platform, "rendered") == {k: v for k, v in rendered.items() if k != MARKER}


@pytest.mark.parametrize("where", [("-b", "out"), ("--per-cluster-prefix", "out/")])
def test_a_folder_publishes_the_trees_its_render_publishes(
    where: tuple[str, str], platform: Path, tmp_path: Path, invoke: Invoke
) -> None:
    """``--from-dir`` reads each file when its object is made (and again to write it), one branch or one a
    cluster: the same trees as publishing the render itself."""
    sample = str(platform / "sample-repo")
    out = tmp_path / "out"
    assert invoke("render", sample, "--output-dir", str(out)).exit_code == 0
    assert invoke("publish", sample, where[0], where[1]).exit_code == 0
    rendered = git(platform, "for-each-ref", "--format=%(refname:short) %(objectname)", "refs/heads/out")
    trees = {
        line.split()[0]: git(platform, "rev-parse", f"{line.split()[0]}^{{tree}}")
        for line in rendered.splitlines()
    }
    assert trees
    for branch in trees:
        git(platform, "branch", "-D", branch)
    published = invoke("publish", sample, where[0], where[1], "--from-dir", str(out))
    assert published.exit_code == 0, published.output
    for branch, tree in trees.items():
        assert git(platform, "rev-parse", f"{branch}^{{tree}}") == tree


@pytest.mark.parametrize("files", [3, 300])  # loose objects; one pack
def test_a_file_that_changes_while_it_is_published_is_refused(files: int, tmp_path: Path) -> None:
    """Its blob was hashed from the first bytes: writing the second would leave a tree naming an object
    that is not there."""
    import git as gitpython

    from fanout.commands.publish import read_output_folder
    from fanout.core.errors import FanoutError
    from fanout.output.gittrees import ObjectWriter

    repo = init_repo(tmp_path / "repo", {"README.md": "x\n"})
    folder = tmp_path / "out"
    write_files(folder, {f"c/f{i:03d}.yaml": f"n: {i}\n" for i in range(files)})
    tree = read_output_folder(folder)
    writer = ObjectWriter(gitpython.Repo(repo))
    writer.root_tree(writer.folder(tree))
    (folder / "c/f002.yaml").write_text("n: changed\n")
    with pytest.raises(FanoutError, match=r"c/f002\.yaml changed while it was being published"):
        writer.flush()
    assert not list((repo / ".git/objects/pack").glob("*.pack"))
    (folder / "c/f002.yaml").unlink()
    with pytest.raises(FanoutError, match=r"--from-dir .*: cannot read c/f002\.yaml"):
        tree["c/f002.yaml"]
