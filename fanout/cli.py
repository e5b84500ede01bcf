"""The command line: parses arguments and calls one function per command. Nothing else happens here."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, ParamSpec

import typer

from fanout import __version__
from fanout.errors import FanoutError

app = typer.Typer(
    name="fanout",
    help="Render KubeFed-style federated manifests into one GitOps folder per cluster.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

P = ParamSpec("P")


def echo(line: str) -> None:
    typer.echo(line)


def _errors(line: str) -> None:
    typer.echo(line, err=True)


def reporting(command: Callable[P, int]) -> Callable[P, None]:
    """The one place user errors are caught: one line per problem on stderr, exit 1, no traceback."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            code = command(*args, **kwargs)
        except FanoutError as exc:
            for problem in exc.problems:
                _errors(str(problem))
            _errors(f"fanout: {len(exc.problems)} problem{'s' if len(exc.problems) != 1 else ''} found")
            raise typer.Exit(1) from None
        except OSError as exc:
            _errors(f"fanout: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "))
            raise typer.Exit(1) from None
        raise typer.Exit(code)

    return wrapper


def _version(value: bool) -> None:
    if value:
        typer.echo(f"fanout {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """fanout: one set of manifests, many clusters' worth of GitOps output."""


# A string, not a Path: SOURCE may be a git URL, which Path would mangle ("https://" -> "https:/").
SourceArg = Annotated[
    str,
    typer.Argument(
        help="The source root: a folder with fanout.yaml, or a git URL (add #sub/folder if needed)."
    ),
]
RefOpt = Annotated[
    str | None,
    typer.Option(
        "--ref", help="Read the source from this commit (branch, tag, SHA, HEAD~2...), not the working tree."
    ),
]
CacheDirOpt = Annotated[
    Path | None,
    typer.Option("--cache-dir", help="Where URL sources are cloned (default: $XDG_CACHE_HOME/fanout)."),
]
ClusterOpt = Annotated[list[str], typer.Option("--cluster", "-c", help="Only this cluster (repeatable).")]
SelectorOpt = Annotated[
    str | None, typer.Option("--selector", "-l", help="Only clusters matching this label selector.")
]


@app.command()
@reporting
def render(
    source: SourceArg = ".",
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Output folder (default: from fanout.yaml).")
    ] = None,
    cluster: ClusterOpt = [],  # noqa: B006 - Typer reads the default, never mutates it
    selector: SelectorOpt = None,
    check: Annotated[
        bool, typer.Option("--check", help="Write nothing; exit 1 when the output is stale.")
    ] = False,
    fail_on_change: Annotated[
        bool, typer.Option("--fail-on-change", help="Exit 1 when files changed (for pre-commit).")
    ] = False,
    ref: RefOpt = None,
    cache_dir: CacheDirOpt = None,
) -> int:
    """Render every cluster into OUT/<cluster>/."""
    from fanout.commands import render as command

    return command.run(source, out, cluster, selector, check, fail_on_change, echo, ref, cache_dir)


@app.command()
@reporting
def validate(source: SourceArg = ".", ref: RefOpt = None, cache_dir: CacheDirOpt = None) -> int:
    """Check every input against its schema and render in memory, writing nothing."""
    from fanout.commands import validate as command

    return command.run(source, echo, ref, cache_dir)


@app.command()
@reporting
def clusters(
    source: SourceArg = ".",
    matrix: Annotated[
        bool, typer.Option("--matrix", help="Show which template lands on which cluster.")
    ] = False,
    ref: RefOpt = None,
    cache_dir: CacheDirOpt = None,
) -> int:
    """List the cluster inventory with labels and the number of objects placed."""
    from fanout.commands import clusters as command

    return command.run(source, matrix, echo, ref, cache_dir)


@app.command()
@reporting
def publish(
    source: SourceArg = ".",
    branch: Annotated[
        str | None, typer.Option("--branch", "-b", help="Commit the output to this branch.")
    ] = None,
    per_cluster_prefix: Annotated[
        str | None,
        typer.Option(
            "--per-cluster-prefix", help="Instead of --branch: one branch PREFIX<cluster> per cluster."
        ),
    ] = None,
    ref: Annotated[
        str | None, typer.Option("--ref", help="The source commit to render (default: HEAD).")
    ] = None,
    into: Annotated[
        str | None, typer.Option("--into", help="Replace only this folder of the branch, keep the rest.")
    ] = None,
    keep: Annotated[
        list[str],
        typer.Option("--keep", help="Carry files of the previous tip matching this glob (repeatable)."),
    ] = [],  # noqa: B006 - Typer reads the default, never mutates it
    push: Annotated[bool, typer.Option("--push", help="Push the branches to --remote.")] = False,
    remote: Annotated[str, typer.Option("--remote", help="The remote to push to.")] = "origin",
    force: Annotated[
        bool, typer.Option("--force", help="Force-push instead of rebuilding on a newer remote tip.")
    ] = False,
    from_dir: Annotated[
        Path | None,
        typer.Option("--from-dir", help="Publish this already rendered output folder instead of rendering."),
    ] = None,
    cache_dir: CacheDirOpt = None,
) -> int:
    """Render the source at a commit and commit the output to a branch, without touching the checkout."""
    from fanout.commands import publish as command

    if (branch is None) == (per_cluster_prefix is None):
        raise typer.BadParameter("give exactly one of --branch NAME and --per-cluster-prefix PREFIX")
    options = command.Options(
        branch, per_cluster_prefix, ref, cache_dir, into, keep, push, remote, force, from_dir
    )
    return command.run(source, options, echo)


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
        sys.exit(70)
