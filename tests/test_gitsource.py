"""Reading a source root from git: local commits, remote URLs through the cache, and the error cases."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fanout.core.errors import FanoutError
from fanout.source.git import (
    GitTreeSource,
    cache_path,
    default_cache_dir,
    is_git_url,
    redact_url,
    resolve_source,
)
from fanout.source.tree import DirectorySource
from tests.gitutil import (
    clone,
    commit_all,
    file_url,
    git,
    head,
    init_bare,
    init_repo,
    snapshot,
    write_files,
)

OLD = {
    "README.md": "top-level file, outside the source root\n",
    "src/fanout.yaml": "output: rendered\n",
    "src/clusters/aws.yaml": "name: aws\n",
    "src/clusters/gcp.yaml": "name: gcp\n",
    "src/templates/app/deploy.yaml": "replicas: 1\n",
    "src/templates/.hidden/skip.yaml": "hidden folder, not listed\n",
    "src/templates/.dotfile.yaml": "hidden file in a listed folder: listed\n",
}


def one_line(err: pytest.ExceptionInfo[FanoutError]) -> str:
    text = str(err.value)
    assert "\n" not in text, text
    assert len(err.value.problems) == 1
    return text


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return init_repo(tmp_path / "repo", OLD)


def make_dirty(repo: Path) -> None:
    """Edits in every state git knows: staged, unstaged, untracked, deleted."""
    write_files(repo, {"src/clusters/aws.yaml": "name: aws-staged\n"})
    git(repo, "add", "src/clusters/aws.yaml")
    write_files(
        repo,
        {
            "src/clusters/aws.yaml": "name: aws-unstaged\n",
            "src/clusters/new.yaml": "name: untracked\n",
            "src/templates/app/deploy.yaml": "replicas: 9\n",
        },
    )
    (repo / "src/clusters/gcp.yaml").unlink()


def test_reads_a_commit_while_the_working_tree_is_dirty_and_touches_nothing(repo: Path) -> None:
    first = head(repo)
    write_files(repo, {"src/templates/app/deploy.yaml": "replicas: 2\n"})
    second = commit_all(repo, "second")
    make_dirty(repo)
    before = snapshot(repo)

    resolved = resolve_source(str(repo / "src"), ref="HEAD~1", check_dirty=True)
    tree = resolved.tree
    assert isinstance(tree, GitTreeSource)
    assert resolved.commit == first
    assert resolved.subdir == "src"
    assert resolved.repo_path == repo.resolve()
    assert resolved.dirty is True
    assert tree.read("templates/app/deploy.yaml") == b"replicas: 1\n"
    assert tree.read("clusters/aws.yaml") == b"name: aws\n"
    assert tree.read("clusters/gcp.yaml") == b"name: gcp\n"  # deleted in the working tree only
    assert tree.read("clusters/new.yaml") is None  # untracked: not in any commit
    assert tree.read("README.md") is None  # outside the source root
    assert tree.read("../README.md") is None
    assert tree.list_files("clusters") == ["clusters/aws.yaml", "clusters/gcp.yaml"]
    assert tree.description.endswith(f"src@{first[:12]}")

    at_head = resolve_source(str(repo / "src"), ref="HEAD").tree
    assert at_head.read("templates/app/deploy.yaml") == b"replicas: 2\n"
    assert resolve_source(str(repo / "src"), ref="HEAD").commit == second

    assert snapshot(repo) == before


def test_every_kind_of_ref_is_understood(repo: Path) -> None:
    first = head(repo)
    git(repo, "tag", "-a", "-m", "release", "v1")  # an annotated tag is peeled to its commit
    git(repo, "branch", "old")
    write_files(repo, {"src/fanout.yaml": "output: out\n"})
    second = commit_all(repo, "second")
    for ref, expected in [
        ("v1", first),
        ("old", first),
        ("HEAD^", first),
        (first[:8], first),
        ("main", second),
        (second, second),
    ]:
        resolved = resolve_source(str(repo / "src"), ref=ref)
        assert resolved.commit == expected, ref


def test_list_files_agrees_with_the_directory_source(repo: Path) -> None:
    disk = DirectorySource(repo / "src")
    commit = GitTreeSource_at(repo, "src")
    for folder in ["", ".", "clusters", "templates", "templates/app", "missing"]:
        assert commit.list_files(folder) == disk.list_files(folder), folder
    assert "templates/.dotfile.yaml" in commit.list_files("templates")
    assert "templates/.hidden/skip.yaml" not in commit.list_files("")
    # Hidden folders are skipped while walking, but can still be listed and read explicitly.
    assert commit.list_files("templates/.hidden") == ["templates/.hidden/skip.yaml"]
    assert commit.read("templates/.hidden/skip.yaml") == b"hidden folder, not listed\n"


def GitTreeSource_at(repo: Path, subdir: str) -> GitTreeSource:
    tree = resolve_source(str(repo / subdir) if subdir else str(repo), ref="HEAD").tree
    assert isinstance(tree, GitTreeSource)
    return tree


def test_the_repository_top_can_be_the_source_root(repo: Path) -> None:
    resolved = resolve_source(str(repo), ref="HEAD")
    assert resolved.subdir == ""
    assert resolved.tree.read("README.md") == OLD["README.md"].encode()
    assert resolved.tree.read("src/clusters/aws.yaml") == b"name: aws\n"


@pytest.mark.skipif(os.name == "nt", reason="symlinks")
def test_symlinks_are_followed_only_inside_the_source_root(repo: Path) -> None:
    """The working tree and a commit read the same files and refuse the same links (issue 11)."""
    (repo / "src/clusters/alias.yaml").symlink_to("aws.yaml")
    (repo / "src/clusters/up.yaml").symlink_to("../../README.md")  # in the repository, outside the root
    (repo / "src/clusters/escape.yaml").symlink_to("../../../outside.yaml")
    (repo / "src/clusters/absolute.yaml").symlink_to("/etc/hostname")
    (repo / "src/linked-templates").symlink_to("templates")
    commit_all(repo, "links")
    tree = GitTreeSource_at(repo, "src")
    disk = DirectorySource(repo / "src")
    for source in (tree, disk):
        assert source.read("clusters/alias.yaml") == b"name: aws\n"
        for link in ("clusters/up.yaml", "clusters/escape.yaml", "clusters/absolute.yaml"):
            with pytest.raises(FanoutError, match="a symbolic link that leads outside the source root"):
                source.read(link)
        listed = source.list_files("")
        assert "clusters/alias.yaml" in listed
        assert not [
            p for p in listed if "linked" in p or p.endswith(("up.yaml", "escape.yaml", "absolute.yaml"))
        ]
    assert tree.list_files("") == disk.list_files("")
    assert tree.refused("") == disk.refused("")
    assert [(r.path, r.why.split(";")[0]) for r in tree.refused("")] == [
        ("clusters/absolute.yaml", "a symbolic link that leads outside the source root (or nowhere)"),
        ("clusters/escape.yaml", "a symbolic link that leads outside the source root (or nowhere)"),
        ("clusters/up.yaml", "a symbolic link that leads outside the source root (or nowhere)"),
        ("linked-templates", "a symbolic link to a folder"),
    ]


def test_without_ref_the_working_tree_is_read(repo: Path) -> None:
    resolved = resolve_source(str(repo / "src"), check_dirty=True)
    assert isinstance(resolved.tree, DirectorySource)
    assert resolved.commit is None
    assert resolved.dirty is False
    assert resolve_source(str(repo / "src")).dirty is None  # not asked for: no `git status`
    assert resolved.subdir == "src"
    # Changes outside the source root do not make it dirty; any change inside does, untracked files too.
    write_files(repo, {"README.md": "edited\n", "other/new.txt": "x\n"})
    assert resolve_source(str(repo / "src"), check_dirty=True).dirty is False
    write_files(repo, {"src/clusters/new.yaml": "name: new\n"})
    resolved = resolve_source(str(repo / "src"), check_dirty=True)
    assert resolved.dirty is True
    assert resolved.tree.read("clusters/new.yaml") == b"name: new\n"


def test_the_dirty_check_does_not_rewrite_the_index(repo: Path) -> None:
    # Touching a tracked file makes its stat data stale: a plain `git status` would refresh the index file.
    path = repo / "src/clusters/aws.yaml"
    stat = path.stat()
    os.utime(path, (stat.st_atime + 100, stat.st_mtime + 100))
    before = snapshot(repo)
    assert resolve_source(str(repo / "src"), check_dirty=True).dirty is False
    assert resolve_source(str(repo / "src"), ref="HEAD", check_dirty=True).dirty is False
    assert snapshot(repo) == before


def test_a_folder_outside_any_repository(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    write_files(plain, {"clusters/a.yaml": "name: a\n"})
    resolved = resolve_source(str(plain))
    assert isinstance(resolved.tree, DirectorySource)
    # The working tree without --ref is read from disk without asking git anything (dirty: not asked).
    assert (resolved.repo_path, resolved.commit, resolved.dirty) == (None, None, None)
    asked = resolve_source(str(plain), check_dirty=True)
    assert (asked.repo_path, asked.commit, asked.dirty) == (None, None, False)
    with pytest.raises(FanoutError) as err:
        resolve_source(str(plain), ref="HEAD")
    assert "not inside a git repository" in one_line(err)


def test_a_ref_that_does_not_exist(repo: Path) -> None:
    for bad in ["no-such-branch", "HEAD~5", "deadbeefdeadbeef", "--output=x"]:
        with pytest.raises(FanoutError) as err:
            resolve_source(str(repo / "src"), ref=bad)
        assert bad in one_line(err)


def test_a_ref_naming_a_tree_is_not_a_commit(repo: Path) -> None:
    with pytest.raises(FanoutError) as err:
        resolve_source(str(repo / "src"), ref="HEAD^{tree}")
    assert "no such branch, tag or commit" in one_line(err)


def test_a_path_that_is_not_in_that_commit(repo: Path) -> None:
    first = head(repo)
    write_files(repo, {"later/fanout.yaml": "output: rendered\n"})
    commit_all(repo, "add later/")
    assert resolve_source(str(repo / "later"), ref="HEAD").tree.read("fanout.yaml") == b"output: rendered\n"
    with pytest.raises(FanoutError) as err:
        resolve_source(str(repo / "later"), ref=first)
    message = one_line(err)
    assert "no such folder in commit" in message and first[:12] in message
    # A folder that exists in no commit and not on disk either.
    with pytest.raises(FanoutError) as err:
        resolve_source(str(repo / "nowhere" / "deeper"), ref="HEAD")
    assert "no such folder" in one_line(err)
    # A file is not a source root.
    with pytest.raises(FanoutError) as err:
        resolve_source(str(repo / "README.md"), ref="HEAD")
    assert "no such folder" in one_line(err)


def test_a_missing_folder_without_ref(tmp_path: Path) -> None:
    with pytest.raises(FanoutError) as err:
        resolve_source(str(tmp_path / "missing"))
    assert "no such folder" in one_line(err)


def test_a_folder_deleted_from_the_working_tree_is_still_read_at_a_ref(repo: Path) -> None:
    git(repo, "rm", "-r", "--quiet", "src")
    resolved = resolve_source(str(repo / "src"), ref="HEAD")
    assert resolved.tree.read("fanout.yaml") == b"output: rendered\n"


# --- remote URLs ---


@pytest.fixture
def remote(tmp_path: Path, repo: Path) -> Path:
    bare = init_bare(tmp_path / "remote.git")
    git(repo, "remote", "add", "origin", file_url(bare))
    git(repo, "push", "--quiet", "origin", "main")
    return bare


def test_a_url_is_cloned_into_the_cache_and_fetched_again(tmp_path: Path, repo: Path, remote: Path) -> None:
    cache = tmp_path / "cache"
    url = file_url(remote)
    first = resolve_source(url, cache_dir=cache)
    assert first.commit == head(repo)
    assert first.url == url
    assert first.dirty is False
    assert first.repo_path == cache_path(cache, url)
    assert first.tree.read("src/clusters/aws.yaml") == b"name: aws\n"
    assert (cache / "repos").is_dir() and len(list((cache / "repos").iterdir())) == 1

    # Someone pushes a new commit; the next resolve fetches it into the same cache folder.
    pusher = clone(url, tmp_path / "pusher")
    write_files(pusher, {"src/clusters/aws.yaml": "name: aws-2\n"})
    newer = commit_all(pusher, "newer")
    git(pusher, "push", "--quiet", "origin", "main")
    second = resolve_source(url + "#src", cache_dir=cache)
    assert second.commit == newer
    assert second.subdir == "src"
    assert second.tree.read("clusters/aws.yaml") == b"name: aws-2\n"
    assert second.repo_path == first.repo_path
    assert len(list((cache / "repos").iterdir())) == 1
    # Older commits stay readable by ref.
    assert resolve_source(url + "#src", ref="main~1", cache_dir=cache).tree.read("clusters/aws.yaml") == (
        b"name: aws\n"
    )


def test_a_url_at_a_branch_a_tag_and_a_ref_outside_branches(tmp_path: Path, repo: Path, remote: Path) -> None:
    base = head(repo)
    git(repo, "tag", "v1")
    git(repo, "switch", "--quiet", "-c", "feature")
    write_files(repo, {"src/fanout.yaml": "output: feature\n"})
    feature = commit_all(repo, "feature")
    git(repo, "push", "--quiet", "origin", "feature", "v1")
    # A ref the remote has but does not advertise as a branch or tag, like GitHub's pull request heads.
    write_files(repo, {"src/fanout.yaml": "output: pull\n"})
    pull = commit_all(repo, "pull request")
    git(repo, "push", "--quiet", "origin", "HEAD:refs/pull/1/head")
    url = file_url(remote) + "#src"
    cache = tmp_path / "cache"
    assert resolve_source(url, cache_dir=cache).commit == base  # the default branch
    assert resolve_source(url, ref="feature", cache_dir=cache).commit == feature
    assert resolve_source(url, ref="v1", cache_dir=cache).commit == base
    at_pull = resolve_source(url, ref="refs/pull/1/head", cache_dir=cache)
    assert at_pull.commit == pull
    assert at_pull.tree.read("fanout.yaml") == b"output: pull\n"
    with pytest.raises(FanoutError) as err:
        resolve_source(url, ref="no-such-branch", cache_dir=cache)
    assert "no-such-branch" in one_line(err)


def test_the_default_branch_of_the_remote_is_followed(tmp_path: Path, repo: Path, remote: Path) -> None:
    cache = tmp_path / "cache"
    url = file_url(remote)
    assert resolve_source(url, cache_dir=cache).commit == head(repo)
    git(repo, "switch", "--quiet", "-c", "trunk")
    trunk = commit_all(repo, "trunk only")
    git(repo, "push", "--quiet", "origin", "trunk")
    git(remote, "symbolic-ref", "HEAD", "refs/heads/trunk")
    assert resolve_source(url, cache_dir=cache).commit == trunk


def test_a_url_that_cannot_be_cloned(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    with pytest.raises(FanoutError) as err:
        resolve_source(file_url(tmp_path / "no-such-remote.git"), cache_dir=cache)
    assert "cannot clone" in one_line(err)
    # A failed clone leaves nothing behind that could pass for a cache.
    assert [p for p in (cache / "repos").iterdir() if not p.name.startswith(".")] == []
    assert list((cache / "repos").iterdir()) == []


def test_an_empty_remote_has_no_default_branch(tmp_path: Path) -> None:
    empty = init_bare(tmp_path / "empty.git")
    with pytest.raises(FanoutError) as err:
        resolve_source(file_url(empty), cache_dir=tmp_path / "cache")
    assert "--ref" in one_line(err)


def test_a_broken_cache_folder_is_cloned_again(tmp_path: Path, repo: Path, remote: Path) -> None:
    cache = tmp_path / "cache"
    url = file_url(remote)
    broken = cache_path(cache, url)
    write_files(broken, {"HEAD": "garbage\n"})
    assert resolve_source(url, cache_dir=cache).commit == head(repo)


def test_the_source_repository_and_its_cache_are_left_alone(tmp_path: Path, repo: Path, remote: Path) -> None:
    make_dirty(repo)
    before = snapshot(repo)
    resolve_source(file_url(remote) + "#src", cache_dir=tmp_path / "cache")
    assert snapshot(repo) == before


def test_url_detection_and_redaction(tmp_path: Path) -> None:
    for url in [
        "https://github.com/org/repo.git",
        "ssh://git@example.com:2222/org/repo.git",
        "file:///srv/git/repo.git",
        "git@github.com:org/repo.git",
        "example.com:org/repo.git",
    ]:
        assert is_git_url(url), url
    for local in ["sample-repo", "./sample-repo", "/abs/path", "C:\\work\\repo", "rel/dir:with-colon"]:
        assert not is_git_url(local), local
    existing = tmp_path / "host:path"
    existing.mkdir()
    assert not is_git_url(str(existing))
    assert redact_url("https://user:s3cret@example.com/r.git") == "https://user:***@example.com/r.git"
    assert redact_url("https://token@example.com/r.git") == "https://token@example.com/r.git"


def test_the_default_cache_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "fanout"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "fanout"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "fanout"


def test_git_variables_of_another_repository_in_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, repo: Path
) -> None:
    # Git exports GIT_DIR and GIT_WORK_TREE to hooks; fanout may run in one on another repository's source.
    other = init_repo(tmp_path / "other", {"src/fanout.yaml": "output: other\n"})
    other_head = head(other)
    monkeypatch.setenv("GIT_DIR", str(repo / ".git"))
    monkeypatch.setenv("GIT_WORK_TREE", str(repo))

    at_head = resolve_source(str(other / "src"), ref="HEAD", check_dirty=True)
    assert at_head.tree.read("fanout.yaml") == b"output: other\n"
    assert at_head.commit == other_head
    assert at_head.dirty is False  # other's clean working tree, not repo's files against other's index
    resolved = resolve_source(str(other / "src"), check_dirty=True)
    assert isinstance(resolved.tree, DirectorySource) and resolved.dirty is False
    write_files(other, {"src/new.yaml": "x: 1\n"})
    assert resolve_source(str(other / "src"), check_dirty=True).dirty is True


def test_object_kinds_names_each_objects_kind_or_none(tmp_path: Path) -> None:
    """One ``git cat-file --batch-check`` for many objects (publish's tree cache and its object writer)."""
    from fanout.source.git import object_kinds

    repo = init_repo(tmp_path / "repo", {"a.txt": "a\n"})
    tree = git(repo, "rev-parse", "HEAD^{tree}").strip()
    blob = git(repo, "rev-parse", "HEAD:a.txt").strip()
    absent = "0" * 40
    assert object_kinds(repo, [tree, blob, absent]) == {tree: "tree", blob: "blob", absent: None}
    (tmp_path / "plain").mkdir()
    with pytest.raises(FanoutError, match="cannot read the objects of"):
        object_kinds(tmp_path / "plain", [absent])
