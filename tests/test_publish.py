"""Publishing rendered output to branches: git objects only, exact trees, trailers, and racing pushes."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping
from pathlib import Path

import pytest

import fanout
from fanout.core.errors import FanoutError
from fanout.output.publish import PublishResult, publish
from tests.gitutil import (
    changed_paths,
    clone,
    commit_all,
    commit_count,
    file_url,
    git,
    head,
    init_bare,
    init_repo,
    ref_exists,
    snapshot,
    trailers,
    tree_files,
    write_files,
)


def cluster(name: str, replicas: int = 1) -> dict[str, bytes]:
    return {
        f"{name}/kustomization.yaml": b"resources:\n- _cluster/namespace_pacman.yaml\n- pacman/deploy.yaml\n",
        f"{name}/_cluster/namespace_pacman.yaml": b"kind: Namespace\nmetadata:\n  name: pacman\n",
        f"{name}/pacman/deployment.apps_pacman.yaml": f"kind: Deployment\nreplicas: {replicas}\n".encode(),
    }


def rendered(**replicas: int) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for name, count in replicas.items():
        files.update(cluster(name.replace("_", "-"), count))
    return files


BASE = rendered(aws_us_east_1=1, azure_westeurope=1, gcp_europe_west1=1)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return init_repo(tmp_path / "source", {"src/fanout.yaml": "output: rendered\n", "README.md": "source\n"})


def run(repo: Path, files: Mapping[str, bytes], **options: object) -> PublishResult:
    settings: dict[str, object] = {"branch": "rendered", "source_commit": head(repo)}
    settings.update(options)
    return publish(repo, files, **settings)  # type: ignore[arg-type]


def test_creates_the_branch_from_git_objects_and_touches_nothing(repo: Path) -> None:
    # Uncommitted changes of every kind, which publishing must neither need nor disturb.
    write_files(repo, {"src/fanout.yaml": "output: staged\n"})
    git(repo, "add", "src/fanout.yaml")
    write_files(repo, {"src/fanout.yaml": "output: unstaged\n", "untracked.txt": "x\n"})
    before = snapshot(repo)
    source = head(repo)

    result = run(repo, BASE)

    (branch,) = result.branches
    assert branch.branch == "rendered"
    assert branch.commit is not None and branch.tip == branch.commit == head(repo, "rendered")
    assert branch.previous is None
    assert branch.changed_clusters == ("aws-us-east-1", "azure-westeurope", "gcp-europe-west1")
    assert branch.pushed is False
    assert result.changed
    assert tree_files(repo, "rendered") == BASE
    assert commit_count(repo, "rendered") == 1
    assert snapshot(repo) == before

    found = trailers(repo, "rendered")
    assert found == {"Fanout-Source-Commit": source, "Fanout-Version": fanout.__version__}
    message = git(repo, "log", "-1", "--format=%B", "rendered")
    assert source in message.splitlines()[0] or source[:12] in message.splitlines()[0]
    for name in branch.changed_clusters:
        assert f"- {name} (new)" in message


def test_identical_output_makes_no_commit(repo: Path) -> None:
    first = run(repo, BASE).branches[0]
    again = run(repo, dict(reversed(list(BASE.items())))).branches[0]
    assert again.up_to_date and again.commit is None
    assert again.tip == first.tip == head(repo, "rendered")
    assert again.changed_clusters == ()
    assert commit_count(repo, "rendered") == 1


def test_a_change_makes_one_commit_naming_exactly_the_changed_clusters(repo: Path) -> None:
    first = run(repo, BASE).branches[0]
    files = rendered(aws_us_east_1=1, azure_westeurope=1, gcp_europe_west1=3, gcp_asia_east1=1)
    del files["aws-us-east-1/_cluster/namespace_pacman.yaml"]  # a stale file inside a cluster that stays
    files = {k: v for k, v in files.items() if not k.startswith("azure-westeurope/")}  # a cluster removed
    write_files(repo, {"src/fanout.yaml": "output: newer\n"})
    source = commit_all(repo, "newer source")

    second = run(repo, files, source_commit=source).branches[0]

    assert second.commit is not None and second.previous == first.commit
    assert git(repo, "rev-parse", f"{second.commit}^") == first.commit
    assert second.changed_clusters == (
        "aws-us-east-1",
        "azure-westeurope",
        "gcp-asia-east1",
        "gcp-europe-west1",
    )
    assert tree_files(repo, "rendered") == files  # stale files and clusters are gone
    assert commit_count(repo, "rendered") == 2
    assert changed_paths(repo, second.commit) == sorted(
        [
            "aws-us-east-1/_cluster/namespace_pacman.yaml",
            *cluster("azure-westeurope"),
            *cluster("gcp-asia-east1"),
            "gcp-europe-west1/pacman/deployment.apps_pacman.yaml",
        ]
    )
    message = git(repo, "log", "-1", "--format=%B", second.commit)
    assert "- azure-westeurope (removed)" in message and "- gcp-asia-east1 (new)" in message
    assert "- gcp-europe-west1\n" in message and "- aws-us-east-1\n" in message
    assert trailers(repo, second.commit)["Fanout-Source-Commit"] == source


def test_trees_are_the_ones_git_itself_would_build(repo: Path, tmp_path: Path) -> None:
    # Names chosen to exercise git's tree order: a folder sorts as if its name ended in "/".
    files = {
        "a/x.yaml": b"1\n",
        "a.yaml": b"2\n",
        "a-b/x.yaml": b"3\n",
        "a0": b"4\n",
        "Z/upper.yaml": b"5\n",
        "deep/er/still/file.yaml": b"6\n",
        "same/one.yaml": b"same\n",
        "same/two.yaml": b"same\n",
        "unicode-\u00e9/f.yaml": b"7\n",
    }
    run(repo, files)
    scratch = init_repo(tmp_path / "scratch")
    write_files(scratch, files)
    git(scratch, "add", "-A")
    assert git(repo, "rev-parse", "rendered^{tree}") == git(scratch, "write-tree")
    # And the same files give the same tree anywhere.
    other = init_repo(tmp_path / "other", {"x": "y\n"})
    run(other, files)
    assert git(other, "rev-parse", "rendered^{tree}") == git(repo, "rev-parse", "rendered^{tree}")


def test_into_replaces_only_that_folder(repo: Path) -> None:
    run(repo, {"team-b/c1/a.yaml": b"b\n", "README.md": b"branch readme\n"})
    team_b_tree = git(repo, "rev-parse", "rendered:team-b")

    first = run(repo, BASE, into="team-a").branches[0]
    assert first.changed_clusters == ("aws-us-east-1", "azure-westeurope", "gcp-europe-west1")
    files = tree_files(repo, "rendered")
    assert files["README.md"] == b"branch readme\n"
    assert git(repo, "rev-parse", "rendered:team-b") == team_b_tree
    assert {k.removeprefix("team-a/"): v for k, v in files.items() if k.startswith("team-a/")} == BASE

    smaller = rendered(aws_us_east_1=2)
    second = run(repo, smaller, into="/team-a/").branches[0]
    assert second.changed_clusters == ("aws-us-east-1", "azure-westeurope", "gcp-europe-west1")
    files = tree_files(repo, "rendered")
    assert {k.removeprefix("team-a/"): v for k, v in files.items() if k.startswith("team-a/")} == smaller
    assert git(repo, "rev-parse", "rendered:team-b") == team_b_tree
    assert "Render " in git(repo, "log", "-1", "--format=%s", "rendered")
    assert "into team-a/" in git(repo, "log", "-1", "--format=%s", "rendered")

    assert run(repo, smaller, into="team-a").branches[0].up_to_date


def test_into_a_nested_folder_and_over_a_file(repo: Path) -> None:
    run(repo, {"env": b"a file where a folder will go\n", "keep/me.yaml": b"k\n"})
    run(repo, rendered(gcp=1), into="env/prod")
    files = tree_files(repo, "rendered")
    assert sorted(files) == sorted(["keep/me.yaml", *(f"env/prod/{p}" for p in cluster("gcp"))])
    run(repo, rendered(aws=1), into="env/staging")
    files = tree_files(repo, "rendered")
    assert any(p.startswith("env/prod/gcp/") for p in files)
    assert any(p.startswith("env/staging/aws/") for p in files)


def test_keep_carries_matching_files_and_removes_the_rest(repo: Path) -> None:
    run(
        repo,
        {
            "README.md": b"about this branch\n",
            ".github/workflows/deploy.yml": b"on: push\n",
            "docs/guide.md": b"guide\n",
            "docs/sub/deep.md": b"deep\n",
            "notes.txt": b"not kept\n",
            "old-cluster/x.yaml": b"stale\n",
            "aws-us-east-1/kustomization.yaml": b"would be kept, but the rendered output wins\n",
        },
    )
    result = run(repo, BASE, keep=["README.md", ".github", "docs/*.md", "**/kustomization.yaml"]).branches[0]
    files = tree_files(repo, "rendered")
    assert files["README.md"] == b"about this branch\n"
    assert files[".github/workflows/deploy.yml"] == b"on: push\n"
    assert files["docs/guide.md"] == b"guide\n"
    assert "docs/sub/deep.md" not in files  # * stays within one folder
    assert "notes.txt" not in files and "old-cluster/x.yaml" not in files
    assert files["aws-us-east-1/kustomization.yaml"] == BASE["aws-us-east-1/kustomization.yaml"]
    assert set(files) == set(BASE) | {"README.md", ".github/workflows/deploy.yml", "docs/guide.md"}
    assert "old-cluster" in result.changed_clusters and "docs" in result.changed_clusters
    assert ".github" not in result.changed_clusters

    # A pattern without a slash matches at any depth; a leading slash anchors it at the branch root.
    run(repo, {**BASE, "a/README.md": b"nested\n", "b/c/README.md": b"deeper\n"}, keep=["README.md"])
    kept = run(repo, BASE, keep=["*.md"])
    assert kept.branches[0].up_to_date  # every .md file, at any depth, carried over
    files = tree_files(repo, "rendered")
    assert files["a/README.md"] == b"nested\n" and files["b/c/README.md"] == b"deeper\n"
    run(repo, BASE, keep=["/README.md"])
    files = tree_files(repo, "rendered")
    assert "README.md" in files and "a/README.md" not in files


def test_keep_with_into_matches_paths_from_the_branch_root(repo: Path) -> None:
    run(repo, {"team-a/README.md": b"team a\n", "team-a/old/x.yaml": b"stale\n", "team-b/y.yaml": b"y\n"})
    run(repo, BASE, into="team-a", keep=["team-a/README.md"])
    files = tree_files(repo, "rendered")
    assert files["team-a/README.md"] == b"team a\n"
    assert "team-a/old/x.yaml" not in files
    assert files["team-b/y.yaml"] == b"y\n"


def test_per_cluster_branches(repo: Path) -> None:
    files = {**BASE, "top-level-file.yaml": b"belongs to no cluster\n"}
    result = run(repo, files, branch=None, per_cluster_prefix="env/")
    assert [b.branch for b in result.branches] == [
        "env/aws-us-east-1",
        "env/azure-westeurope",
        "env/gcp-europe-west1",
    ]
    for b in result.branches:
        name = b.branch.removeprefix("env/")
        assert b.changed_clusters == (name,)
        assert tree_files(repo, b.branch) == {
            k.removeprefix(f"{name}/"): v for k, v in BASE.items() if k.startswith(f"{name}/")
        }
        assert trailers(repo, b.branch)["Fanout-Source-Commit"] == head(repo)
        assert name in git(repo, "log", "-1", "--format=%s", b.branch)
    assert not ref_exists(repo, "refs/heads/env/top-level-file.yaml")

    changed = rendered(aws_us_east_1=1, azure_westeurope=5, gcp_europe_west1=1)
    again = run(repo, changed, branch=None, per_cluster_prefix="env/")
    by_name = {b.branch: b for b in again.branches}
    assert by_name["env/azure-westeurope"].commit is not None
    assert by_name["env/azure-westeurope"].changed_clusters == ("azure-westeurope",)
    assert by_name["env/aws-us-east-1"].up_to_date and by_name["env/gcp-europe-west1"].up_to_date
    assert [commit_count(repo, b) for b in sorted(by_name)] == [1, 2, 1]


def test_publishing_into_a_bare_repository(tmp_path: Path, repo: Path) -> None:
    bare = init_bare(tmp_path / "bare.git")
    result = publish(bare, BASE, branch="rendered", source_commit=head(repo))
    assert tree_files(bare, "rendered") == BASE
    assert result.branches[0].commit == head(bare, "rendered")


def test_mistakes_are_one_line_errors(tmp_path: Path, repo: Path) -> None:
    cases: list[tuple[dict[str, object], str]] = [
        ({"branch": "main"}, "checked out"),
        ({"branch": "bad..name"}, "not a valid branch name"),
        ({"branch": "HEAD"}, "not a valid branch name"),  # git branch refuses it: "HEAD" would be ambiguous
        ({"branch": "-x"}, "not a valid branch name"),
        ({"branch": None, "per_cluster_prefix": "bad..prefix/"}, "not a valid branch name"),
        ({"branch": None}, "exactly one of"),
        ({"per_cluster_prefix": "env/"}, "exactly one of"),
        ({"into": "../escape"}, "--into"),
        ({"into": "a/.git/b"}, "--into"),
        ({"keep": ["/"]}, "--keep"),
        ({"push": True}, "no git remote named 'origin'"),
        ({"push": True, "remote": "upstream"}, "no git remote named 'upstream'"),
    ]
    for options, expected in cases:
        with pytest.raises(FanoutError) as err:
            run(repo, BASE, **options)
        assert expected in str(err.value) and "\n" not in str(err.value), options
    assert not ref_exists(repo, "refs/heads/rendered")
    assert not ref_exists(repo, "refs/heads/HEAD")
    with pytest.raises(FanoutError) as err:
        publish(tmp_path / "plain", BASE, branch="rendered", source_commit="0" * 40)
    assert "not inside a git repository" in str(err.value)


def test_a_source_branch_is_never_overwritten(repo: Path) -> None:
    git(repo, "branch", "source-copy")  # not checked out, but it holds the source commit
    with pytest.raises(FanoutError) as err:
        run(repo, BASE, branch="source-copy")
    assert "contains the source commit" in str(err.value)
    assert head(repo, "source-copy") == head(repo)


def test_a_branch_checked_out_in_another_worktree_is_refused(tmp_path: Path, repo: Path) -> None:
    run(repo, BASE)
    git(repo, "worktree", "add", "--quiet", str(tmp_path / "wt"), "rendered")
    with pytest.raises(FanoutError) as err:
        run(repo, rendered(gcp=1))
    assert "checked out" in str(err.value)
    assert tree_files(repo, "rendered") == BASE


# --- pushing ---


@pytest.fixture
def remote(tmp_path: Path, repo: Path) -> str:
    bare = init_bare(tmp_path / "remote.git")
    git(repo, "remote", "add", "origin", file_url(bare))
    git(repo, "push", "--quiet", "origin", "main")
    return file_url(bare)


def reflog_size(repo: Path, branch: str) -> int:
    return len(git(repo, "reflog", "show", "--format=%H", f"refs/heads/{branch}").splitlines())


def test_push_lands_on_the_remote(tmp_path: Path, repo: Path, remote: str) -> None:
    result = run(repo, BASE, push=True).branches[0]
    assert result.pushed
    bare = tmp_path / "remote.git"
    assert head(bare, "rendered") == result.tip == head(repo, "origin/rendered")
    assert tree_files(bare, "rendered") == BASE
    # Up to date, and still pushed (a no-op for the remote).
    again = run(repo, BASE, push=True).branches[0]
    assert again.up_to_date and again.pushed and head(bare, "rendered") == result.tip


def test_a_local_only_publish_is_pushed_later_even_when_up_to_date(
    tmp_path: Path, repo: Path, remote: str
) -> None:
    local = run(repo, BASE).branches[0]
    assert not ref_exists(tmp_path / "remote.git", "refs/heads/rendered")
    pushed = run(repo, BASE, push=True).branches[0]
    assert pushed.up_to_date and pushed.pushed
    assert head(tmp_path / "remote.git", "rendered") == local.tip


def test_a_ci_checkout_builds_on_the_remote_tracking_branch(tmp_path: Path, repo: Path, remote: str) -> None:
    first = run(repo, BASE, push=True).branches[0]
    ci = clone(remote, tmp_path / "ci")  # like actions/checkout with fetch-depth 0: only origin/rendered
    assert not ref_exists(ci, "refs/heads/rendered") and ref_exists(ci, "refs/remotes/origin/rendered")
    result = publish(
        ci, rendered(aws_us_east_1=2), branch="rendered", source_commit=head(ci), push=True, remote="origin"
    ).branches[0]
    assert result.previous == first.tip
    assert result.changed_clusters == ("aws-us-east-1", "azure-westeurope", "gcp-europe-west1")
    assert reflog_size(ci, "rendered") == 1  # built on the right tip at once: no rejected first attempt
    assert head(tmp_path / "remote.git", "rendered") == result.tip


def two_clones(tmp_path: Path, remote: str) -> tuple[Path, Path]:
    return clone(remote, tmp_path / "alice"), clone(remote, tmp_path / "bob")


def test_racing_publishers_one_after_another_both_land(tmp_path: Path, repo: Path, remote: str) -> None:
    alice, bob = two_clones(tmp_path, remote)
    bare = tmp_path / "remote.git"
    a1 = publish(alice, BASE, branch="rendered", source_commit=head(alice), into="team-a", push=True)
    assert a1.branches[0].pushed

    # Bob never fetched: his first attempt is built on nothing and rejected, then rebuilt on Alice's commit.
    b1 = publish(bob, rendered(gcp=1), branch="rendered", source_commit=head(bob), into="team-b", push=True)
    bob_result = b1.branches[0]
    assert bob_result.pushed and bob_result.previous == a1.branches[0].tip
    assert bob_result.changed_clusters == ("gcp",)
    assert reflog_size(bob, "rendered") == 2

    # Alice is stale now; her next publish is rejected once and lands on top of Bob's.
    a2 = publish(
        alice, rendered(aws=1), branch="rendered", source_commit=head(alice), into="team-a", push=True
    )
    assert a2.branches[0].previous == bob_result.tip

    files = tree_files(bare, "rendered")
    assert {p.split("/")[0] for p in files} == {"team-a", "team-b"}
    assert {p.split("/")[1] for p in files if p.startswith("team-a/")} == {"aws"}
    assert {p.split("/")[1] for p in files if p.startswith("team-b/")} == {"gcp"}
    # Nothing was forced: every published commit is in the remote's linear history.
    history = git(bare, "rev-list", "--first-parent", "rendered").splitlines()
    assert history == [a2.branches[0].tip, bob_result.tip, a1.branches[0].tip]


def test_racing_publishers_at_the_same_time_all_land(tmp_path: Path, repo: Path, remote: str) -> None:
    clones = [clone(remote, tmp_path / f"publisher-{i}") for i in range(4)]
    start = threading.Barrier(len(clones))
    results: dict[int, PublishResult] = {}
    errors: list[BaseException] = []

    def publisher(i: int, where: Path) -> None:
        try:
            start.wait()
            results[i] = publish(
                where,
                rendered(**{f"c{i}": i + 1}),
                branch="rendered",
                source_commit=head(where),
                into=f"team-{i}",
                push=True,
                max_attempts=len(clones) + 1,
            )
        except BaseException as err:  # reported below, so a thread's failure fails the test
            errors.append(err)

    threads = [threading.Thread(target=publisher, args=(i, c)) for i, c in enumerate(clones)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    bare = tmp_path / "remote.git"
    files = tree_files(bare, "rendered")
    assert {p.split("/")[0] for p in files} == {f"team-{i}" for i in range(len(clones))}
    history = git(bare, "rev-list", "--first-parent", "rendered").splitlines()
    assert sorted(history) == sorted(r.branches[0].tip for r in results.values())


def test_force_overwrites_and_the_retry_is_bounded(tmp_path: Path, repo: Path, remote: str) -> None:
    alice, bob = two_clones(tmp_path, remote)
    bare = tmp_path / "remote.git"
    publish(alice, BASE, branch="rendered", source_commit=head(alice), into="team-a", push=True)
    alice_tip = head(bare, "rendered")

    with pytest.raises(FanoutError) as err:
        publish(
            bob, BASE, branch="rendered", source_commit=head(bob), into="team-b", push=True, max_attempts=1
        )
    assert "rejected 1 times" in str(err.value)
    assert head(bare, "rendered") == alice_tip

    forced = publish(
        bob, BASE, branch="rendered", source_commit=head(bob), into="team-b", push=True, force=True
    ).branches[0]
    assert head(bare, "rendered") == forced.tip
    assert {p.split("/")[0] for p in tree_files(bare, "rendered")} == {"team-b"}


def test_a_push_the_remote_declines_is_an_error_not_a_retry(tmp_path: Path, repo: Path, remote: str) -> None:
    hook = tmp_path / "remote.git" / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'output branches are frozen' >&2\nexit 1\n")
    hook.chmod(0o755)
    with pytest.raises(FanoutError) as err:
        run(repo, BASE, push=True)
    assert "cannot push to origin" in str(err.value) and "declined" in str(err.value)
    assert not ref_exists(tmp_path / "remote.git", "refs/heads/rendered")


def test_pushing_per_cluster_branches(tmp_path: Path, repo: Path, remote: str) -> None:
    alice, bob = two_clones(tmp_path, remote)
    bare = tmp_path / "remote.git"
    publish(alice, BASE, branch=None, per_cluster_prefix="env/", source_commit=head(alice), push=True)
    # Bob's render changes one cluster; he has not fetched, so all three pushes are rejected and rebuilt on
    # the remote tips: only the changed cluster gets a commit.
    changed = rendered(aws_us_east_1=1, azure_westeurope=1, gcp_europe_west1=7)
    write_files(bob, {"src/fanout.yaml": "output: bob\n"})
    source = commit_all(bob, "bob's source change")
    result = publish(bob, changed, branch=None, per_cluster_prefix="env/", source_commit=source, push=True)
    by_name = {b.branch: b for b in result.branches}
    assert all(b.pushed for b in result.branches)
    assert by_name["env/gcp-europe-west1"].commit is not None
    assert by_name["env/aws-us-east-1"].up_to_date and by_name["env/azure-westeurope"].up_to_date
    assert [commit_count(bare, b) for b in sorted(by_name)] == [1, 1, 2]
    assert tree_files(bare, "env/gcp-europe-west1")["pacman/deployment.apps_pacman.yaml"] == (
        b"kind: Deployment\nreplicas: 7\n"
    )
    # Bob's local branches follow what was pushed, and the one new commit names his source commit.
    for name, b in by_name.items():
        assert head(bob, name) == b.tip == head(bare, name)
        assert reflog_size(bob, name) == 2  # a first attempt on nothing, then the rebuild on the remote tip
    assert trailers(bare, "env/gcp-europe-west1")["Fanout-Source-Commit"] == source


def test_a_loose_object_is_written_over_a_killed_process_s_leftover(tmp_path: Path) -> None:
    """Loose objects are staged under a name of the process and object; one a killed process with the
    same number left behind is replaced, and git reads the object."""
    import hashlib
    import os
    import subprocess

    from fanout.output.gittrees import write_loose

    repo = init_repo(tmp_path / "repo", {"README.md": "x\n"})
    raw = b"blob 6\0hello\n"
    sha = hashlib.sha1(raw).hexdigest()
    objects = repo / ".git" / "objects"
    (objects / sha[:2]).mkdir(exist_ok=True)
    (objects / sha[:2] / f"tmp_obj_{os.getpid()}_{sha}").write_bytes(b"half an object")
    write_loose(objects, sha, raw)
    shown = subprocess.run(["git", "cat-file", "-p", sha], cwd=repo, capture_output=True, check=True)
    assert shown.stdout == b"hello\n"
    assert sorted(p.name for p in (objects / sha[:2]).iterdir()) == [sha[2:]]


def test_many_new_objects_go_into_one_pack_that_git_reads(tmp_path: Path) -> None:
    import subprocess

    import git as gitpython

    from fanout.output.gittrees import PACK_FROM, ObjectWriter

    repo = init_repo(tmp_path / "repo", {"README.md": "x\n"})
    writer = ObjectWriter(gitpython.Repo(repo))
    files = {f"f{i:03d}.txt": (f"{i}\n" * i).encode() for i in range(PACK_FROM + 10)}
    files["big.bin"] = bytes(range(256)) * 400  # 102,400 bytes: a size that takes three header bytes
    tree = writer.root_tree(writer.folder(files)).hex()
    writer.flush()
    assert writer.written == len(files) + 1  # the blobs and their tree
    assert len(list((repo / ".git/objects/pack").glob("*.pack"))) == 1
    subprocess.run(["git", "fsck", "--strict"], cwd=repo, check=True, capture_output=True)
    for name in ("f000.txt", "f007.txt", "big.bin"):
        shown = subprocess.run(["git", "show", f"{tree}:{name}"], cwd=repo, capture_output=True, check=True)
        assert shown.stdout == files[name]


def test_objects_asked_about_in_parts_and_read_again_from_compressed_contents(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rendered tree's bytes are read from the compressed contents (twice: to hash, to write) and git is
    asked about the objects a few at a time; the objects are the ones a plain map of bytes gives."""
    import subprocess

    import git as gitpython

    from fanout.output import gittrees
    from fanout.output.contents import Contents, FileTree

    monkeypatch.setattr(gittrees, "ASK_AT_ONCE", 3)
    repo = init_repo(tmp_path / "repo", {"README.md": "x\n"})
    plain = {f"c{c}/f{i}.yaml": f"kind: X{i % 4}\n".encode() for c in range(3) for i in range(5)}
    plain["c1/f9.yaml"] = b"hello\n"  # an object the repository has already (README.md's twin below)
    contents = Contents()
    for c in range(3):
        fresh = {hashlib.sha256(d).hexdigest(): d for p, d in plain.items() if p.startswith(f"c{c}/")}
        contents.add(f"c{c}", {k: v for k, v in fresh.items() if k not in contents})
    tree = FileTree({p: hashlib.sha256(d).hexdigest() for p, d in plain.items()}, contents)
    assert dict(tree.items()) == plain
    subprocess.run(["git", "hash-object", "-w", "--stdin"], input=b"hello\n", cwd=repo, check=True)

    writer = gittrees.ObjectWriter(gitpython.Repo(repo))
    sha = writer.root_tree(writer.folder(tree)).hex()
    writer.flush()
    # Four new blobs (X0..X3; hello is there), two cluster trees (c0's is c2's) and the root.
    assert writer.written == 4 + 2 + 1
    reference = gittrees.ObjectWriter(gitpython.Repo(repo))
    assert reference.root_tree(reference.folder(plain)).hex() == sha
    subprocess.run(["git", "fsck", "--strict"], cwd=repo, check=True, capture_output=True)
    for path in ("c0/f1.yaml", "c2/f3.yaml", "c1/f9.yaml"):
        shown = subprocess.run(["git", "show", f"{sha}:{path}"], cwd=repo, capture_output=True, check=True)
        assert shown.stdout == plain[path]
    clusters = tree.by_cluster()
    assert sorted(clusters) == ["c0", "c1", "c2"] and dict(clusters["c1"].items())["f9.yaml"] == b"hello\n"
