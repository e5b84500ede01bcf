"""A fuzzer the project owns: real source roots, mutated, through every read-only command and a render.

The property is the README's promise for bad input:

- the exit code is 0, 1 or 2 (never a crash: the in-process runner re-raises any exception);
- on exit 1 every stderr line is ``path:line:col: message`` (or a located warning), except the one
  summary line ``fanout: N problems found``;
- after a failed render, and after any ``--check``, the used output folder is byte-identical;
- nothing is written outside the output folder;
- ``--ref`` of the committed mutation gives the same verdict as the working tree.

A small budget runs in ``.ci/run``; ``FANOUT_FUZZ_EXAMPLES=2000 python -m pytest tests/test_fuzz.py`` runs
more. Any input that ever failed is kept under ``tests/fuzz-regressions/<case>/`` (a source root, with a
``why.txt``) and replayed by ``test_regression``.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import ROOT, read_tree
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from fanout.cli import app

pytestmark = pytest.mark.fuzz

EXAMPLES = int(os.environ.get("FANOUT_FUZZ_EXAMPLES", "30"))
BASES = [
    ROOT / "sample-repo",
    *sorted(p for p in (ROOT / "examples").iterdir() if (p / "fanout.yaml").is_file()),
    *sorted(p / "source" for p in (ROOT / "tests" / "golden").iterdir() if (p / "source").is_dir()),
]
REGRESSIONS = ROOT / "tests" / "fuzz-regressions"
LOCATED = re.compile(r"^[^\s:][^:]*:\d+:\d+: .+$")
SUMMARY = re.compile(r"^fanout: \d+ problems? found$")

# What a mutation can put into a YAML file: each a hostile or odd piece of real YAML.
SNIPPETS = [
    "!!python/object:os.system x",
    "!!binary aGVsbG8=",
    "!!bool maybe",
    "!!int nope",
    "&a [1, *a]",
    "*undefined",
    "[" * 300 + "]" * 300,
    "x" * 5000,
    "\t",
    "\r\n",
    "\x00",
    "\ufeff",
    "'unterminated",
    "{a: 1, a: 2}",
    "${cluster.values.nope}",
    "${cluster.labels}",
    "$${cluster.name}",
    "../../etc/passwd",
    "/absolute/path",
    "a" * 300,
    "Nämé-ünïcode",
    "null",
    "- item",
    "key: [unclosed",
    "<<: *undefined",
    "2024-01-01",
    "0x10",
    "1e999",
    # Values that would forge lines or escape sequences if printed raw (issue 28): YAML double-quoted escapes.
    '"Cluster\\n::notice file=README.md,line=1::All checks passed, safe to merge"',
    '"\\e]0;pwned\\a"',
    '"right\\u202eleft"',
    '"a\\u2028b\\u2029c"',
    '"\\x85next"',
    '"::add-mask::secret"',
    '"::stop-commands::token"',
]
# Control characters that text output never prints raw: they would start a line, move the cursor or turn
# the text around. A newline only ends a line fanout itself wrote.
RAW_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
CONFIG_VALUES = ["../outside", "/etc", "rendered/..", "clusters", "templates", ".", "", "a/../../b"]


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in (".yaml", ".yml"))


@st.composite
def mutation(draw: st.DrawFn) -> tuple[int, list[tuple[str, int, int, str]]]:
    base = draw(st.integers(0, len(BASES) - 1))
    steps = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(
            st.sampled_from(["insert", "replace-line", "delete-line", "flip-byte", "bom", "crlf", "config"])
        )
        steps.append(
            (
                kind,
                draw(st.integers(0, 10_000)),
                draw(st.integers(0, 10_000)),
                draw(st.sampled_from(SNIPPETS)),
            )
        )
    return base, steps


def apply(root: Path, steps: list[tuple[str, int, int, str]]) -> None:
    files = [p for p in _files(root) if "rendered" not in p.relative_to(root).parts]
    for kind, which, where, snippet in steps:
        if kind == "config":
            key = ("clusters", "templates", "overrides", "output", "defaultNamespace")[which % 5]
            value = CONFIG_VALUES[where % len(CONFIG_VALUES)]
            config = root / "fanout.yaml"
            # Bytes: an earlier step may have re-encoded the file (a UTF-16 byte order mark).
            data = (
                config.read_bytes()
                if config.is_file()
                else b"apiVersion: fanout.dev/v1alpha1\nkind: Config\n"
            )
            config.write_bytes(data + f"{key}: {value!r}\n".encode())
            continue
        target = files[which % len(files)]
        data = target.read_bytes()
        if kind == "bom":
            target.write_bytes(
                ("\ufeff" if where % 2 else "").encode("utf-16") + data
                if where % 3
                else b"\xef\xbb\xbf" + data
            )
        elif kind == "crlf":
            target.write_bytes(data.replace(b"\n", b"\r\n"))
        elif kind == "flip-byte" and data:
            at = where % len(data)
            target.write_bytes(data[:at] + bytes([data[at] ^ (1 << (which % 8))]) + data[at + 1 :])
        else:
            lines = data.split(b"\n")
            at = where % max(len(lines), 1)
            if kind == "insert":
                indent = len(lines[at]) - len(lines[at].lstrip()) if lines else 0
                lines.insert(at, b" " * indent + f"k{which}: {snippet}".encode())
            elif kind == "replace-line" and lines:
                head = lines[at].split(b":", 1)[0]
                lines[at] = head + b": " + snippet.encode()
            elif lines:
                del lines[at]
            target.write_bytes(b"\n".join(lines))


def _invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def check_promise(root: Path, work: Path) -> None:
    """Every command on ``root``; ``work`` holds the used output folder and must see no other change."""
    out = work / "out"
    outside = {p: b for p, b in read_tree(work).items() if not p.startswith(("out/", "src/"))}
    before = read_tree(out)
    for args in (
        ("validate", str(root)),
        ("clusters", str(root)),
        ("render", str(root), "--output-dir", str(out), "--check"),
        ("render", str(root), "--output-dir", str(out), "--jobs", "1"),
    ):
        code, stdout, stderr = _invoke(*args)
        # 3: --check found the output stale, which a mutation that changes an object rightly makes it.
        assert code in ((0, 1, 2, 3) if "--check" in args else (0, 1, 2)), (args, code, stderr)
        assert not RAW_CONTROL.search(stdout + stderr), (args, stdout, stderr)
        if code == 1:
            lines = stderr.splitlines()
            for line in lines:
                assert (
                    LOCATED.match(line) or SUMMARY.match(line) or line.startswith(("fanout:", "  ", "run "))
                ), (
                    args,
                    line,
                )
        if args[0] == "render" and (code != 0 or "--check" in args):
            assert read_tree(out) == before, args
    outside_after = {p: b for p, b in read_tree(work).items() if not p.startswith(("out/", "src/"))}
    assert outside_after == outside


def _commit(root: Path) -> None:
    for args in (
        ["init", "-q", "-b", "main"],
        ["add", "-A"],
        ["-c", "user.name=fuzz", "-c", "user.email=f@z", "commit", "-q", "--no-verify", "-m", "x"],
    ):
        subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def check_ref_agrees(root: Path) -> None:
    _commit(root)
    disk = _invoke("validate", str(root))
    commit = _invoke("validate", str(root), "--ref", "HEAD")
    assert disk[0] == commit[0], (disk, commit)
    assert disk[2] == commit[2]  # the same problems, in the same words


def _prepare(base: Path, work: Path) -> Path:
    root = work / "src"
    shutil.copytree(base, root, ignore=shutil.ignore_patterns("rendered", ".git"))
    # A used output folder: rendered from the unmutated source.
    code, _, stderr = _invoke("render", str(root), "--output-dir", str(work / "out"))
    assert code == 0, stderr
    return root


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=os.environ.get("FANOUT_FUZZ_SEED") is None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(mutation())
def test_mutated_sources_keep_the_promise(
    tmp_path_factory: pytest.TempPathFactory, case: tuple[int, list[tuple[str, int, int, str]]]
) -> None:
    base, steps = case
    work = tmp_path_factory.mktemp("fuzz")
    root = _prepare(BASES[base], work)
    apply(root, steps)
    check_promise(root, work)
    check_ref_agrees(root)


# --- objects fanout interprets: of any shape, a located error ------------------------------------------

INTERPRETED = (
    "CustomResourceDefinition",
    "FederatedTypeConfig",
    "KubeFedCluster",
    "Cluster",
    "HelmChart",
    "Override",
)
SHAPE_BASES = [
    ROOT / "examples" / "kubefed",
    ROOT / "examples" / "pacman-2019-kubefed",
    ROOT / "examples" / "helm",
    ROOT / "examples" / "kustomize-flux",
]
KUBE_SUMMARY = re.compile(r"^(\d+ problems? in \d+ objects?|no problems): checked ")
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from(["", "x", "v1", "-1", *SNIPPETS[-7:]]),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["a", "type", "properties", "name"]), inner, max_size=3)
    ),
    max_leaves=6,
)


def _paths(value: object, at: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    found = [at]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*at, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*at, index))
    return found


def _replace(document: object, path: tuple[object, ...], value: object) -> object:
    if not path:
        return value
    parent = document
    for step in path[:-1]:
        parent = parent[step]  # type: ignore[index]
    parent[path[-1]] = value  # type: ignore[index]
    return document


def _interpreted_files(root: Path) -> list[tuple[Path, int]]:
    import yaml

    found = []
    for path in _files(root):
        try:
            documents = list(yaml.safe_load_all(path.read_text()))
        except yaml.YAMLError:
            continue
        found += [
            (path, i) for i, d in enumerate(documents) if isinstance(d, dict) and d.get("kind") in INTERPRETED
        ]
    return found


def check_located(args: tuple[str, ...]) -> None:
    code, stdout, stderr = _invoke(*args)
    assert code in (0, 1), (args, code, stdout, stderr)
    assert not RAW_CONTROL.search(stdout + stderr), (args, stdout, stderr)
    for line in stderr.splitlines():
        assert LOCATED.match(line) or SUMMARY.match(line) or line.startswith("fanout: "), (args, line)
    if code == 1 and "--kubernetes" in args:
        for line in stdout.splitlines():
            assert LOCATED.match(line) or line.startswith("skipped: ") or KUBE_SUMMARY.match(line), (
                args,
                line,
            )


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=os.environ.get("FANOUT_FUZZ_SEED") is None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.integers(0, len(SHAPE_BASES) - 1), st.integers(0, 10_000), st.integers(0, 10_000), JSONISH)
def test_interpreted_objects_of_any_shape_are_located_errors(
    tmp_path_factory: pytest.TempPathFactory, base: int, which: int, where: int, value: object
) -> None:
    """CRDs, type configs and cluster registrations with one part replaced by anything: never exit 70, every
    line located (issue 28), through validate --kubernetes as well."""
    import yaml

    pytest.importorskip("kubernetes_validate")
    root = tmp_path_factory.mktemp("shape") / "src"
    shutil.copytree(SHAPE_BASES[base], root, ignore=shutil.ignore_patterns("rendered"))
    targets = _interpreted_files(root)
    path, index = targets[which % len(targets)]
    documents = list(yaml.safe_load_all(path.read_text()))
    paths = _paths(documents[index])
    documents[index] = _replace(documents[index], paths[where % len(paths)], value)
    path.write_text(yaml.safe_dump_all(documents))
    for args in (
        ("validate", str(root)),
        ("validate", "--kubernetes", str(root)),
        ("validate", "--kubernetes", "--strict", str(root)),
    ):
        check_located(args)


CASES = sorted(p.name for p in REGRESSIONS.iterdir()) if REGRESSIONS.is_dir() else []


@pytest.mark.parametrize("case", CASES)
def test_regression(case: str, tmp_path: Path) -> None:
    """Inputs that once broke the promise, kept as they were found."""
    root = tmp_path / "src"
    shutil.copytree(REGRESSIONS / case / "source", root)
    (tmp_path / "out").mkdir()
    check_promise(root, tmp_path)
    check_ref_agrees(root)
    if importlib.util.find_spec("kubernetes_validate") is not None:
        check_located(("validate", "--kubernetes", str(root)))
        check_located(("validate", "--kubernetes", "--strict", str(root)))
