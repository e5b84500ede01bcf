"""The command line: parses arguments and calls one function per command. Nothing else happens here."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from enum import Enum
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


SourceArg = Annotated[Path, typer.Argument(help="The source root (a folder with fanout.yaml).")]
ClusterOpt = Annotated[list[str], typer.Option("--cluster", "-c", help="Only this cluster (repeatable).")]
SelectorOpt = Annotated[
    str | None, typer.Option("--selector", "-l", help="Only clusters matching this label selector.")
]


@app.command()
@reporting
def render(
    source: SourceArg = Path("."),
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
) -> int:
    """Render every cluster into OUT/<cluster>/."""
    from fanout.commands import render as command

    return command.run(source, out, cluster, selector, check, fail_on_change, echo)


@app.command()
@reporting
def validate(source: SourceArg = Path(".")) -> int:
    """Check every input against its schema and render in memory, writing nothing."""
    from fanout.commands import validate as command

    return command.run(source, echo)


@app.command()
@reporting
def clusters(
    source: SourceArg = Path("."),
    matrix: Annotated[
        bool, typer.Option("--matrix", help="Show which template lands on which cluster.")
    ] = False,
) -> int:
    """List the cluster inventory with labels and the number of objects placed."""
    from fanout.commands import clusters as command

    return command.run(source, matrix, echo)


class OutputFormat(str, Enum):
    text = "text"
    json = "json"
    markdown = "markdown"


# A string, not a Path: SOURCE may also be a git URL.
GitSourceArg = Annotated[
    str, typer.Argument(help="The source root: a folder (inside a git repository for refs) or a git URL.")
]


@app.command()
@reporting
def diff(
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
        OutputFormat, typer.Option("--format", "-f", help="text, json (stable shape) or markdown (for PRs).")
    ] = OutputFormat.text,
    exit_code: Annotated[
        bool, typer.Option("--exit-code", help="Exit 1 when there is any difference.")
    ] = False,
) -> int:
    """Show how two clusters differ, or what changes in every cluster between two revisions."""
    if (clusters_pair is None) == (base is None):
        raise typer.BadParameter("give either --clusters A B or --base REF")
    if clusters_pair is not None and (cluster or selector is not None):
        raise typer.BadParameter("--cluster and --selector narrow --base; --clusters names its two clusters")
    from fanout.commands import diff as command

    return command.run(
        source, clusters_pair, base, head, cluster, selector, stat, output_format.value, exit_code, echo
    )


@app.command()
@reporting
def explain(
    cluster: Annotated[str, typer.Argument(help="The cluster.")],
    target: Annotated[str, typer.Argument(metavar="KIND/NAME", help="e.g. deployment/pacman.")],
    source: GitSourceArg = ".",
    namespace: Annotated[
        str | None, typer.Option("--namespace", "-n", help="The object's namespace.")
    ] = None,
    field: Annotated[
        str | None,
        typer.Option(
            "--field", metavar="POINTER", help="Show this field's value after each step (JSON Pointer)."
        ),
    ] = None,
    ref: Annotated[str | None, typer.Option("--ref", help="Read the source at this git revision.")] = None,
) -> int:
    """Tell where one object of one cluster comes from, and why it is there, or not."""
    from fanout.commands import explain as command

    return command.run(source, cluster, target, namespace, field, ref, echo)


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
