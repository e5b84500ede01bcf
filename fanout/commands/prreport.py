"""``fanout pr-report``: what a pull request does to each cluster, for GitHub Actions (the action.yml step).

One run does what a reviewer needs: ``render --check --trusted-base BASE`` (annotations on the lines at fault
with ``--error-format github``), the per-cluster diff against BASE as Markdown (the job summary, a file, and
with ``--comment`` one pull-request comment kept up to date), and the step outputs. The exit code is fanout's
own: 3 when the committed output is stale (unless ``--no-fail-on-stale``), 1 when the input is invalid.
"""

from __future__ import annotations

import html
import os
from collections.abc import Callable
from pathlib import Path

from fanout.commands import render as render_command
from fanout.commands.diff import between_refs
from fanout.core.errors import EXIT_DIFFERS, FanoutError, Problem, visible
from fanout.report import diffreport, github
from fanout.report.diffing import Comparison

# The job summary takes up to 1 MiB; beyond that it shows the comment's cut version.
SUMMARY_LIMIT = 1_000_000


def default_report_dir() -> Path:
    runner = os.environ.get("RUNNER_TEMP")
    return Path(runner) / "fanout-report" if runner else Path(".fanout-report")


def _invalid_markdown(problems: tuple[Problem, ...]) -> str:
    lines = ["## fanout: the source is invalid", ""]
    lines += [f"- `{html.escape(visible(str(p)), quote=False)}`".replace("``", "` `") for p in problems[:200]]
    if len(problems) > 200:
        lines.append(f"- ... and {len(problems) - 200} more")
    return "\n".join(lines) + "\n"


def _stale_note(stale: bool) -> str:
    if not stale:
        return ""
    return "\n> [!WARNING]\n> The committed output is stale: run `fanout render` and commit the result.\n"


def run(
    source: str,
    base: str,
    comment: bool,
    fail_on_stale: bool,
    report_dir: Path,
    echo: Callable[[str], None],
    notice: Callable[[Problem], None] | None = None,
) -> int:
    env = os.environ
    invalid: FanoutError | None = None
    stale = False
    comparison: Comparison | None = None
    try:
        code = render_command.run(
            source, None, (), None, True, False, echo, notice=notice, trusted_base=base, use_cache=False
        )
        stale = code == EXIT_DIFFERS
        comparison = between_refs(source, base, None, (), None)
    except FanoutError as exc:
        invalid = exc
    rerun = f"fanout diff --base {base}" + (f" {source}" if source != "." else "")
    if comparison is not None:
        full = diffreport.to_markdown(comparison, limit=10**9, rerun=rerun) + _stale_note(stale)
        room = github.COMMENT_LIMIT - len(github.COMMENT_MARKER) - 400
        short = diffreport.to_markdown(comparison, limit=room, rerun=rerun) + _stale_note(stale)
        changed = len(comparison.changed_clusters)
    else:
        assert invalid is not None
        full = short = _invalid_markdown(invalid.problems)
        changed = 0
    body = f"{github.COMMENT_MARKER}\n{short}"
    report_dir.mkdir(parents=True, exist_ok=True)
    (report_dir / "diff.md").write_text(full, encoding="utf-8")
    (report_dir / "comment.md").write_text(body, encoding="utf-8")
    github.append_summary(env.get("GITHUB_STEP_SUMMARY"), full if len(full) <= SUMMARY_LIMIT else short)
    github.write_outputs(
        env.get("GITHUB_OUTPUT"),
        {
            "clusters-changed": str(changed),
            "stale": "true" if stale else "false",
            "invalid": "true" if invalid is not None else "false",
            "report": str(report_dir / "diff.md"),
            "comment-body": str(report_dir / "comment.md"),
        },
    )
    if comment:
        number = github.pull_request_number(env.get("GITHUB_EVENT_PATH"))
        token, repository = env.get("GITHUB_TOKEN"), env.get("GITHUB_REPOSITORY")
        if number is None or not token or not repository:
            echo("fanout: no comment: not a pull request, or no GITHUB_TOKEN and GITHUB_REPOSITORY")
        else:
            api = env.get("GITHUB_API_URL", "https://api.github.com")
            echo(f"fanout: {github.upsert_comment(api, repository, number, token, body)}")
    if invalid is not None:
        raise invalid
    return EXIT_DIFFERS if stale and fail_on_stale else 0
