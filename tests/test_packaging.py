"""The built wheel carries the JSON Schemas, so an installed fanout works from any folder."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from conftest import ROOT


def test_wheel_contains_the_schemas_and_works_when_installed_elsewhere(tmp_path: Path, source: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
    )
    (wheel,) = tmp_path.glob("fanout_gitops-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    shipped = sorted(n for n in names if n.startswith("fanout/schemas/") and "/src/" not in n)
    expected = sorted(f"fanout/schemas/{p.name}" for p in (ROOT / "schemas").glob("*.json"))
    assert shipped == expected

    # Unpacked alone (no source checkout beside it), the package still finds its schemas.
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; sys.path.insert(0, sys.argv.pop(1)); import fanout; assert fanout.__file__.startswith(sys.path[0]); from fanout.cli import main; main()",
            str(site),
            "validate",
            str(source),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "is valid" in done.stdout


def test_every_install_hint_names_this_distribution() -> None:
    """``fanout`` on the package index is an unrelated project: a hint that says ``pip install fanout[...]``
    would install someone else's code. Every extra a text of the project names is this distribution's."""
    import re

    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    name, extras = project["name"], set(project["optional-dependencies"])
    hint = re.compile(r"pip install\s+(?:-e\s+)?['\"]?([A-Za-z0-9_.-]+)\[([a-z,]+)\]")
    places = [ROOT / "README.md", *(ROOT / "docs").rglob("*.md"), *(ROOT / "fanout").rglob("*.py")]
    places += [*(ROOT / ".github").rglob("*.yml"), ROOT / "action.yml"]
    found = []
    for path in places:
        if not path.is_file():
            continue
        for match in hint.finditer(path.read_text(encoding="utf-8")):
            found.append(match.group(1))
            assert match.group(1) in (name, "."), f"{path.relative_to(ROOT)}: {match.group(0)}"
            assert set(match.group(2).split(",")) <= extras, f"{path.relative_to(ROOT)}: {match.group(0)}"
    assert name in found  # the hints exist (kubernetes validation, Helm charts)
