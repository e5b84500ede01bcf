"""The hooks in .pre-commit-hooks.yaml, installed with the real pre-commit tool into a throwaway repository.

pre-commit installs a hook repository from a commit, so the tests first commit a snapshot of this checkout
(tracked and new files, uncommitted edits included: what you are testing is what you have). Installing the hook
environment takes a few seconds, so these tests share one pre-commit home and are marked ``precommit``:
``pytest -m precommit`` runs only them, ``pytest -m "not precommit"`` skips them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

from tests.conftest import read_tree
from tests.gitutil import commit_all, git, head, init_repo

pytestmark = pytest.mark.precommit

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample-repo"
LOAD_BALANCERS = "overrides/cloud/load-balancers.yaml"
SERVICE = "rendered/aws-us-east-1/pacman/service_pacman.yaml"


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without git's per-repository variables (set when the suite itself runs in a hook)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_") and k != "PRE_COMMIT"}
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def hooks(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A committed snapshot of this checkout: (path, commit)."""
    snapshot = tmp_path_factory.mktemp("hooks-repo")
    listed = git(ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard").split("\0")
    for relative in sorted(set(filter(None, listed))):
        source = ROOT / relative
        if source.is_file():  # a tracked file deleted in the working tree is not part of the snapshot
            target = snapshot / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    init_repo(snapshot)
    return snapshot, commit_all(snapshot, "snapshot of the fanout checkout under test")


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A user's source repository: the sample source root at its top, its output committed and fresh."""
    repo = tmp_path / "project"
    shutil.copytree(SAMPLE, repo)
    init_repo(repo)
    commit_all(repo, "source and fresh output")
    return repo


def run(cmd: list[str], cwd: Path, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, env=dict(env), capture_output=True, text=True, check=False)


def pre_commit(*args: str, cwd: Path, home: Path) -> subprocess.CompletedProcess[str]:
    return run([sys.executable, "-m", "pre_commit", *args], cwd, clean_env(PRE_COMMIT_HOME=str(home)))


def fanout(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = clean_env(PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return run([sys.executable, "-m", "fanout", *args], cwd, env)


def make_output_stale(project: Path, scheme: str) -> None:
    """Edit an input and stage it, without rendering: the committed output no longer matches."""
    path = project / LOAD_BALANCERS
    text = path.read_text()
    assert "aws-load-balancer-scheme: internet-facing" in text
    path.write_text(
        text.replace("aws-load-balancer-scheme: internet-facing", f"aws-load-balancer-scheme: {scheme}")
    )
    git(project, "add", LOAD_BALANCERS)


def test_try_repo_fails_on_stale_output_and_writes_nothing(
    hooks: tuple[Path, str], pre_commit_home: Path, project: Path
) -> None:
    hooks_repo, rev = hooks
    make_output_stale(project, "internal")
    before = read_tree(project / "rendered")

    done = pre_commit(
        "try-repo", str(hooks_repo), "fanout-check", "--ref", rev, cwd=project, home=pre_commit_home
    )

    assert done.returncode == 1, done.stdout + done.stderr
    assert "fanout check" in done.stdout and "Failed" in done.stdout
    assert "~ aws-us-east-1/pacman/service_pacman.yaml" in done.stdout
    assert read_tree(project / "rendered") == before


def install(project: Path, hooks: tuple[Path, str], hook_id: str, home: Path) -> None:
    hooks_repo, rev = hooks
    config = f"repos:\n  - repo: {hooks_repo}\n    rev: {rev}\n    hooks:\n      - id: {hook_id}\n"
    (project / ".pre-commit-config.yaml").write_text(config)
    git(project, "add", ".pre-commit-config.yaml")
    done = pre_commit("install", cwd=project, home=home)
    assert done.returncode == 0, done.stdout + done.stderr


def commit(project: Path, message: str, home: Path) -> tuple[int, str]:
    """Commit through the installed hook: (exit status, what the hook printed; git sends it to stderr)."""
    done = run(["git", "commit", "-m", message], project, clean_env(PRE_COMMIT_HOME=str(home)))
    return done.returncode, done.stdout + done.stderr


def test_the_check_hook_blocks_a_commit_with_stale_output(
    hooks: tuple[Path, str], pre_commit_home: Path, project: Path
) -> None:
    install(project, hooks, "fanout-check", pre_commit_home)
    start = head(project)
    make_output_stale(project, "internal")

    refused_status, refused_output = commit(project, "edit an override, forget to render", pre_commit_home)
    assert refused_status != 0
    assert "fanout check" in refused_output and "Failed" in refused_output
    assert "~ aws-us-east-1/pacman/service_pacman.yaml" in refused_output
    assert head(project) == start

    rendered = fanout("render", ".", cwd=project)
    assert rendered.returncode == 0, rendered.stderr
    git(project, "add", "-A")
    accepted_status, accepted_output = commit(project, "edit an override, with its output", pre_commit_home)
    assert accepted_status == 0, accepted_output
    assert "fanout check" in accepted_output and "Passed" in accepted_output
    assert git(project, "rev-parse", "HEAD~1") == start
    assert SERVICE in git(project, "show", "--name-only", "--format=", "HEAD").splitlines()


def test_the_render_hook_fixes_the_output_and_fails_once(
    hooks: tuple[Path, str], pre_commit_home: Path, project: Path
) -> None:
    install(project, hooks, "fanout-render", pre_commit_home)
    start = head(project)
    make_output_stale(project, "internal")

    refused_status, refused_output = commit(project, "edit an override", pre_commit_home)
    assert refused_status != 0
    assert "fanout render" in refused_output and "Failed" in refused_output
    assert "  ~ aws-us-east-1/pacman/service_pacman.yaml" in refused_output  # which files it changed
    assert head(project) == start
    # The hook rendered the fresh output into the working tree, as a formatter would.
    assert b"aws-load-balancer-scheme: internal" in (project / SERVICE).read_bytes()
    assert fanout("render", ".", "--check", cwd=project).returncode == 0

    git(project, "add", "-A")
    accepted_status, accepted_output = commit(
        project, "edit an override, with the output the hook rendered", pre_commit_home
    )
    assert accepted_status == 0, accepted_output
    assert "fanout render" in accepted_output and "Passed" in accepted_output
    assert git(project, "status", "--porcelain") == ""


def test_the_validate_hook_checks_objects_against_kubernetes_schemas(
    hooks: tuple[Path, str], pre_commit_home: Path, project: Path
) -> None:
    install(project, hooks, "fanout-validate", pre_commit_home)
    start = head(project)
    replicas = project / "overrides/env/replicas.yaml"
    text = replicas.read_text()
    assert 'value: "${cluster.values.replicas}"' in text
    replicas.write_text(text.replace('value: "${cluster.values.replicas}"', "value: three"))
    git(project, "add", "-A")

    refused_status, refused_output = commit(project, "replicas as a word", pre_commit_home)
    assert refused_status != 0, refused_output
    assert "fanout validate (Kubernetes schemas)" in refused_output and "Failed" in refused_output
    assert "/spec/replicas: 'three' is not of type 'integer'" in refused_output
    assert head(project) == start
