"""Issue 3 end to end through the CLI: --ref, URL sources, and `fanout publish` on the sample repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import fanout
from fanout.output.folder import MARKER
from fanout.output.publish import publish
from tests.conftest import Invoke, read_tree
from tests.gitutil import (
    changed_paths,
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

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample-repo"
LOAD_BALANCERS = "sample-repo/overrides/cloud/load-balancers.yaml"
# The clusters the load-balancer override reaches: cloud=aws, minus aws-ap-southeast-1, which is quarantined
# and so gets no pacman Service to patch.
AWS = ["aws-eu-west-1", "aws-us-east-1", "aws-us-west-2"]


def sample_clusters() -> list[str]:
    return sorted(p.name for p in (SAMPLE / "rendered").iterdir() if p.is_dir())


N = len(sample_clusters())


def sample_output() -> dict[str, bytes]:
    """The committed output of sample-repo (kept fresh by the core's tests), without fanout's marker."""
    return {k: v for k, v in read_tree(SAMPLE / "rendered").items() if k != MARKER}


@pytest.fixture
def platform(tmp_path: Path) -> Path:
    """A repository holding the sample source root in a sub-folder, as the fanout repository does."""
    repo = init_repo(tmp_path / "platform")
    shutil.copytree(SAMPLE, repo / "sample-repo")
    write_files(repo, {"README.md": "the platform team's repository\n"})
    commit_all(repo, "sample source")
    return repo


def edit_aws_scheme(repo: Path, scheme: str) -> None:
    """One override edit that reaches exactly the AWS clusters (the override selects cloud=aws)."""
    path = repo / LOAD_BALANCERS
    text = path.read_text()
    assert "aws-load-balancer-scheme: internet-facing" in text
    path.write_text(
        text.replace("aws-load-balancer-scheme: internet-facing", f"aws-load-balancer-scheme: {scheme}")
    )


def python_m_fanout(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`python -m fanout`, as a user runs it, importing this checkout's fanout."""
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run(
        [sys.executable, "-m", "fanout", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


# --- publish ---


def test_publish_creates_the_branch_and_touches_nothing(invoke: Invoke, platform: Path) -> None:
    # Uncommitted work outside the source root: allowed, and left exactly as it is.
    write_files(platform, {"README.md": "edited, not committed\n", "notes.txt": "untracked\n"})
    git(platform, "add", "notes.txt")
    before = snapshot(platform)

    result = invoke("publish", str(platform / "sample-repo"), "--branch", "rendered")

    assert result.exit_code == 0, result.output
    assert snapshot(platform) == before
    assert tree_files(platform, "rendered") == sample_output()
    top = {p.split("/")[0] for p in tree_files(platform, "rendered")}
    assert top == {p.name for p in (SAMPLE / "rendered").iterdir() if p.is_dir()}
    assert sorted(top) == sample_clusters()
    tip = head(platform, "rendered")
    assert (
        result.stdout.strip()
        == f"fanout: rendered: committed {tip[:12]} (new branch), {N} clusters changed "
        + ("(" + ", ".join(sorted(top)[:8]) + f" and {N - 8} more)")
    )
    assert trailers(platform, "rendered") == {
        "Fanout-Source-Commit": head(platform),
        "Fanout-Version": fanout.__version__,
    }

    again = invoke("publish", str(platform / "sample-repo"), "--branch", "rendered")
    assert again.exit_code == 0, again.output
    assert again.stdout.strip() == f"fanout: rendered: up to date at {tip[:12]}"
    assert commit_count(platform, "rendered") == 1


def test_a_committed_override_change_touches_only_the_clusters_it_reaches(
    invoke: Invoke, platform: Path
) -> None:
    assert invoke("publish", str(platform / "sample-repo"), "--branch", "rendered").exit_code == 0
    first = head(platform, "rendered")
    edit_aws_scheme(platform, "internal")
    source = commit_all(platform, "AWS load balancers become internal")

    result = invoke("publish", str(platform / "sample-repo"), "--branch", "rendered")

    assert result.exit_code == 0, result.output
    tip = head(platform, "rendered")
    assert git(platform, "rev-parse", f"{tip}^") == first
    assert commit_count(platform, "rendered") == 2
    assert changed_paths(platform, tip) == [f"{c}/pacman/service_pacman.yaml" for c in AWS]
    assert f"3 clusters changed ({', '.join(AWS)})" in result.stdout
    message = git(platform, "log", "-1", "--format=%B", tip)
    assert message.startswith(f"Render {source[:12]} for {', '.join(AWS)}\n")
    assert all(f"- {c}\n" in message for c in AWS)
    assert trailers(platform, tip)["Fanout-Source-Commit"] == source


def test_publish_refuses_a_dirty_source_unless_ref_names_a_commit(invoke: Invoke, platform: Path) -> None:
    edit_aws_scheme(platform, "internal")  # uncommitted, inside the source root
    refused = invoke("publish", str(platform / "sample-repo"), "--branch", "rendered")
    assert refused.exit_code == 1
    assert "has uncommitted changes" in refused.stderr and "--ref" in refused.stderr
    assert not ref_exists(platform, "refs/heads/rendered")
    # An untracked new file counts too.
    git(platform, "checkout", "--", "sample-repo")
    write_files(platform, {"sample-repo/overrides/new.yaml": "# not committed yet\n"})
    assert invoke("publish", str(platform / "sample-repo"), "--branch", "rendered").exit_code == 1

    edit_aws_scheme(platform, "internal")
    before = snapshot(platform)
    published = invoke("publish", str(platform / "sample-repo"), "--branch", "rendered", "--ref", "HEAD")
    assert published.exit_code == 0, published.output
    assert tree_files(platform, "rendered") == sample_output()  # HEAD's output, not the edit's
    assert snapshot(platform) == before


def test_publish_options_through_the_cli(invoke: Invoke, platform: Path, tmp_path: Path) -> None:
    bare = init_bare(tmp_path / "remote.git")
    git(platform, "remote", "add", "upstream", file_url(bare))
    sample = str(platform / "sample-repo")
    # The branch already carries a README, another team's folder, and a stale file in ours.
    seed = tmp_path / "seed"
    write_files(
        seed,
        {
            "README.md": "the deploy branch\n",
            "other-team/c1/x.yaml": "x: 1\n",
            "platform/README.md": "our folder\n",
            "platform/stale-cluster/x.yaml": "x: 2\n",
        },
    )
    # (Seeded through the library: --from-dir takes cluster folders only.)
    seeded = {p.relative_to(seed).as_posix(): p.read_bytes() for p in seed.rglob("*") if p.is_file()}
    publish(platform, seeded, branch="deploy", source_commit=head(platform))

    result = invoke(
        "publish", sample, "-b", "deploy", "--into", "platform", "--keep", "platform/README.md",
        "--keep", "nothing-matches/**", "--push", "--remote", "upstream",
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert "(stale-cluster)" not in result.stdout and f"{N + 1} clusters changed" in result.stdout
    assert result.stdout.rstrip().endswith(", pushed to upstream")
    files = tree_files(bare, "deploy")
    assert files["README.md"] == b"the deploy branch\n"
    assert files["other-team/c1/x.yaml"] == b"x: 1\n"
    assert files["platform/README.md"] == b"our folder\n"
    ours = {k.removeprefix("platform/"): v for k, v in files.items() if k.startswith("platform/")}
    assert ours == {**sample_output(), "README.md": b"our folder\n"}  # the stale cluster is gone

    per_cluster = invoke("publish", sample, "--per-cluster-prefix", "env/", "--push", "--remote", "upstream")
    assert per_cluster.exit_code == 0, per_cluster.output
    assert len(per_cluster.stdout.splitlines()) == N
    assert tree_files(bare, "env/aws-us-east-1") == {
        k.removeprefix("aws-us-east-1/"): v
        for k, v in sample_output().items()
        if k.startswith("aws-us-east-1/")
    }


def test_publish_usage_and_errors(invoke: Invoke, platform: Path, tmp_path: Path) -> None:
    sample = str(platform / "sample-repo")
    assert invoke("publish", sample).exit_code == 2
    assert invoke("publish", sample, "--branch", "a", "--per-cluster-prefix", "b/").exit_code == 2
    for args, expected in [
        (["--branch", "main"], "checked out"),
        (["--branch", "rendered", "--push"], "no git remote named 'origin'"),
        (["--branch", "rendered", "--ref", "nope"], "--ref nope: no such branch, tag or commit"),
        (["--branch", "rendered", "--into", ".."], "--into"),
    ]:
        result = invoke("publish", sample, *args)
        assert result.exit_code == 1, args
        assert expected in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.output
    plain = tmp_path / "plain"
    shutil.copytree(SAMPLE, plain)
    outside = invoke("publish", str(plain), "--branch", "rendered")
    assert outside.exit_code == 1 and "not inside a git repository" in outside.stderr


def test_publish_from_an_output_folder(invoke: Invoke, platform: Path, tmp_path: Path) -> None:
    out = tmp_path / "combined"
    assert invoke("render", str(platform / "sample-repo"), "--output-dir", str(out)).exit_code == 0
    assert (out / MARKER).is_file()
    result = invoke("publish", str(platform / "sample-repo"), "--from-dir", str(out), "--branch", "rendered")
    assert result.exit_code == 0, result.output
    assert tree_files(platform, "rendered") == sample_output()  # the marker stays behind
    assert trailers(platform, "rendered")["Fanout-Source-Commit"] == head(platform)


def test_publish_through_python_dash_m(platform: Path) -> None:
    before = snapshot(platform)
    done = python_m_fanout("publish", "sample-repo", "--branch", "rendered", cwd=platform)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("fanout: rendered: committed ")
    assert tree_files(platform, "rendered") == sample_output()
    assert snapshot(platform) == before
    again = python_m_fanout("publish", "sample-repo", "--branch", "rendered", cwd=platform)
    assert again.returncode == 0 and "up to date" in again.stdout
    dirty = python_m_fanout("publish", "--branch", "rendered", cwd=platform / "sample-repo")
    assert dirty.returncode == 0, dirty.stderr  # SOURCE defaults to the current folder
    assert "up to date" in dirty.stdout


# --- render, validate, clusters at a ref ---


def test_render_an_older_commit_while_the_working_tree_holds_newer_edits(
    invoke: Invoke, platform: Path, tmp_path: Path
) -> None:
    edit_aws_scheme(platform, "internal")
    commit_all(platform, "newer")
    edit_aws_scheme_again = (platform / LOAD_BALANCERS).read_text().replace("internal", "internet-facing-v3")
    (platform / LOAD_BALANCERS).write_text(edit_aws_scheme_again)  # newer still, uncommitted
    before = snapshot(platform)

    out = tmp_path / "X"
    result = invoke("render", str(platform / "sample-repo"), "--ref", "HEAD~1", "--output-dir", str(out))

    assert result.exit_code == 0, result.output
    assert read_tree(out) == read_tree(SAMPLE / "rendered")  # the older commit's output, marker included
    assert snapshot(platform) == before
    # HEAD renders the committed edit; the working tree renders the uncommitted one.
    at_head = tmp_path / "head"
    assert (
        invoke(
            "render", str(platform / "sample-repo"), "--ref", "HEAD", "--output-dir", str(at_head)
        ).exit_code
        == 0
    )
    service = "aws-us-east-1/pacman/service_pacman.yaml"
    assert b"aws-load-balancer-scheme: internal" in (at_head / service).read_bytes()
    worktree = tmp_path / "worktree"
    assert invoke("render", str(platform / "sample-repo"), "--output-dir", str(worktree)).exit_code == 0
    assert b"internet-facing-v3" in (worktree / service).read_bytes()
    # --check against a commit: the older output is current for HEAD~1 and stale for HEAD.
    check = ["render", str(platform / "sample-repo"), "--check", "--output-dir", str(out)]
    assert invoke(*check, "--ref", "HEAD~1").exit_code == 0
    stale = invoke(*check, "--ref", "HEAD")
    assert stale.exit_code == 3
    assert "  ~ aws-us-east-1/pacman/service_pacman.yaml" in stale.stdout


def test_render_at_a_ref_through_python_dash_m(platform: Path, tmp_path: Path) -> None:
    edit_aws_scheme(platform, "internal")
    commit_all(platform, "newer")
    done = python_m_fanout(
        "render", "sample-repo", "--ref", "HEAD~1", "--output-dir", str(tmp_path / "X"), cwd=platform
    )
    assert done.returncode == 0, done.stderr
    assert read_tree(tmp_path / "X") == read_tree(SAMPLE / "rendered")
    bad = python_m_fanout(
        "render", "sample-repo", "--ref", "HEAD~9", "--output-dir", str(tmp_path / "Y"), cwd=platform
    )
    assert bad.returncode == 1
    assert (
        bad.stderr.splitlines()[0] == f"--ref HEAD~9: no such branch, tag or commit in {platform.resolve()}"
    )
    assert "Traceback" not in bad.stderr
    assert not (tmp_path / "Y").exists()


def test_validate_and_clusters_at_a_ref(invoke: Invoke, platform: Path) -> None:
    first = head(platform)
    write_files(
        platform,
        {
            "sample-repo/clusters/extra.yaml": (
                "apiVersion: fanout.dev/v1alpha1\nkind: Cluster\n"
                "metadata:\n  name: onprem-lab\n  labels: {cloud: onprem, region: lab, env: dev}\n"
                "spec:\n  values: {domain: lab.example.com, replicas: 1, mongoStorage: 1Gi, storageClass: local}\n"
            )
        },
    )
    commit_all(platform, "a lab cluster")
    (platform / "sample-repo/clusters/aws.yaml").write_text("broken: [yaml\n")  # uncommitted breakage

    assert invoke("validate", str(platform / "sample-repo")).exit_code == 1
    valid = invoke("validate", str(platform / "sample-repo"), "--ref", "HEAD")
    assert valid.exit_code == 0, valid.output
    assert f"sample-repo@{head(platform)[:12]} is valid: {N + 1} clusters" in valid.stdout

    old = invoke("clusters", str(platform / "sample-repo"), "--ref", first)
    now = invoke("clusters", str(platform / "sample-repo"), "--ref", "HEAD")
    assert old.exit_code == 0 and now.exit_code == 0
    assert len(old.stdout.splitlines()) == 1 + N and len(now.stdout.splitlines()) == 1 + N + 1
    assert "onprem-lab" not in old.stdout and "onprem-lab" in now.stdout


def test_ref_errors_are_one_line(invoke: Invoke, platform: Path, tmp_path: Path) -> None:
    first = head(platform)
    write_files(platform, {"later/fanout.yaml": "apiVersion: fanout.dev/v1alpha1\nkind: Config\n"})
    commit_all(platform, "later")
    plain = tmp_path / "plain"
    shutil.copytree(SAMPLE, plain)
    for args, expected in [
        (
            ["validate", str(platform / "sample-repo"), "--ref", "nope"],
            "--ref nope: no such branch, tag or commit",
        ),
        (["clusters", str(platform / "later"), "--ref", first], "no such folder in commit"),
        (["render", str(plain), "--ref", "HEAD"], "not inside a git repository"),
    ]:
        result = invoke(*args)
        assert result.exit_code == 1, args
        lines = result.stderr.splitlines()
        assert len(lines) == 2 and expected in lines[0], lines  # the problem, then the count
        assert lines[1] == "fanout: 1 problem found"


# --- URL sources ---


def test_url_sources_are_cloned_into_the_cache(invoke: Invoke, platform: Path, tmp_path: Path) -> None:
    bare = init_bare(tmp_path / "remote.git")
    git(platform, "remote", "add", "origin", file_url(bare))
    git(platform, "push", "--quiet", "origin", "main")
    url = file_url(bare) + "#sample-repo"
    cache = str(tmp_path / "cache")

    listed = invoke("clusters", url, "--cache-dir", cache)
    assert listed.exit_code == 0, listed.output
    assert len(listed.stdout.splitlines()) == 1 + N
    out = tmp_path / "X"
    assert invoke("render", url, "--cache-dir", cache, "--output-dir", str(out)).exit_code == 0
    assert read_tree(out) == read_tree(SAMPLE / "rendered")

    # A new commit on the remote is fetched by the next run.
    edit_aws_scheme(platform, "internal")
    commit_all(platform, "newer")
    git(platform, "push", "--quiet", "origin", "main")
    stale = invoke("render", url, "--cache-dir", cache, "--output-dir", str(out), "--check")
    assert stale.exit_code == 3 and "aws-us-east-1/pacman/service_pacman.yaml" in stale.stdout
    assert (
        invoke(
            "render", url, "--cache-dir", cache, "--output-dir", str(out), "--check", "--ref", "main~1"
        ).exit_code
        == 0
    )

    no_out = invoke("render", url, "--cache-dir", cache)
    assert no_out.exit_code == 1 and "pass --output-dir" in no_out.stderr
    missing = invoke("validate", file_url(tmp_path / "missing.git"), "--cache-dir", cache)
    assert missing.exit_code == 1 and "cannot clone" in missing.stderr

    # Publishing a URL source pushes the branch to that remote.
    assert invoke("publish", url, "--branch", "rendered", "--cache-dir", cache).exit_code == 1
    pushed = invoke("publish", url, "--branch", "rendered", "--cache-dir", cache, "--push")
    assert pushed.exit_code == 0, pushed.output
    assert trailers(bare, "rendered")["Fanout-Source-Commit"] == head(platform)
    assert b"internal" in tree_files(bare, "rendered")["aws-us-east-1/pacman/service_pacman.yaml"]
