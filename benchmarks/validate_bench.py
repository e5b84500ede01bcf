"""Kubernetes schema validation speed on a synthetic source root, with and without de-duplication.

    python benchmarks/validate_bench.py [--clusters 100] [--templates 100] [--overrides 100] [--strict]
                                        [--repeat 3] [--baseline 200]

Generates a root with ``benchmarks/generate.py`` into a temporary folder, renders it once (not timed), then
times ``fanout.kubecheck.check_rendering`` twice: as fanout runs it (each distinct object validated once)
and validating every object of every cluster. With ``--baseline N`` it also times N calls of
``kubernetes_validate.validate()``, what fanout avoids. Figures are objects (one per cluster and object)
checked per second, fastest of ``--repeat`` runs; schema loading is included, rendering is not.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import generate

from fanout.render.pipeline import load_inputs, render
from fanout.report.kubecheck import KubeOptions, check_rendering
from fanout.source.tree import DirectorySource


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clusters", type=int, default=100)
    parser.add_argument("--templates", type=int, default=100)
    parser.add_argument("--overrides", type=int, default=100)
    parser.add_argument("--strict", action="store_true", help="use the strict schemas")
    parser.add_argument("--repeat", type=int, default=3, help="runs per mode; the fastest counts")
    parser.add_argument(
        "--baseline", type=int, default=0, help="also time N kubernetes_validate.validate() calls"
    )
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "src"
        generate(root, clusters=args.clusters, templates=args.templates, overrides=args.overrides)
        rendering = render(load_inputs(DirectorySource(root)))
    total = rendering.object_count
    options = KubeOptions(strict=args.strict)
    flavour = "strict" if args.strict else "plain"
    print(
        f"{args.clusters} clusters x {args.templates} templates, {args.overrides} overrides: "
        f"{total} rendered objects, {flavour} schemas"
    )
    for deduplicate, label in ((True, "with de-duplication"), (False, "without de-duplication")):
        elapsed = float("inf")
        for _ in range(max(1, args.repeat)):
            start = time.perf_counter()
            report = check_rendering(rendering, options, deduplicate=deduplicate)
            elapsed = min(elapsed, time.perf_counter() - start)
        print(
            f"  {label:<24} {elapsed:7.2f} s  {total / elapsed:9.0f} objects/s  "
            f"({report.distinct_objects} validated, {len(report.findings)} findings)"
        )
    if args.baseline:
        import kubernetes_validate

        objects = [r.obj for c in rendering.clusters for r in c.objects][: args.baseline]
        start = time.perf_counter()
        for obj in objects:
            with contextlib.suppress(Exception):  # an invalid object is a result here, not an error
                kubernetes_validate.validate(dict(obj), "1.31", args.strict)
        elapsed = time.perf_counter() - start
        print(f"  {'kubernetes_validate':<24} {elapsed:7.2f} s  {len(objects) / elapsed:9.0f} objects/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
