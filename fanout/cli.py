"""The command line: parses arguments and calls one function per command. Nothing else happens here."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
import typer.core

from fanout import __version__
from fanout.commands.clihelp import (
    EXAMPLES_CLUSTERS,
    EXAMPLES_DIFF,
    EXAMPLES_EXPLAIN,
    EXAMPLES_FEDERATE,
    EXAMPLES_IMPORT,
    EXAMPLES_INIT,
    EXAMPLES_MAIN,
    EXAMPLES_PR_REPORT,
    EXAMPLES_PUBLISH,
    EXAMPLES_RENDER,
    EXAMPLES_SCHEMA,
    EXAMPLES_VALIDATE,
)
from fanout.commands.cliparts import (
    CacheDirOpt,
    ClusterOpt,
    DeprecatedOutOpt,
    ErrorFormat,
    FromDirOpt,
    GitSourceArg,
    HydratorMetadataOpt,
    IgnoreMissingOpt,
    KubeVersionOpt,
    Layout,
    OutputDirOpt,
    OutputFormat,
    PerClusterBranchOpt,
    PerClusterPrefixOpt,
    PlainArguments,
    RefOpt,
    ReportFormat,
    SchemaDirOpt,
    SelectorOpt,
    SkipOpt,
    SourceArg,
    StrictOpt,
    TextJson,
    TextJsonYaml,
    _complete_clusters,
    _complete_targets,
    echo,
    echo_error,
    kube_options,
    notes,
    notices,
    reporting,
    resolve_output_dir,
)
from fanout.core.errors import EXIT_INTERNAL, FanoutError
from fanout.source.discover import find_root

if TYPE_CHECKING:
    pass


# Plain help and usage errors, as kubectl and git print them: no boxes in CI logs, no styling to undo.
app = typer.Typer(
    name="fanout",
    help="Render KubeFed-style federated manifests into one GitOps folder per cluster.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"fanout {__version__}")
        raise typer.Exit()


@app.callback(epilog=EXAMPLES_MAIN)
def _main(
    ctx: typer.Context,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
    error_format: Annotated[
        ErrorFormat | None,
        typer.Option(
            "--error-format",
            help="How input problems are printed: text (path:line:col: message), json, or github"
            " (Actions annotations). Also $FANOUT_ERROR_FORMAT.",
        ),
    ] = None,
) -> None:
    """fanout: one set of manifests, many clusters' worth of GitOps output."""
    ctx.obj = error_format.value if error_format is not None else None


@app.command(cls=PlainArguments, epilog=EXAMPLES_RENDER)
@reporting
def render(
    ctx: typer.Context,
    source: SourceArg = ".",
    output_dir: OutputDirOpt = None,
    output: Annotated[
        TextJson, typer.Option("--output", "-o", help="What is printed: text or json (a versioned document).")
    ] = TextJson.text,
    cluster: ClusterOpt = [],  # noqa: B006 - Typer reads the default, never mutates it
    selector: SelectorOpt = None,
    check: Annotated[
        bool, typer.Option("--check", help="Write nothing; exit 3 when the output is stale.")
    ] = False,
    fail_on_change: Annotated[
        bool, typer.Option("--fail-on-change", help="Exit 3 when files changed (for pre-commit).")
    ] = False,
    validate_kubernetes: Annotated[
        bool,
        typer.Option(
            "--validate-kubernetes",
            help="Check objects against Kubernetes schemas first; write nothing if bad.",
        ),
    ] = False,
    kubernetes_version: KubeVersionOpt = None,
    strict: StrictOpt = False,
    skip: SkipOpt = [],  # noqa: B006
    ignore_missing_schemas: IgnoreMissingOpt = False,
    schema_dir: SchemaDirOpt = [],  # noqa: B006
    ref: RefOpt = None,
    cache_dir: CacheDirOpt = None,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs",
            "-j",
            min=1,
            metavar="INTEGER",
            help="Render with this many processes (default: every core).",
        ),
    ] = None,
    shard: Annotated[
        str | None,
        typer.Option(
            "--shard",
            metavar="I/N",
            help="Only the I-th of N shards of the clusters (by name), for CI matrices.",
        ),
    ] = None,
    no_cache: Annotated[
        bool,
        typer.Option("--no-cache", help="Render every cluster, even those unchanged since the last render."),
    ] = False,
    no_wait: Annotated[
        bool,
        typer.Option("--no-wait", help="Fail at once when another fanout is writing the output folder."),
    ] = False,
    trusted_base: Annotated[
        str | None,
        typer.Option(
            "--trusted-base",
            metavar="REF",
            help="With --check: trust the output committed at REF (e.g. origin/main, checked by CI) and"
            " render only the clusters whose inputs or files changed since.",
        ),
    ] = None,
    out: DeprecatedOutOpt = None,
) -> int:
    """Render every cluster into OUTPUT_DIR/<cluster>/."""
    source = find_root(source)
    from fanout.commands import render as command
    from fanout.render.shard import parse_shard

    if trusted_base is not None and not check:
        raise typer.BadParameter("only works with --check", param_hint="--trusted-base")

    kube = kube_options(
        validate_kubernetes,
        "--validate-kubernetes",
        kubernetes_version,
        strict,
        skip,
        ignore_missing_schemas,
        schema_dir,
    )
    try:
        chosen = parse_shard(shard) if shard is not None else None
    except FanoutError as exc:
        raise typer.BadParameter(exc.problems[0].message, param_hint="--shard") from None
    return command.run(
        source,
        resolve_output_dir(output_dir, out),
        cluster,
        selector,
        check,
        fail_on_change,
        echo,
        kube,
        ref,
        cache_dir,
        jobs,
        chosen,
        not no_cache,
        notes(ctx),
        not no_wait,
        output.value,
        notices(ctx, source),
        trusted_base,
    )


@app.command(cls=PlainArguments, epilog=EXAMPLES_VALIDATE)
@reporting
def validate(
    ctx: typer.Context,
    source: SourceArg = ".",
    kubernetes: Annotated[
        bool,
        typer.Option(
            "--kubernetes",
            help="Also check every rendered object against its Kubernetes JSON Schema (offline; "
            "needs the 'kubernetes' extra).",
        ),
    ] = False,
    kubernetes_version: KubeVersionOpt = None,
    strict: StrictOpt = False,
    skip: SkipOpt = [],  # noqa: B006
    ignore_missing_schemas: IgnoreMissingOpt = False,
    schema_dir: SchemaDirOpt = [],  # noqa: B006
    output: Annotated[
        ReportFormat,
        typer.Option(
            "--output", "-o", help="text, json, junit (with --kubernetes) or github (Actions annotations)."
        ),
    ] = ReportFormat.text,
    report_format: Annotated[ReportFormat | None, typer.Option("--format", hidden=True)] = None,
    ref: RefOpt = None,
    cache_dir: CacheDirOpt = None,
) -> int:
    """Check every input against its schema and render in memory, writing nothing."""
    source = find_root(source)
    from fanout.commands import validate as command

    if report_format is not None:
        echo_error("fanout: warning: --format is deprecated and will go in the next release; use --output")
        output = report_format
    if output is ReportFormat.junit and not kubernetes:
        raise typer.BadParameter(
            "junit reports --kubernetes findings; add --kubernetes", param_hint="--output"
        )
    kube = kube_options(
        kubernetes,
        "--kubernetes",
        kubernetes_version,
        strict,
        skip,
        ignore_missing_schemas,
        schema_dir,
    )
    return command.run(source, echo, kube, output.value, echo_error, ref, cache_dir)


@app.command(cls=PlainArguments, epilog=EXAMPLES_CLUSTERS)
@reporting
def clusters(
    ctx: typer.Context,
    source: SourceArg = ".",
    matrix: Annotated[
        bool, typer.Option("--matrix", help="Show which template lands on which cluster.")
    ] = False,
    output: Annotated[
        TextJsonYaml, typer.Option("--output", "-o", help="text, json or yaml (versioned documents).")
    ] = TextJsonYaml.text,
    ref: RefOpt = None,
    cache_dir: CacheDirOpt = None,
) -> int:
    """List the cluster inventory with labels and the number of objects placed."""
    source = find_root(source)
    from fanout.commands import clusters as command

    return command.run(source, matrix, echo, ref, cache_dir, output.value)


@app.command(cls=PlainArguments, epilog=EXAMPLES_PUBLISH)
@reporting
def publish(
    ctx: typer.Context,
    source: SourceArg = ".",
    branch: Annotated[
        str | None, typer.Option("--branch", "-b", metavar="NAME", help="Commit the output to this branch.")
    ] = None,
    per_cluster_prefix: PerClusterPrefixOpt = None,
    per_cluster_branch: PerClusterBranchOpt = None,
    ref: Annotated[
        str | None, typer.Option("--ref", metavar="REF", help="The source commit to render (default: HEAD).")
    ] = None,
    into: Annotated[
        str | None,
        typer.Option("--into", metavar="PATH", help="Replace only this folder of the branch, keep the rest."),
    ] = None,
    keep: Annotated[
        list[str],
        typer.Option(
            "--keep", metavar="GLOB", help="Carry files of the previous tip matching this glob (repeatable)."
        ),
    ] = [],  # noqa: B006 - Typer reads the default, never mutates it
    push: Annotated[bool, typer.Option("--push", help="Push the branches to --remote.")] = False,
    remote: Annotated[
        str, typer.Option("--remote", metavar="NAME", help="The remote to push to.")
    ] = "origin",
    force: Annotated[
        bool, typer.Option("--force", help="Force-push instead of rebuilding on a newer remote tip.")
    ] = False,
    from_dir: FromDirOpt = None,
    cache_dir: CacheDirOpt = None,
    cluster: ClusterOpt = [],  # noqa: B006 - Typer reads the default, never mutates it
    selector: SelectorOpt = None,
    allow_rollback: Annotated[
        bool,
        typer.Option("--allow-rollback", help="Publish even when the branch holds a newer source's output."),
    ] = False,
    prune: Annotated[
        bool, typer.Option("--prune", help="Delete per-cluster branches of clusters no longer rendered.")
    ] = False,
    hydrator_metadata: HydratorMetadataOpt = False,
) -> int:
    """Render the source at a commit and commit the output to a branch, without touching the checkout."""
    source = find_root(source)
    from fanout.commands import publish as command

    given = [o for o in (branch, per_cluster_prefix, per_cluster_branch) if o is not None]
    if len(given) != 1:
        raise typer.BadParameter(
            "give exactly one of --branch NAME, --per-cluster-branch TEMPLATE and --per-cluster-prefix PREFIX"
        )
    options = command.Options(
        branch,
        per_cluster_prefix,
        ref,
        cache_dir,
        into,
        keep,
        push,
        remote,
        force,
        from_dir,
        allow_rollback,
        cluster,
        selector,
        per_cluster_branch,
        prune,
        hydrator_metadata,
    )
    return command.run(source, options, echo)


@app.command(cls=PlainArguments, epilog=EXAMPLES_DIFF)
@reporting
def diff(
    ctx: typer.Context,
    source: GitSourceArg = ".",
    clusters_pair: Annotated[
        tuple[str, str] | None,
        typer.Option("--clusters", metavar="A B", help="Compare cluster B's objects with cluster A's."),
    ] = None,
    base: Annotated[
        str | None, typer.Option("--base", metavar="REF", help="Compare every cluster at REF with --head.")
    ] = None,
    head: Annotated[
        str | None,
        typer.Option("--head", metavar="REF", help="The newer side (default: the working tree)."),
    ] = None,
    cluster: ClusterOpt = [],  # noqa: B006 - Typer reads the default, never mutates it
    selector: SelectorOpt = None,
    stat: Annotated[bool, typer.Option("--stat", help="Print the summary table only.")] = False,
    output_format: Annotated[
        OutputFormat,
        typer.Option("--output", "-o", help="text, json (stable shape) or markdown (for PRs)."),
    ] = OutputFormat.text,
    exit_code: Annotated[
        bool, typer.Option("--exit-code", help="Exit 3 when there is any difference.")
    ] = False,
    deprecated_format: Annotated[OutputFormat | None, typer.Option("--format", "-f", hidden=True)] = None,
) -> int:
    """Show how two clusters differ, or what changes in every cluster between two revisions."""
    source = find_root(source)
    if deprecated_format is not None:
        echo_error("fanout: warning: --format is deprecated and will go in the next release; use --output")
        output_format = deprecated_format
    if (clusters_pair is None) == (base is None):
        raise typer.BadParameter("give either --clusters A B or --base REF")
    if clusters_pair is not None and (cluster or selector is not None):
        raise typer.BadParameter("--cluster and --selector narrow --base; --clusters names its two clusters")
    from fanout.commands import diff as command

    return command.run(
        source, clusters_pair, base, head, cluster, selector, stat, output_format.value, exit_code, echo
    )


@app.command("pr-report", cls=PlainArguments, epilog=EXAMPLES_PR_REPORT)
@reporting
def pr_report(
    ctx: typer.Context,
    source: SourceArg = ".",
    base: Annotated[
        str, typer.Option("--base", metavar="REF", help="The pull request's target, e.g. origin/main.")
    ] = "origin/main",
    comment: Annotated[
        bool, typer.Option("--comment", help="Keep one pull-request comment up to date with the diff.")
    ] = False,
    fail_on_stale: Annotated[
        bool, typer.Option("--fail-on-stale/--no-fail-on-stale", help="Exit 3 when the output is stale.")
    ] = True,
    report_dir: Annotated[
        Path | None,
        typer.Option(
            "--report-dir", metavar="DIR", help="Where diff.md and comment.md go (default: $RUNNER_TEMP)."
        ),
    ] = None,
) -> int:
    """Check a pull request's output against its target and report each cluster's diff (GitHub Actions)."""
    source = find_root(source)
    from fanout.commands import prreport as command

    folder = report_dir if report_dir is not None else command.default_report_dir()
    return command.run(str(source), base, comment, fail_on_stale, folder, echo, notices(ctx, str(source)))


@app.command(cls=PlainArguments, epilog=EXAMPLES_EXPLAIN)
@reporting
def explain(
    ctx: typer.Context,
    cluster: Annotated[
        str, typer.Argument(metavar="CLUSTER", help="The cluster.", autocompletion=_complete_clusters)
    ],
    target: Annotated[
        str,
        typer.Argument(metavar="KIND/NAME", help="e.g. deployment/pacman.", autocompletion=_complete_targets),
    ],
    source: GitSourceArg = ".",
    namespace: Annotated[
        str | None, typer.Option("--namespace", "-n", metavar="NAMESPACE", help="The object's namespace.")
    ] = None,
    field: Annotated[
        str | None,
        typer.Option(
            "--field", metavar="POINTER", help="Show this field's value after each step (JSON Pointer)."
        ),
    ] = None,
    ref: Annotated[
        str | None, typer.Option("--ref", metavar="REF", help="Read the source at this git revision.")
    ] = None,
    output: Annotated[
        TextJson, typer.Option("--output", "-o", help="text or json (a versioned document).")
    ] = TextJson.text,
) -> int:
    """Tell where one object of one cluster comes from, and why it is there, or not."""
    source = find_root(source)
    from fanout.commands import explain as command

    return command.run(source, cluster, target, namespace, field, ref, echo, output.value)


@app.command(cls=PlainArguments, epilog=EXAMPLES_FEDERATE)
@reporting
def federate(
    ctx: typer.Context,
    files: Annotated[
        list[Path],
        typer.Argument(metavar="FILE", help="Plain Kubernetes manifests (YAML, several documents each)."),
    ],
    output_dir: Annotated[
        Path | None,
        typer.Option(
            "--output-dir", metavar="PATH", help="Write one file per input here (default: print them)."
        ),
    ] = None,
    out: DeprecatedOutOpt = None,
) -> int:
    """Convert plain manifests into KubeFed Federated<Kind> objects placed on every cluster."""
    from fanout.commands import federate as command

    return command.run(files, resolve_output_dir(output_dir, out), echo, echo_error)


@app.command(cls=PlainArguments, epilog=EXAMPLES_INIT)
@reporting
def init(
    ctx: typer.Context,
    folder: Annotated[
        Path, typer.Argument(metavar="FOLDER", help="Where to create the source root (made if missing).")
    ] = Path("."),
) -> int:
    """Write a minimal source root (fanout.yaml, a cluster, a template, an override); never overwrites."""
    from fanout.commands import init as command

    return command.run(folder, echo)


@app.command("import", cls=PlainArguments, epilog=EXAMPLES_IMPORT)
@reporting
def import_(
    ctx: typer.Context,
    dirs: Annotated[
        list[str],
        typer.Argument(
            metavar="DIR", help="A folder of one cluster's manifests (its name is the cluster's)."
        ),
    ],
    output_dir: Annotated[
        Path, typer.Option("--output-dir", metavar="PATH", help="Where to write the new source root.")
    ],
    layout: Annotated[
        Layout,
        typer.Option(
            "--layout",
            help="cluster: each DIR is one cluster; clusters: each DIR holds a folder per cluster"
            " (DIR/<cluster>/..., apps below it included).",
        ),
    ] = Layout.cluster,
    labels: Annotated[
        Path | None,
        typer.Option(
            "--labels",
            metavar="FILE",
            help="A YAML map of cluster name to labels, for selectors in the source.",
        ),
    ] = None,
    ref: Annotated[
        str | None,
        typer.Option(
            "--ref", metavar="REF", help="Read the folders at this commit (an output branch, a tag)."
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Write into PATH even when it holds a source root already.")
    ] = False,
    namespace: Annotated[
        str | None,
        typer.Option(
            "--namespace",
            "-n",
            metavar="NAMESPACE",
            help="Where objects written without a namespace go (`kubectl apply -n`, an Argo CD"
            " Application's destination); they are imported in it.",
        ),
    ] = None,
) -> int:
    """Turn per-cluster copies of manifests into templates, overrides and values, checked by rendering."""
    from fanout.commands import importing as command

    return command.run(dirs, layout.value, labels, output_dir, ref, force, echo, echo_error, namespace)


@app.command(cls=PlainArguments, epilog=EXAMPLES_SCHEMA)
@reporting
def schema(
    ctx: typer.Context,
    name: Annotated[
        str | None,
        typer.Argument(
            metavar="NAME",
            help="A schema (override, cluster, config...) or a kind (Override, FederatedDeployment...);"
            " default: the schema for any fanout document.",
        ),
    ] = None,
    listing: Annotated[bool, typer.Option("--list", help="List the schemas.")] = False,
    output_dir: Annotated[
        Path | None,
        typer.Option("--output-dir", metavar="PATH", help="Write the schema files here instead of printing."),
    ] = None,
) -> int:
    """Print the JSON Schema of fanout's files, for editors (yaml-language-server) and check-jsonschema."""
    from fanout.commands import schema as command

    return command.run(name, listing, output_dir, echo)


def main() -> None:
    if os.environ.get("FANOUT_DEBUG"):
        app()
        return
    try:
        app()
    except Exception as exc:  # a bug in fanout, not a user mistake: one line, no traceback
        print(
            f"fanout: internal error: {type(exc).__name__}: {exc} (set FANOUT_DEBUG=1 for details)",
            file=sys.stderr,
        )
        sys.exit(EXIT_INTERNAL)
