"""The schemas outside fanout: self-contained files that check-jsonschema and editors can use on their own.

check-jsonschema (https://github.com/python-jsonschema/check-jsonschema) stands in for the editors: it is
given one schema file and nothing else, as yaml-language-server is through a ``# yaml-language-server:
$schema=...`` line. It reads one YAML document per file, so multi-document files are split first.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, Invoke

from fanout.core import schemabundle

SCHEMAS = ROOT / "schemas"
MODELINE = re.compile(r"^# yaml-language-server: \$schema=(\S+)$", re.MULTILINE)


# The folders that hold fanout documents; charts/, values files, rendered/ output and upstream/ (another
# tool's files, kept verbatim in examples/kustomize-flux) hold other things.
FANOUT_FOLDERS = ("clusters", "templates", "overrides")


def _inputs(folder: Path) -> list[Path]:
    roots = [p.parent for p in folder.rglob("fanout.yaml") if "upstream" not in p.parts] or [folder]
    found = {root / "fanout.yaml" for root in roots if (root / "fanout.yaml").is_file()}
    for root in roots:
        for name in FANOUT_FOLDERS:
            found.update(p for p in (root / name).rglob("*.yaml") if "rendered" not in p.parts)
    return sorted(found)


SAMPLE_FILES = _inputs(ROOT / "sample-repo")
EXAMPLE_FILES = _inputs(ROOT / "examples")


def _check(schema: Path, files: list[Path]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--schemafile", str(schema), *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
    )


def _split(path: Path, into: Path) -> list[Path]:
    """Each YAML document of ``path`` as a file of its own (what check-jsonschema can read)."""
    parts = []
    for index, doc in enumerate(yaml.safe_load_all(path.read_text(encoding="utf-8"))):
        if doc is None:
            continue
        part = into / f"{path.name}.{index}.yaml"
        part.write_text(yaml.safe_dump(doc), encoding="utf-8")
        parts.append(part)
    return parts


def test_the_shipped_schemas_are_built_from_the_sources() -> None:
    built = schemabundle.build(schemabundle.read_sources(SCHEMAS / "src"))
    shipped = {p.name.removesuffix(".schema.json"): p for p in SCHEMAS.glob("*.schema.json")}
    assert sorted(shipped) == sorted(built)
    for name, schema in built.items():
        assert shipped[name].read_text(encoding="utf-8") == schemabundle.text(schema), (
            f"schemas/{name}.schema.json is stale: run python -m fanout.core.schemabundle"
        )


def test_every_shipped_schema_stands_alone() -> None:
    for path in SCHEMAS.glob("*.schema.json"):
        refs = re.findall(r'"\$ref": "([^"]*)"', path.read_text(encoding="utf-8"))
        assert all(ref.startswith("#") for ref in refs), f"{path.name} refers outside itself: {refs}"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--check-metaschema",
            *map(str, SCHEMAS.glob("*.schema.json")),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("path", SAMPLE_FILES + EXAMPLE_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_sample_and_example_document_passes_check_jsonschema(path: Path, tmp_path: Path) -> None:
    parts = _split(path, tmp_path)
    done = _check(SCHEMAS / "fanout.schema.json", parts)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("path", SAMPLE_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_sample_files_name_their_schema_on_every_document(path: Path, tmp_path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    documents = [d for d in re.split(r"^---$", text, flags=re.MULTILINE) if d.strip()]
    lines = [MODELINE.search(d) for d in documents]
    assert all(lines), f"{path}: a document without its yaml-language-server line"
    targets = {m.group(1) for m in lines if m}
    assert len(targets) == 1
    # Relative to the file, as yaml-language-server resolves it.
    schema = (path.parent / targets.pop()).resolve()
    assert schema.parent == SCHEMAS and schema.is_file()
    done = _check(schema, _split(path, tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_mistake_is_caught_by_the_schema_alone(tmp_path: Path) -> None:
    bad = tmp_path / "override.yaml"
    bad.write_text(
        "apiVersion: fanout.dev/v1alpha1\nkind: Override\nmetadata: {name: x}\n"
        "spec:\n  clusters: {names: [a]}\n  resources: [{kind: Deployment, name: web}]\n"
        "  patch: [{op: rename, path: /spec/replicas}]\n"
    )
    for schema in ("fanout", "override"):
        done = _check(SCHEMAS / f"{schema}.schema.json", [bad])
        assert done.returncode == 1
        assert "rename" in done.stdout
    cluster = tmp_path / "cluster.yaml"
    cluster.write_text("apiVersion: fanout.dev/v1alpha1\nkind: Cluster\nmetadata: {name: Not_A_Name}\n")
    assert _check(SCHEMAS / "fanout.schema.json", [cluster]).returncode == 1


# --- fanout schema -----------------------------------------------------------------------------------


def test_schema_prints_the_shipped_files(invoke: Invoke, tmp_path: Path) -> None:
    whole = invoke("schema")
    assert whole.exit_code == 0
    assert json.loads(whole.stdout) == json.loads((SCHEMAS / "fanout.schema.json").read_text())
    for asked, name in [
        ("override", "override"),
        ("Override", "override"),
        ("FederatedDeployment", "federated"),
        ("FederatedDeploymentPlacement", "primitives-placement"),
        ("KubeFedCluster", "foreigncluster"),
        ("Deployment", "manifest"),
    ]:
        shown = json.loads(invoke("schema", asked).stdout)
        assert shown["$id"].endswith(f"/{name}.schema.json"), asked
    listed = invoke("schema", "--list").stdout.split("\n")
    assert any(line.startswith("override ") for line in listed)
    unknown = invoke("schema", "overide")
    assert unknown.exit_code == 1 and "did you mean 'override'" in unknown.stderr

    out = tmp_path / "copies"
    assert invoke("schema", "--output-dir", str(out)).exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in SCHEMAS.glob("*.schema.json"))


# --- fanout init -------------------------------------------------------------------------------------


def test_init_writes_a_source_root_that_renders_and_checks(invoke: Invoke, tmp_path: Path) -> None:
    root = tmp_path / "platform"
    made = invoke("init", str(root))
    assert made.exit_code == 0, made.output
    assert "next: fanout render" in made.stdout
    inputs = ["fanout.yaml", "clusters/example.yaml", "templates/hello.yaml", "overrides/dev.yaml"]
    for name in inputs:
        path = root / name
        match = MODELINE.search(path.read_text())
        assert match, name
        schema = (path.parent / match.group(1)).resolve()
        assert schema.is_file() and schema.parent == (root / ".fanout/schemas").resolve()
        assert _check(schema, [path]).returncode == 0

    valid = json.loads(invoke("validate", str(root), "-o", "json").stdout)
    assert valid["valid"] is True and valid["problems"] == []
    assert invoke("render", str(root)).exit_code == 0
    rendered = (root / "rendered/example/default/configmap_hello.yaml").read_text()
    assert "cluster: example" in rendered and "logLevel: debug" in rendered


def test_init_refuses_to_overwrite_anything(invoke: Invoke, tmp_path: Path) -> None:
    (tmp_path / "fanout.yaml").write_text("# mine\n")
    before = sorted(os.listdir(tmp_path))
    refused = invoke("init", str(tmp_path))
    assert refused.exit_code == 1
    assert (
        refused.stderr.splitlines()[0]
        == f"{tmp_path}/fanout.yaml: already exists; fanout init writes only new files"
    )
    assert sorted(os.listdir(tmp_path)) == before  # nothing written, not even the other files
    assert (tmp_path / "fanout.yaml").read_text() == "# mine\n"

    fresh = tmp_path / "fresh"
    assert invoke("init", str(fresh)).exit_code == 0
    again = invoke("init", str(fresh))
    assert again.exit_code == 1
    assert len(again.stderr.splitlines()) == 6  # four inputs, the schema folder, the summary
