"""What the CLI's declarations share: the option types, the one place errors are reported, completion.

``fanout.cli`` declares the commands with these; nothing here does a command's work.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Sequence
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ParamSpec

import typer
import typer.core

from fanout.core.errors import EXIT_INVALID, FanoutError, Problem
from fanout.core.words import plural
from fanout.report.machine import ERROR_FORMATS
from fanout.source.discover import find_root

if TYPE_CHECKING:
    from fanout.report.kubecheck import KubeOptions


class PlainArguments(typer.core.TyperCommand):
    """Help without Python types after arguments (``SOURCE <str>``): the metavar says what to write."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:
            if isinstance(param, typer.core.TyperArgument) and hasattr(param, "display_type"):
                setattr(param, "display_type", _no_type)  # noqa: B010 - an instance override, on purpose


def _no_type(*args: Any, **kwargs: Any) -> str:
    return ""


P = ParamSpec("P")


def echo(line: str) -> None:
    typer.echo(line)


def echo_error(line: str) -> None:
    typer.echo(line, err=True)


def chosen_error_format(ctx: object) -> str:
    """``--error-format`` (before the command), else $FANOUT_ERROR_FORMAT, else text.

    The main callback stores the option in ``ctx.obj``, which every command's context inherits.
    """
    chosen = getattr(ctx, "obj", None)
    fmt = str(chosen or os.environ.get("FANOUT_ERROR_FORMAT") or "text")
    return fmt if fmt in ERROR_FORMATS else "text"


def report_problems(problems: Sequence[Problem], source: object, fmt: str = "text") -> None:
    """Input errors in the chosen format; GitHub annotations go to stdout, where Actions reads them."""
    from fanout.report.machine import problem_line

    root = source if isinstance(source, str) else ""
    say = echo if fmt == "github" else echo_error
    for problem in problems:
        say(problem_line(problem, "error", fmt, root))
    if fmt == "text":
        echo_error(f"fanout: {plural(len(problems), 'problem')} found")


def notices(ctx: typer.Context, source: str) -> Callable[[Problem], None]:
    """Where input warnings go, in the format ``--error-format`` chose."""
    from fanout.report.machine import problem_line

    fmt = chosen_error_format(ctx)
    say = echo if fmt == "github" else echo_error
    return lambda problem: say(problem_line(problem, "warning", fmt, source if fmt != "text" else ""))


def notes(ctx: typer.Context) -> Callable[[str], None]:
    """Where a command's own notes go (a marker entry ignored, a file kept, a lock waited for): text on
    stderr, or warning lines in the format ``--error-format`` chose, so that JSON Lines stay JSON."""
    if chosen_error_format(ctx) == "text":
        return echo_error
    notice = notices(ctx, "")  # a note has no place in the source, so no root to join
    return lambda line: notice(Problem(line))


def reporting(command: Callable[P, int]) -> Callable[P, None]:
    """The one place user errors are caught: one line per problem on stderr, exit 1, no traceback."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            code = command(*args, **kwargs)
        except FanoutError as exc:
            report_problems(exc.problems, kwargs.get("source"), chosen_error_format(kwargs.get("ctx")))
            raise typer.Exit(EXIT_INVALID) from None
        except BrokenPipeError:
            # The reader went away (`fanout diff | head`): stop quietly, as git does. Point stdout
            # at /dev/null so that flushing it at exit does not fail a second time.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise typer.Exit(0) from None
        except OSError as exc:
            echo_error(f"fanout: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "))
            raise typer.Exit(EXIT_INVALID) from None
        raise typer.Exit(code)

    return wrapper


class ErrorFormat(str, Enum):
    text = "text"
    json = "json"
    github = "github"


def _complete_clusters(ctx: typer.Context, incomplete: str) -> list[str]:
    from fanout.commands.completion import cluster_names

    return cluster_names(find_root(ctx.params.get("source") or "."), incomplete)


def _complete_selector(ctx: typer.Context, incomplete: str) -> list[str]:
    from fanout.commands.completion import label_pairs

    return label_pairs(find_root(ctx.params.get("source") or "."), incomplete)


def _complete_targets(ctx: typer.Context, incomplete: str) -> list[str]:
    from fanout.commands.completion import object_names

    return object_names(find_root(ctx.params.get("source") or "."), incomplete)


# A string, not a Path: SOURCE may be a git URL, which Path would mangle ("https://" -> "https:/").
SourceArg = Annotated[
    str,
    typer.Argument(
        metavar="SOURCE",
        help="The source root: a folder with fanout.yaml (default: found from the current folder upwards),"
        " or a git URL (add #sub/folder if needed).",
    ),
]
RefOpt = Annotated[
    str | None,
    typer.Option(
        "--ref",
        metavar="REF",
        help="Read the source from this commit (branch, tag, SHA, HEAD~2...), not the working tree.",
    ),
]
CacheDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--cache-dir",
        metavar="PATH",
        help="Where URL sources are cloned and render keeps its cache (default: $XDG_CACHE_HOME/fanout).",
    ),
]
ClusterOpt = Annotated[
    list[str],
    typer.Option(
        "--cluster",
        "-c",
        metavar="NAME",
        help="Only this cluster (repeatable).",
        autocompletion=_complete_clusters,
    ),
]
SelectorOpt = Annotated[
    str | None,
    typer.Option(
        "--selector",
        "-l",
        metavar="SELECTOR",
        help="Only clusters matching this label selector (kubectl -l syntax).",
        autocompletion=_complete_selector,
    ),
]


# Kubernetes schema validation options, shared by `validate --kubernetes` and `render --validate-kubernetes`.
KubeVersionOpt = Annotated[
    str | None,
    typer.Option(
        "--kubernetes-version",
        metavar="VERSION",
        help="Kubernetes minor version to validate against (default 1.31).",
    ),
]
StrictOpt = Annotated[
    bool, typer.Option("--strict", help="Reject fields the Kubernetes schema does not know (recommended).")
]
SkipOpt = Annotated[
    list[str],
    typer.Option("--skip", metavar="KINDS", help="Do not validate these kinds: KIND[,KIND...] (repeatable)."),
]
IgnoreMissingOpt = Annotated[
    bool,
    typer.Option("--ignore-missing-schemas", help="Skip (and list) objects whose kind has no schema."),
]
SchemaDirOpt = Annotated[
    list[Path],
    typer.Option(
        "--schema-dir", metavar="PATH", help="Folder of extra JSON Schemas, kubeconform naming (repeatable)."
    ),
]
OutputDirOpt = Annotated[
    Path | None,
    typer.Option("--output-dir", metavar="PATH", help="Where the files go (default: output in fanout.yaml)."),
]
# Kept for one release: --out was the output folder before --output-dir.
DeprecatedOutOpt = Annotated[Path | None, typer.Option("--out", metavar="PATH", hidden=True)]


def resolve_output_dir(output_dir: Path | None, out: Path | None) -> Path | None:
    if out is not None:
        echo_error("fanout: warning: --out is deprecated and will go in the next release; use --output-dir")
        if output_dir is not None and output_dir != out:
            raise typer.BadParameter("give --output-dir alone", param_hint="--out")
    return output_dir if output_dir is not None else out


class TextJson(str, Enum):
    text = "text"
    json = "json"


class TextJsonYaml(str, Enum):
    text = "text"
    json = "json"
    yaml = "yaml"


class ReportFormat(str, Enum):
    text = "text"
    json = "json"
    junit = "junit"
    github = "github"


def kube_options(
    enabled: bool,
    flag: str,
    version: str | None,
    strict: bool,
    skip: list[str],
    ignore_missing_schemas: bool,
    schema_dirs: list[Path],
    extra: tuple[tuple[str, bool], ...] = (),
) -> KubeOptions | None:
    """The Kubernetes validation options, or None when ``flag`` is off (then none may be given)."""
    if not enabled:
        given = (
            ("--kubernetes-version", version is not None),
            ("--strict", strict),
            ("--skip", bool(skip)),
            ("--ignore-missing-schemas", ignore_missing_schemas),
            ("--schema-dir", bool(schema_dirs)),
            *extra,
        )
        used = [name for name, present in given if present]
        if used:
            raise typer.BadParameter(f"only works with {flag}", param_hint=" / ".join(used))
        return None
    from fanout.report.kubecheck import KubeOptions

    return KubeOptions(
        version, strict, KubeOptions.parse_skip(skip), ignore_missing_schemas, tuple(schema_dirs)
    )


# `fanout publish`
PerClusterPrefixOpt = Annotated[
    str | None,
    typer.Option(
        "--per-cluster-prefix",
        metavar="PREFIX",
        help="Instead of --branch: one branch PREFIX<cluster> per cluster.",
    ),
]

PerClusterBranchOpt = Annotated[
    str | None,
    typer.Option(
        "--per-cluster-branch",
        metavar="TEMPLATE",
        help="Instead of --branch: a branch per cluster named by TEMPLATE, e.g. 'env/{cluster}-next'.",
    ),
]

FromDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--from-dir",
        metavar="PATH",
        help="Publish this already rendered output folder instead of rendering.",
    ),
]

HydratorMetadataOpt = Annotated[
    bool,
    typer.Option(
        "--hydrator-metadata",
        help="Add hydrator.metadata, a README per cluster and .gitattributes, as Argo CD's hydrator.",
    ),
]


class OutputFormat(str, Enum):
    text = "text"
    json = "json"
    markdown = "markdown"


# A string, not a Path: SOURCE may also be a git URL.
GitSourceArg = Annotated[
    str,
    typer.Argument(
        metavar="SOURCE", help="The source root: a folder (inside a git repository for refs) or a git URL."
    ),
]


class Layout(str, Enum):
    cluster = "cluster"
    clusters = "clusters"
