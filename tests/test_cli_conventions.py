"""What users of kubectl, helm and pre-commit expect: help, usage errors, exit codes, completion, colours."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import Invoke, write_tree
from gitutil import init_repo

from fanout.cli import app
from fanout.core.words import plural, some_names

COMMANDS = [
    "render",
    "validate",
    "clusters",
    "publish",
    "diff",
    "explain",
    "federate",
    "import",
    "init",
    "schema",
]


def _fanout(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The real program, as a shell runs it (``python -m fanout`` is the installed entry point's code)."""
    return subprocess.run(
        [sys.executable, "-m", "fanout", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
        env={**os.environ, **(env or {})},
    )


@pytest.mark.parametrize("command", COMMANDS)
def test_every_help_has_examples_and_plain_types(invoke: Invoke, command: str) -> None:
    result = invoke(command, "--help")
    assert result.exit_code == 0
    assert re.search(r"Examples:\n +(kubectl|fanout) ", result.stdout)
    # Types as users write them, never Python's.
    assert not re.search(r"<(str|bool|int|list\[|Path|tuple)", result.stdout), result.stdout
    assert "╭" not in result.stdout and "│" not in result.stdout


def test_main_help_documents_the_exit_codes(invoke: Invoke) -> None:
    text = " ".join(invoke("--help").stdout.split())
    assert "Exit codes: 0 done, 1 the input is invalid, 2 wrong usage, 3 the output is stale" in text
    assert "--install-completion" in text and "--show-completion" in text


def test_usage_errors_are_plain_text_in_ci_logs() -> None:
    done = _fanout("render", "--bogus")
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1].startswith("Error: No such option: --bogus")
    assert not any(ch in done.stderr for ch in "╭╮╰╯│")


def test_the_old_option_spellings_still_work_with_a_warning(
    source: Path, invoke: Invoke, tmp_path: Path
) -> None:
    out = tmp_path / "elsewhere"
    old = invoke("render", str(source), "--out", str(out))
    assert old.exit_code == 0
    assert "--out is deprecated" in old.stderr
    assert (out / "aws-east/kustomization.yaml").is_file()
    both = invoke("render", str(source), "--out", str(out), "--output-dir", str(tmp_path / "other"))
    assert both.exit_code == 2

    report = invoke("validate", str(source), "--format", "json")
    assert report.exit_code == 0 and "--format is deprecated" in report.stderr
    assert '"kind": "Validation"' in report.stdout


def test_exit_codes_tell_invalid_from_stale(source: Path, invoke: Invoke) -> None:
    assert invoke("render", str(source), "--check").exit_code == 3  # stale: nothing rendered yet
    assert invoke("render", str(source)).exit_code == 0
    assert invoke("render", str(source), "--check").exit_code == 0
    (source / "templates/bad.yaml").write_text("a: {b\n")
    assert invoke("render", str(source), "--check").exit_code == 1  # invalid beats stale
    assert invoke("render", str(source), "--jobs", "0").exit_code == 2


def test_an_internal_error_is_one_line_and_exit_70(tmp_path: Path) -> None:
    # A fault no user input can cause, provoked from outside: the package's own schema file unreadable
    # would need root; instead run main() with an argument list that makes Typer itself fail.
    code = (
        "import sys, fanout.cli as c\n"
        "def broken(*a, **k):\n    raise RuntimeError('boom')\n"
        "c.app = broken\n"
        "c.main()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 70
    assert done.stderr == "fanout: internal error: RuntimeError: boom (set FANOUT_DEBUG=1 for details)\n"


# --- finding the source root ------------------------------------------------------------------------


def test_commands_work_from_a_subfolder_of_the_source_root(source: Path) -> None:
    (source / "fanout.yaml").write_text("apiVersion: fanout.dev/v1alpha1\nkind: Config\n")
    deep = source / "templates"
    done = _fanout("render", cwd=deep)
    assert done.returncode == 0, done.stderr
    assert (source / "rendered/aws-east/kustomization.yaml").is_file()
    assert not (deep / "rendered").exists()
    listed = _fanout("clusters", "-o", "json", cwd=deep)
    assert listed.returncode == 0 and '"aws-east"' in listed.stdout
    assert _fanout("render", "--check", cwd=deep).returncode == 0


def test_no_source_root_anywhere_says_so(tmp_path: Path) -> None:
    done = _fanout("validate", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.startswith(".: not a fanout source root (no fanout.yaml and no clusters/ folder")


def test_an_empty_clusters_folder_is_named_as_such(tmp_path: Path, invoke: Invoke) -> None:
    (tmp_path / "clusters").mkdir()
    result = invoke("validate", str(tmp_path))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{tmp_path}: no clusters in clusters/")
    (tmp_path / "fanout.yaml").write_text("apiVersion: fanout.dev/v1alpha1\nkind: Config\n")
    with_config = invoke("validate", str(tmp_path))
    assert with_config.stderr.startswith(f"{tmp_path}: no clusters in clusters/")


# --- words -------------------------------------------------------------------------------------------


def test_counts_and_long_lists_read_well(source: Path, invoke: Invoke) -> None:
    assert plural(1, "cluster") == "1 cluster" and plural(1000, "object") == "1,000 objects"
    assert some_names(["a", "b"]) == "a, b"
    assert some_names([str(i) for i in range(12)]) == "0, 1, 2, 3, 4 and 7 more"
    one = invoke("render", str(source), "-c", "gcp-dev")
    assert "rendered 1 cluster, 1 object into" in one.stdout


def test_unchanged_clusters_are_summarised_in_a_diff(tmp_path: Path) -> None:
    clusters = "".join(
        f"---\napiVersion: fanout.dev/v1alpha1\nkind: Cluster\nmetadata: {{name: c{i:02}}}\n"
        for i in range(12)
    )
    files = {
        "src/clusters/all.yaml": clusters,
        "src/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: m, namespace: x}\ndata: {a: b}\n",
    }
    repo = init_repo(tmp_path / "repo", files)
    (repo / "src/overrides").mkdir()
    (repo / "src/overrides/one.yaml").write_text(
        "apiVersion: fanout.dev/v1alpha1\nkind: Override\nmetadata: {name: one}\n"
        "spec:\n  clusters: {names: [c03]}\n  resources: [{kind: ConfigMap, name: m, namespace: x}]\n"
        "  merge: {data: {a: c}}\n"
    )
    done = _fanout("diff", "--base", "HEAD", str(repo / "src"), "--stat")
    assert done.returncode == 0, done.stderr
    assert "unchanged: 11 clusters (c00, c01, c02, c04, c05 and 6 more)" in done.stdout


# --- colours -----------------------------------------------------------------------------------------


def _two_clusters(tmp_path: Path) -> Path:
    return write_tree(
        tmp_path / "src",
        {
            "clusters/c.yaml": "apiVersion: fanout.dev/v1alpha1\nkind: Cluster\nmetadata: {name: a}\nspec: {values: {n: 1}}\n"
            "---\napiVersion: fanout.dev/v1alpha1\nkind: Cluster\nmetadata: {name: b}\nspec: {values: {n: 2}}\n",
            "templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: m, namespace: x}\n"
            "data: {n: '${cluster.values.n}'}\n",
        },
    )


def test_no_color_turns_off_every_style(tmp_path: Path) -> None:
    root = _two_clusters(tmp_path)
    styled = _fanout(
        "diff", "--clusters", "a", "b", str(root), env={"FORCE_COLOR": "1", "TTY_COMPATIBLE": "1"}
    )
    assert "\x1b[" in styled.stdout  # a terminal gets bold headings and coloured lines
    plain = _fanout(
        "diff",
        "--clusters",
        "a",
        "b",
        str(root),
        env={"FORCE_COLOR": "1", "TTY_COMPATIBLE": "1", "NO_COLOR": "1"},
    )
    assert plain.returncode == 0
    assert "\x1b[" not in plain.stdout  # not even bold or dim
    assert "fanout diff: cluster a → cluster b" in plain.stdout


# --- completion --------------------------------------------------------------------------------------


def _complete(words: str, cwd: Path) -> list[str]:
    """Ask the installed program for completions as bash's completion function does (Typer's entry point)."""
    script = Path(sys.executable).parent / "fanout"
    if not script.exists():
        pytest.skip("the fanout entry point is not installed in this environment")
    current = len(words.split()) - (0 if words.endswith(" ") else 1)
    env = {"_FANOUT_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": str(current)}
    done = subprocess.run(
        [str(script)], capture_output=True, text=True, check=False, cwd=cwd, env={**os.environ, **env}
    )
    assert done.returncode == 0 and done.stderr == "", done.stderr
    return done.stdout.split()


def test_completion_of_clusters_labels_and_objects(source: Path) -> None:
    assert _complete("fanout render -c a", source) == ["aws-east", "azure-west"]
    (source / "fanout.yaml").write_text("apiVersion: fanout.dev/v1alpha1\nkind: Config\n")
    below = source / "templates"  # from a subfolder: the source root is found upwards
    assert _complete("fanout render -l env=", below) == ["env=dev", "env=prod"]
    assert _complete("fanout render -l cloud=aws,env=p", below) == ["cloud=aws,env=prod"]
    assert _complete("fanout explain gcp-dev dep", below) == ["deployment/web"]
    assert _complete("fanout diff --base main -c g", below) == ["gcp-dev"]
    assert _complete("fanout render -c ", below) == ["aws-east", "azure-west", "gcp-dev"]


def test_completion_stays_quiet_on_a_broken_source(tmp_path: Path) -> None:
    (tmp_path / "clusters").mkdir()
    (tmp_path / "clusters/bad.yaml").write_text("a: {b\n")
    assert _complete("fanout render -c ", tmp_path) == []


def test_completion_scripts_are_offered(invoke: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    # Typer otherwise detects the shell from the parent processes, and a test run may have no shell
    # above it at all (a CI job started without one): then "bash" is not taken as the shell's name.
    monkeypatch.setenv("_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION", "1")
    shown = invoke("--show-completion", "bash")
    assert shown.exit_code == 0
    assert "_FANOUT_COMPLETE=complete_bash" in shown.stdout


def test_cli_app_is_the_entry_points() -> None:
    # pyproject's [project.scripts] points at fanout.cli:main, which runs this app.
    assert app.info.name == "fanout"


def test_an_output_dir_inside_an_input_folder_is_refused(source: Path, invoke: Invoke) -> None:
    for folder in ("templates/gen", "clusters", "overrides/out"):
        result = invoke("render", str(source), "--output-dir", str(source / folder))
        assert result.exit_code == 1
        assert "is inside the" in result.stderr and "read as input" in result.stderr
        assert not (source / folder / "aws-east").exists()
    assert invoke("render", str(source), "--output-dir", str(source / "out")).exit_code == 0


def test_validate_for_github_says_a_valid_source_passed(source: Path, invoke: Invoke) -> None:
    result = invoke("validate", str(source), "-o", "github")
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        f"::notice::fanout: {source} is valid: 3 clusters, 1 templates, 0 overrides, 3 objects rendered"
    ]
