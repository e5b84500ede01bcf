"""``fanout pr-report`` and the action around it, in real repositories with GitHub Actions' files."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from fanout.report import github
from tests.conftest import ROOT, Invoke
from tests.gitutil import commit_all, git, init_repo


@pytest.fixture
def pull_request(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository whose main holds the sample with its output, and a branch that changes three clusters'
    replicas (committed without re-rendering); the Actions environment points at files in tmp_path."""
    repo = init_repo(tmp_path / "repo")
    shutil.copytree(ROOT / "sample-repo", repo / "src")
    commit_all(repo, "the sample")
    git(repo, "checkout", "-q", "-b", "feature")
    for name in ("aws.yaml", "azure.yaml", "gcp.yaml"):
        path = repo / "src" / "clusters" / name
        path.write_text(path.read_text().replace("replicas: 4", "replicas: 6"))
    commit_all(repo, "more replicas")
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 42}, "repository": {"full_name": "org/app"}}))
    for name, value in {
        "GITHUB_STEP_SUMMARY": tmp_path / "summary.md",
        "GITHUB_OUTPUT": tmp_path / "output.txt",
        "GITHUB_EVENT_PATH": event,
    }.items():
        monkeypatch.setenv(name, str(value))
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    return repo


def _outputs(tmp_path: Path) -> dict[str, str]:
    lines = (tmp_path / "output.txt").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines)


def test_a_stale_pull_request_is_reported_per_cluster(
    pull_request: Path, tmp_path: Path, invoke: Invoke
) -> None:
    report = tmp_path / "report"
    result = invoke(
        "--error-format",
        "github",
        "pr-report",
        str(pull_request / "src"),
        "--base",
        "main",
        "--report-dir",
        str(report),
    )
    assert result.exit_code == 3, result.output  # stale: fanout's own code
    assert "3 files would change" in result.stdout
    outputs = _outputs(tmp_path)
    assert outputs["clusters-changed"] == "3" and outputs["stale"] == "true" and outputs["invalid"] == "false"
    summary = (tmp_path / "summary.md").read_text()
    assert "**3 of 10 clusters differ" in summary and "+  replicas: 6" in summary
    assert "The committed output is stale" in summary
    comment = (report / "comment.md").read_text()
    assert comment.startswith(github.COMMENT_MARKER + "\n") and "the same change in 3 clusters" in comment
    assert (report / "diff.md").read_text() in summary  # the whole diff fits: the summary is the whole diff


def test_a_fresh_pull_request_passes(pull_request: Path, tmp_path: Path, invoke: Invoke) -> None:
    assert invoke("render", str(pull_request / "src")).exit_code == 0
    commit_all(pull_request, "rendered")
    result = invoke(
        "pr-report", str(pull_request / "src"), "--base", "main", "--report-dir", str(tmp_path / "r")
    )
    assert result.exit_code == 0, result.output
    assert _outputs(tmp_path)["stale"] == "false" and _outputs(tmp_path)["clusters-changed"] == "3"


def test_stale_output_may_be_reported_without_failing(
    pull_request: Path, tmp_path: Path, invoke: Invoke
) -> None:
    args = ("pr-report", str(pull_request / "src"), "--base", "main", "--no-fail-on-stale")
    result = invoke(*args, "--report-dir", str(tmp_path / "r"))
    assert result.exit_code == 0 and _outputs(tmp_path)["stale"] == "true"


def test_an_invalid_source_is_exit_1_with_annotations_and_a_summary(
    pull_request: Path, tmp_path: Path, invoke: Invoke
) -> None:
    (pull_request / "src" / "clusters" / "broken.yaml").write_text(
        "apiVersion: fanout.dev/v1alpha1\nkind: Clusterr\n"
    )
    result = invoke(
        "--error-format",
        "github",
        "pr-report",
        str(pull_request / "src"),
        "--base",
        "main",
        "--report-dir",
        str(tmp_path / "r"),
    )
    assert result.exit_code == 1
    assert result.stdout.startswith("::error file=")
    assert _outputs(tmp_path)["invalid"] == "true"
    assert "the source is invalid" in (tmp_path / "summary.md").read_text()


def test_a_diff_too_large_for_a_comment_is_cut_and_kept_whole(
    pull_request: Path, tmp_path: Path, invoke: Invoke
) -> None:
    # A new object in every cluster, different in each: ten sections of 20,000 characters.
    (pull_request / "src" / "templates" / "big.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big, namespace: pacman}\n"
        f"data: {{k: '{'y' * 20000}-${{cluster.name}}'}}\n"
    )
    result = invoke(
        "pr-report",
        str(pull_request / "src"),
        "--base",
        "main",
        "--report-dir",
        str(tmp_path / "r"),
        "--no-fail-on-stale",
    )
    assert result.exit_code == 0, result.output
    comment = (tmp_path / "r" / "comment.md").read_text()
    whole = (tmp_path / "r" / "diff.md").read_text()
    assert len(comment) < github.COMMENT_LIMIT < len(whole)
    assert "This diff was cut to stay under" in comment


def test_the_comment_is_one_comment_updated_on_each_push() -> None:
    api, repo = "https://api.github.com", "org/app"
    first = github.comment_requests(api, repo, 42, [{"id": 7, "body": "LGTM"}], "BODY")
    assert first == github.Request("POST", f"{api}/repos/{repo}/issues/42/comments", {"body": "BODY"})
    mine = {"id": 9, "body": github.COMMENT_MARKER + "\nold"}
    again = github.comment_requests(api, repo, 42, [{"id": 7, "body": "LGTM"}, mine], "NEW")
    assert again == github.Request("PATCH", f"{api}/repos/{repo}/issues/comments/9", {"body": "NEW"})


def test_the_pull_request_number_comes_from_the_event(tmp_path: Path) -> None:
    event = tmp_path / "e.json"
    event.write_text(json.dumps({"pull_request": {"number": 5}}))
    assert github.pull_request_number(str(event)) == 5
    event.write_text(json.dumps({"push": {}}))
    assert github.pull_request_number(str(event)) is None
    assert github.pull_request_number(None) is None
    event.write_text("not json")
    assert github.pull_request_number(str(event)) is None


def test_comment_without_a_token_is_a_note_not_a_failure(
    pull_request: Path, tmp_path: Path, invoke: Invoke
) -> None:
    result = invoke(
        "pr-report",
        str(pull_request / "src"),
        "--base",
        "main",
        "--comment",
        "--no-fail-on-stale",
        "--report-dir",
        str(tmp_path / "r"),
    )
    assert result.exit_code == 0
    assert "fanout: no comment: not a pull request, or no GITHUB_TOKEN" in result.stdout


def test_the_installed_command_runs_it(pull_request: Path, tmp_path: Path) -> None:
    fanout = shutil.which("fanout")
    if fanout is None:
        pytest.skip("the fanout entry point is not installed in this environment")
    done = subprocess.run(
        [
            fanout,
            "--error-format",
            "github",
            "pr-report",
            "src",
            "--base",
            "main",
            "--report-dir",
            str(tmp_path / "r"),
        ],
        cwd=pull_request,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 3, done.stderr
    assert _outputs(tmp_path)["clusters-changed"] == "3"


def test_the_action_and_workflows_match_githubs_schemas() -> None:
    for schema, files in (
        ("vendor.github-actions", [ROOT / "action.yml"]),
        ("vendor.github-workflows", sorted((ROOT / ".github" / "workflows").glob("*.yml"))),
    ):
        done = subprocess.run(
            ["check-jsonschema", "--builtin-schema", schema, *map(str, files)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr


def test_the_action_only_installs_and_calls_fanout() -> None:
    import yaml

    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert set(action["inputs"]) >= {
        "source",
        "base",
        "comment",
        "fail-on-stale",
        "python-version",
        "fanout-version",
    }
    assert set(action["outputs"]) == {"clusters-changed", "stale"}
    runs = [step["run"] for step in action["runs"]["steps"] if "run" in step]
    assert any("fanout --error-format github pr-report" in run for run in runs)
