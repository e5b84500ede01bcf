"""Issue 24's benchmark: a chart renders once per distinct set of values, not once per cluster.

``python benchmarks/helm_bench.py [--clusters 1000] [--repeat 3]`` writes two source roots of N clusters with
three distinct value sets: one with a HelmChart whose chart has 10 objects, one with the same 10 objects as
plain templates reading the same values through ``${cluster.values.*}``. It prints the best of R cold renders
of each (a separate ``fanout render`` process each time) and their ratio. Needs the helm extra.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

OBJECTS = 10
TIERS = ("small", "medium", "large")


def clusters(count: int) -> str:
    docs = []
    for index in range(count):
        tier = TIERS[index % len(TIERS)]
        docs.append(
            "apiVersion: fanout.dev/v1alpha1\nkind: Cluster\n"
            f"metadata: {{name: c{index:05d}, labels: {{tier: {tier}}}}}\n"
            f"spec: {{values: {{tier: {tier}, size: {TIERS.index(tier) + 1}}}}}\n"
        )
    return "---\n".join(docs)


def chart_root(root: Path, count: int) -> None:
    chart = root / "charts" / "bench"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: bench\nversion: 1.0.0\n")
    (chart / "values.yaml").write_text("tier: none\nsize: 0\n")
    for index in range(OBJECTS):
        (chart / "templates" / f"cm{index}.yaml").write_text(
            "apiVersion: v1\nkind: ConfigMap\n"
            f"metadata: {{name: {{{{ .Release.Name }}}}-{index}}}\n"
            "data:\n  tier: {{ .Values.tier | quote }}\n  size: {{ .Values.size | quote }}\n"
        )
    (root / "clusters").mkdir()
    (root / "clusters" / "all.yaml").write_text(clusters(count))
    (root / "templates").mkdir()
    (root / "templates" / "chart.yaml").write_text(
        "apiVersion: fanout.dev/v1alpha1\nkind: HelmChart\nmetadata: {name: bench, namespace: bench}\n"
        "spec:\n  chart: bench\n  values:\n"
        "    tier: ${cluster.values.tier}\n    size: ${cluster.values.size}\n"
    )


def plain_root(root: Path, count: int) -> None:
    (root / "clusters").mkdir(parents=True)
    (root / "clusters" / "all.yaml").write_text(clusters(count))
    (root / "templates").mkdir()
    for index in range(OBJECTS):
        (root / "templates" / f"cm{index}.yaml").write_text(
            f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: bench-{index}, namespace: bench}}\n"
            'data:\n  tier: "${cluster.values.tier}"\n  size: "${cluster.values.size}"\n'
        )


def cold_render(root: Path, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        out = root / "rendered"
        shutil.rmtree(out, ignore_errors=True)
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "fanout", "render", str(root), "--no-cache"],
            check=True,
            capture_output=True,
        )
        best = min(best, time.perf_counter() - start)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clusters", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        chart, plain = Path(folder) / "chart", Path(folder) / "plain"
        chart_root(chart, args.clusters)
        plain_root(plain, args.clusters)
        with_chart = cold_render(chart, args.repeat)
        without = cold_render(plain, args.repeat)
    objects = args.clusters * OBJECTS
    print(
        f"{args.clusters} clusters x a chart of {OBJECTS} objects, {len(TIERS)} distinct value sets"
        f" ({objects} objects)"
    )
    print(f"  HelmChart:            {with_chart:6.2f} s (best of {args.repeat} cold renders)")
    print(f"  the same as templates: {without:6.2f} s")
    print(
        f"  ratio:                {with_chart / without:6.2f}x"
        " (goal: about 1x; renders follow the value sets)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
