"""``fanout diff`` through the real CLI, against real git repositories: every mode and format."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from rich.console import Console
from rich.text import Text
from typer.testing import CliRunner

from fanout.cli import app
from fanout.render.pipeline import load_inputs, render
from fanout.report.diffing import Comparison, Side, compare_renderings
from fanout.report.diffreport import MARKDOWN_LIMIT, text, to_markdown
from fanout.source.tree import DirectorySource
from tests.gitutil import commit_all, head, snapshot
from tests.shop import BASE, CLUSTERS, EAST, PROD, SHOP, WEB, shop_repo, write

runner = CliRunner()
ANSI = re.compile(r"\x1b\[")


def fanout(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return shop_repo(tmp_path)


# --- between two clusters ---------------------------------------------------------------------------


def test_clusters_mode_shows_a_table_then_the_diffs(root: Path) -> None:
    code, out, err = fanout("diff", "--clusters", "dev-1", "prod-east", str(root))
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert (
        lines[0] == "fanout diff: cluster dev-1 → cluster prod-east: objects: 1 added, 0 removed, 2 changed"
    )
    assert lines[2].split() == ["CLUSTER", "ADDED", "REMOVED", "CHANGED"]
    assert lines[3].split() == ["dev-1", "→", "prod-east", "1", "0", "2"]
    assert "+ added ConfigMap shop/prod-only (shop/configmap_prod-only.yaml)" in lines
    assert "~ changed Deployment.apps shop/web (shop/deployment.apps_web.yaml)" in lines
    assert "-  replicas: 2" in lines and "+  replicas: 5" in lines
    assert "+++ prod-east/shop/deployment.apps_web.yaml" in lines
    assert not ANSI.search(out)  # not a terminal: no colours
    assert "s3cret" not in out


def test_exit_code_reports_differences(root: Path) -> None:
    assert fanout("diff", "--clusters", "dev-1", "prod-east", str(root), "--exit-code")[0] == 3
    code, out, _ = fanout("diff", "--clusters", "prod-west", "prod-west", str(root), "--exit-code")
    assert code == 0
    assert out == "fanout diff: cluster prod-west → cluster prod-west: no differences\n"


def test_clusters_mode_reads_a_revision_with_head(root: Path) -> None:
    write(root, "overrides/x.yaml", EAST.replace("value: 5", "value: 9"))
    _, now, _ = fanout("diff", "--clusters", "dev-1", "prod-east", str(root))
    code, then, _ = fanout("diff", "--clusters", "dev-1", "prod-east", str(root), "--head", "HEAD")
    assert code == 0
    assert "+  replicas: 9" in now.splitlines()
    assert "+  replicas: 5" in then.splitlines()
    assert then.startswith(f"fanout diff: cluster dev-1 → cluster prod-east at HEAD ({head(root)[:12]}):")


def test_unknown_cluster_is_one_error_line_with_a_suggestion(root: Path) -> None:
    code, out, err = fanout("diff", "--clusters", "dev-1", "prod-eastt", str(root))
    assert code == 1 and out == ""
    assert err.splitlines() == [
        "--clusters: unknown cluster 'prod-eastt' (did you mean 'prod-east'?)",
        "fanout: 1 problem found",
    ]


# --- between two revisions --------------------------------------------------------------------------


def test_base_against_the_working_tree_shows_exactly_the_clusters_an_override_reaches(root: Path) -> None:
    before = snapshot(root.parent)
    write(root, "overrides/prod.yaml", PROD.replace('"${cluster.values.replicas}"', "7"))
    code, out, _ = fanout("diff", "--base", "HEAD", str(root))
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == (
        f"fanout diff: HEAD ({head(root)[:12]}) → working tree: 1 of 4 clusters differ; "
        "objects: 0 added, 0 removed, 1 changed"
    )
    # prod-east's replicas come from its own override afterwards: only prod-west changes.
    assert [line.split()[0] for line in lines[3:4]] == ["prod-west"]
    assert "unchanged: 3 clusters (dev-1, edge-1, prod-east)" in lines
    assert "== cluster prod-west" in lines
    assert "-  replicas: 4" in lines and "+  replicas: 7" in lines
    after = snapshot(root.parent)
    assert after.worktree != before.worktree  # our edit
    assert (after.head, after.index) == (before.head, before.index)  # fanout touched nothing


def test_the_same_change_is_grouped(root: Path) -> None:
    write(root, "templates/web.yaml", WEB.replace("image: web:1.0", "image: web:1.1"))
    code, out, _ = fanout("diff", "--base", "HEAD", str(root))
    assert code == 0
    lines = out.splitlines()
    assert "== the same change in 3 clusters: dev-1, prod-east, prod-west" in lines
    assert lines.count("+        image: web:1.1") == 1  # shown once, not three times
    assert (
        "(the diffs are dev-1's; the other clusters' differ only in the unchanged lines around the change)"
        in lines
    )


def test_base_and_head_revisions_ignore_the_working_tree(root: Path) -> None:
    repo = root.parent
    write(root, "templates/base.yaml", BASE.replace("mode: production", "mode: prod"))
    commit_all(repo, "shorter mode")
    write(root, "templates/base.yaml", "this: [is not valid")  # a broken working tree does not matter
    code, out, err = fanout("diff", "--base", "HEAD~1", "--head", "HEAD", str(root))
    assert (code, err) == (0, "")
    assert "== the same change in 2 clusters: prod-east, prod-west" in out.splitlines()
    assert "+  mode: prod" in out.splitlines()
    assert f"HEAD~1 ({head(repo, 'HEAD~1')[:12]}) → HEAD ({head(repo)[:12]})" in out


def test_cluster_and_selector_narrow_the_comparison(root: Path) -> None:
    write(root, "templates/web.yaml", WEB.replace("image: web:1.0", "image: web:1.1"))
    _, out, _ = fanout("diff", "--base", "HEAD", str(root), "-c", "prod-west", "-c", "edge-1", "--stat")
    assert out.splitlines()[0].endswith("1 of 2 clusters differ; objects: 0 added, 0 removed, 1 changed")
    assert "unchanged: 1 cluster (edge-1)" in out.splitlines()
    _, out, _ = fanout("diff", "--base", "HEAD", str(root), "--selector", "env=dev", "--stat")
    assert "1 of 2 clusters differ" in out.splitlines()[0]
    assert [line.split()[0] for line in out.splitlines()[3:4]] == ["dev-1"]
    code, _, err = fanout("diff", "--base", "HEAD", str(root), "-c", "prod-wset")
    assert code == 1
    assert "--cluster: unknown cluster 'prod-wset' (did you mean 'prod-west'?)" in err


def test_a_cluster_added_in_the_working_tree(root: Path) -> None:
    extra = "---\n" + CLUSTERS.split("---\n")[1].replace("prod-west", "prod-south")
    write(root, "clusters/clusters.yaml", CLUSTERS + extra)
    code, out, _ = fanout("diff", "--base", "HEAD", str(root), "--format", "json")
    assert code == 0
    document = json.loads(out)
    south = next(c for c in document["clusters"] if c["name"] == "prod-south")
    assert (south["status"], south["base"], south["head"], south["added"]) == ("added", None, "prod-south", 4)
    (index,) = south["groups"]
    assert document["groups"][index]["clusters"] == ["prod-south"]
    _, out, _ = fanout("diff", "--base", "HEAD", str(root))
    assert "prod-south (new cluster)" in out


def test_stat_prints_the_summary_alone(root: Path) -> None:
    write(root, "templates/web.yaml", WEB.replace("image: web:1.0", "image: web:1.1"))
    code, out, _ = fanout("diff", "--base", "HEAD", str(root), "--stat")
    assert code == 0
    assert out.splitlines()[2:] == [
        "CLUSTER    ADDED  REMOVED  CHANGED",
        "dev-1          0        0        1",
        "prod-east      0        0        1",
        "prod-west      0        0        1",
        "unchanged: 1 cluster (edge-1)",
    ]


def test_no_differences_and_exit_code(root: Path) -> None:
    code, out, _ = fanout("diff", "--base", "HEAD", str(root), "--exit-code")
    assert code == 0
    assert out.endswith("→ working tree: no differences in 4 clusters\n")
    write(root, "overrides/x.yaml", EAST.replace("value: 5", "value: 6"))
    assert fanout("diff", "--base", "HEAD", str(root), "--exit-code")[0] == 3
    assert fanout("diff", "--base", "HEAD", str(root))[0] == 0


def test_problems_at_a_revision_say_which(root: Path) -> None:
    repo = root.parent
    write(root, "overrides/x.yaml", EAST.replace("path: /spec/replicas", "path: /spec/nothing/here"))
    commit_all(repo, "broken")
    write(root, "overrides/x.yaml", EAST)
    code, out, err = fanout("diff", "--base", "HEAD", str(root))
    assert code == 1 and out == ""
    first = err.splitlines()[0]
    assert first.startswith("overrides/x.yaml:13:7: (at HEAD) patch failed on Deployment.apps shop/web")
    assert "(in cluster prod-east)" in first


def test_a_bad_ref_is_one_line(root: Path) -> None:
    code, _, err = fanout("diff", "--base", "no-such-branch", str(root))
    assert code == 1
    assert err.splitlines()[0].startswith("--base no-such-branch: no such branch, tag or commit")
    code, _, err = fanout("diff", "--base", "HEAD", "--head", "nope", str(root))
    assert code == 1 and err.splitlines()[0].startswith("--head nope: no such branch, tag or commit")


@pytest.mark.parametrize(
    "args",
    [
        ["diff"],
        ["diff", "--clusters", "dev-1", "prod-east", "--base", "HEAD"],
        ["diff", "--clusters", "dev-1", "prod-east", "--cluster", "dev-1"],
        ["diff", "--clusters"],
        ["diff", "--base", "HEAD", "--format", "yaml"],
    ],
)
def test_wrong_usage_exits_2(root: Path, args: list[str]) -> None:
    code, _, err = fanout(*args, str(root))
    assert code == 2
    assert "Traceback" not in err


# --- JSON ---------------------------------------------------------------------------------------------


def test_json_shape(root: Path) -> None:
    write(root, "templates/web.yaml", WEB.replace("image: web:1.0", "image: web:1.1"))
    write(root, "templates/base.yaml", BASE.replace("user: admin", "user: root"))
    code, out, _ = fanout("diff", "--base", "HEAD", str(root), "--format", "json")
    assert code == 0
    document = json.loads(out)
    assert list(document) == ["version", "mode", "base", "head", "differs", "summary", "clusters", "groups"]
    assert document["version"] == 1 and document["mode"] == "refs" and document["differs"] is True
    assert document["base"] == {"label": "HEAD", "ref": "HEAD", "commit": head(root), "cluster": None}
    assert document["head"] == {"label": "working tree", "ref": None, "commit": None, "cluster": None}
    assert document["summary"] == {
        "clustersCompared": 4,
        "clustersChanged": 4,
        "added": 0,
        "removed": 0,
        "changed": 7,
    }
    clusters = {c["name"]: c for c in document["clusters"]}
    assert list(clusters) == ["dev-1", "edge-1", "prod-east", "prod-west"]
    edge = clusters["edge-1"]
    assert edge == {
        "name": "edge-1",
        "base": "edge-1",
        "head": "edge-1",
        "status": "changed",
        "added": 0,
        "removed": 0,
        "changed": 1,
        "groups": [1],
        "objects": [
            {
                "status": "changed",
                "apiVersion": "v1",
                "kind": "Secret",
                "namespace": "shop",
                "name": "creds",
                "path": "shop/secret_creds.yaml",
            }
        ],
    }
    groups = document["groups"]
    # The image changes where web goes; the Secret everywhere: two sections, met in that order.
    assert [g["clusters"] for g in groups] == [
        ["dev-1", "prod-east", "prod-west"],
        ["dev-1", "edge-1", "prod-east", "prod-west"],
    ]
    assert [clusters[n]["groups"] for n in clusters] == [[0, 1], [1], [0, 1], [0, 1]]
    web = next(o for o in groups[0]["objects"] if o["kind"] == "Deployment")
    assert web["fields"] == [
        {
            "path": "/spec/template/spec/containers/0/image",
            "op": "changed",
            "before": "web:1.0",
            "after": "web:1.1",
        }
    ]
    assert web["diff"].startswith(
        "--- a/shop/deployment.apps_web.yaml\n+++ b/shop/deployment.apps_web.yaml\n@@"
    )
    assert "+        image: web:1.1\n" in web["diff"]
    secret = groups[1]["objects"][0]
    assert secret["fields"] == [
        {"path": "/stringData/user", "op": "changed", "before": "<hidden>", "after": "<changed>"}
    ]
    assert "admin" not in out and "root" not in out and "s3cret" not in out
    assert (groups[0]["diffFrom"], groups[0]["sameDiff"], groups[1]["sameDiff"]) == ("dev-1", False, True)


def test_json_for_two_clusters_and_with_stat(root: Path) -> None:
    _, out, _ = fanout("diff", "--clusters", "dev-1", "prod-east", str(root), "-f", "json", "--stat")
    document = json.loads(out)
    assert document["mode"] == "clusters"
    assert (document["base"]["cluster"], document["head"]["cluster"]) == ("dev-1", "prod-east")
    (cluster,) = document["clusters"]
    assert (cluster["name"], cluster["base"], cluster["head"]) == ("dev-1 → prod-east", "dev-1", "prod-east")
    assert all("diff" not in o for g in document["groups"] for o in g["objects"])


def test_json_output_is_byte_identical_across_runs(root: Path) -> None:
    write(root, "overrides/x.yaml", EAST.replace("value: 5", "value: 6"))
    outputs = {fanout("diff", "--base", "HEAD", str(root), "-f", "json")[1] for _ in range(3)}
    assert len(outputs) == 1


# --- Markdown -----------------------------------------------------------------------------------------


def check_markdown_structure(markdown: str) -> None:
    """Every <details> closed, each with one <summary>, every fence closed by the same fence."""
    assert markdown.count("<details>") == markdown.count("</details>")
    assert markdown.count("<summary>") == markdown.count("</summary>") == markdown.count("<details>")
    fence: str | None = None
    for line in markdown.splitlines():
        match = re.match(r"^(`{3,})(\w*)$", line)
        if fence is None and match:
            fence = match.group(1)
            assert match.group(2) == "diff"
        elif fence is not None and line == fence:
            fence = None
    assert fence is None


def test_markdown_has_a_table_and_one_section_per_group(root: Path) -> None:
    write(root, "templates/web.yaml", WEB.replace("image: web:1.0", "image: web:1.1"))
    write(root, "overrides/x.yaml", EAST.replace("value: 5", "value: 6"))
    code, out, _ = fanout("diff", "--base", "HEAD", str(root), "--format", "markdown")
    assert code == 0
    check_markdown_structure(out)
    lines = out.splitlines()
    assert lines[0] == f"### fanout diff: <code>HEAD</code> ({head(root)[:12]}) → <code>working tree</code>"
    table = lines[lines.index("| Cluster | Added | Removed | Changed |") :]
    assert table[1] == "| :-- | --: | --: | --: |"
    assert table[2:5] == [
        "| <code>dev-1</code> | 0 | 0 | 1 |",
        "| <code>prod-east</code> | 0 | 0 | 1 |",
        "| <code>prod-west</code> | 0 | 0 | 1 |",
    ]
    summaries = [line for line in lines if line.startswith("<summary>")]
    assert summaries == [
        "<summary>the same change in 2 clusters: <code>dev-1</code>, <code>prod-west</code>"
        " (1 changed)</summary>",
        "<summary><code>prod-east</code>: 1 changed</summary>",
    ]
    assert lines.count("```diff") == 2
    # Inside a section: a blank line after <summary>, the objects, then the fenced diff.
    start = lines.index(summaries[1])
    assert lines[start + 1] == ""
    assert lines[start + 2] == (
        "- **changed** <code>Deployment.apps shop/web</code> in <code>shop/deployment.apps_web.yaml</code>"
    )
    assert lines[start + 4] == "```diff"
    assert "+        image: web:1.1" in lines[start:]
    assert "+  replicas: 6" in lines[start:]


def test_markdown_stat_and_no_difference(root: Path) -> None:
    _, out, _ = fanout("diff", "--base", "HEAD", str(root), "-f", "markdown")
    assert "no differences in 4 clusters" in out and "<details>" not in out
    write(root, "overrides/x.yaml", EAST.replace("value: 5", "value: 6"))
    _, out, _ = fanout("diff", "--base", "HEAD", str(root), "-f", "markdown", "--stat")
    assert "| <code>prod-east</code> | 0 | 0 | 1 |" in out and "<details>" not in out


def test_a_huge_markdown_diff_is_cut_under_the_limit(root: Path) -> None:
    # A ConfigMap with a long script, new in every cluster, different in each.
    script = "".join(f"    echo line {i} of a long script in ${{cluster.name}}\n" for i in range(1500))
    big = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big, namespace: shop}\ndata:\n  run.sh: |\n"
    write(root, "templates/big.yaml", big + script)
    code, out, _ = fanout("diff", "--base", "HEAD", str(root), "-f", "markdown")
    assert code == 0
    assert len(out) < MARKDOWN_LIMIT
    check_markdown_structure(out)
    assert out.count("| 1 | 0 | 0 |") == 4  # the table is whole
    # Every cluster keeps its section, each diff cut to a share of the room.
    assert out.count("<details>") == 4
    assert len(re.findall(r"^… cut here: \d+ more lines of this diff are not shown$", out, re.M)) == 4
    assert out.rstrip("\n").endswith(
        f"> This diff was cut to stay under 60,000 characters. Run `fanout diff --base HEAD {root}`"
        " to see all of it."
    )


def shop_comparison(tmp_path: Path, changes: dict[str, str]) -> Comparison:
    base_root, head_root = tmp_path / "a", tmp_path / "b"
    for path, content in SHOP.items():
        write(base_root, path, content)
        write(head_root, path, changes.get(path, content))
    return compare_renderings(
        render(load_inputs(DirectorySource(base_root))),
        render(load_inputs(DirectorySource(head_root))),
        Side("a"),
        Side("b"),
    )


def test_markdown_cuts_big_diffs_and_keeps_small_ones_whole(tmp_path: Path) -> None:
    script = "".join(f"    echo {i} in ${{cluster.name}}\n" for i in range(300))
    big = "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: big, namespace: shop}\ndata:\n  run.sh: |\n"
    comparison = shop_comparison(
        tmp_path,
        {
            "templates/base.yaml": BASE + big + script,
            "overrides/x.yaml": EAST.replace("value: 5", "value: 6"),
        },
    )
    whole = to_markdown(comparison)
    assert "cut" not in whole
    small = to_markdown(comparison, limit=len(whole) // 2, rerun="fanout diff --base main")
    assert len(small) < len(whole) // 2
    check_markdown_structure(small)
    assert small.count("<details>") == whole.count("<details>") == 4
    assert small.count("… cut here") == 4  # each big ConfigMap diff is cut...
    assert "+  replicas: 6" in small  # ... while prod-east's small Deployment change, after it, is whole
    assert small.endswith("Run `fanout diff --base main` to see all of it.\n")


def test_markdown_leaves_out_sections_when_even_their_headings_do_not_fit(tmp_path: Path) -> None:
    comparison = shop_comparison(tmp_path, {"templates/web.yaml": WEB.replace("https://", "http://")})
    assert [g.names for g in comparison.groups] == [("dev-1",), ("prod-east",), ("prod-west",)]
    whole = to_markdown(comparison)
    heading = whole[: whole.index("<details>")]
    first = whole[whole.index("<details>") : whole.index("</details>") + len("</details>\n\n")]
    small = to_markdown(comparison, limit=len(heading) + len(first) + 350)
    check_markdown_structure(small)
    assert small.count("<details>") == 1
    assert "2 more sections (2 clusters) not shown." in small
    assert len(small) < len(heading) + len(first) + 350


def test_markdown_fences_outgrow_backticks_in_the_content(tmp_path: Path) -> None:
    files = dict(SHOP)
    files["templates/readme.yaml"] = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: readme, namespace: shop}\n"
        "data:\n  README.md: |\n    ```\n    code\n    ```\n"
    )
    root = shop_repo(tmp_path, files)
    write(root, "templates/readme.yaml", files["templates/readme.yaml"].replace("code", "more code"))
    _, out, _ = fanout("diff", "--base", "HEAD", str(root), "-f", "markdown")
    assert "````diff" in out.splitlines()
    check_markdown_structure(out)


# --- colours ------------------------------------------------------------------------------------------


def test_text_is_coloured_on_a_terminal(tmp_path: Path) -> None:
    root = tmp_path / "src"
    for path, content in SHOP.items():
        write(root, path, content)
    rendering = render(load_inputs(DirectorySource(root)))
    edited = tmp_path / "edited"
    for path, content in SHOP.items():
        write(edited, path, content)
    write(edited, "overrides/x.yaml", EAST.replace("value: 5", "value: 6"))
    comparison = compare_renderings(
        rendering, render(load_inputs(DirectorySource(edited))), Side("a"), Side("b")
    )
    lines = text(comparison)
    styles = {line.text: line.style for line in lines}
    assert styles["-  replicas: 5"] == "red" and styles["+  replicas: 6"] == "green"
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, color_system="standard", width=200)
    for line in lines:
        console.print(Text(line.text, style=line.style))
    assert "\x1b[31m-  replicas: 5" in buffer.getvalue()
    assert "\x1b[32m+  replicas: 6" in buffer.getvalue()


def test_a_folder_outside_git_cannot_be_compared_between_revisions(tmp_path: Path) -> None:
    root = tmp_path / "plain"
    for path, content in SHOP.items():
        write(root, path, content)
    code, _, err = fanout("diff", "--base", "HEAD", str(root))
    assert code == 1
    assert err.splitlines()[0] == f"{root}: not inside a git repository, so --base HEAD cannot be read"
    # Between two clusters, the working tree needs no repository.
    assert fanout("diff", "--clusters", "dev-1", "prod-east", str(root))[0] == 0


# --- comparing revisions of a fleet, a cluster at a time ----------------------------------------------


def _fleet_edited(tmp_path: Path) -> Path:
    """A generated fleet of 30 clusters committed, then edited: an override of two clusters, a comment in
    another, a cluster file removed (several clusters gone) and a cluster added; most clusters untouched."""
    from tests.gitutil import init_repo
    from tests.test_benchmark_generate import make_root

    root = init_repo(make_root(tmp_path, clusters=30, templates=24, overrides=12))
    commit_all(root, "a fleet")
    pin = sorted(root.glob("overrides/cluster-pin/*.yaml"))[0]  # reaches two clusters
    pin.write_text(pin.read_text().replace("pool: dedicated", "pool: shared"))
    override = sorted(root.glob("overrides/*/*.yaml"))[-1]
    override.write_text(override.read_text() + "# a comment changes no object\n")
    sorted(root.glob("clusters/*/*.yaml"))[0].unlink()
    write(
        root,
        "clusters/zz-new.yaml",
        "apiVersion: fanout.dev/v1alpha1\nkind: Cluster\nmetadata:\n  name: zz-new\n"
        "  labels: {cloud: aws, region: us-east-1, env: prod}\n"
        "spec:\n  values: {domain: new.example.com, replicas: 3, cache: {sizeMb: 64}}\n",
    )
    return root


@pytest.mark.parametrize("memo", [1, 5_000])
def test_revisions_compared_cluster_by_cluster_match_whole_renderings(
    tmp_path: Path, memo: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``diff --base`` renders a cluster of each side at a time (each side's renderer forgets objects past
    ``DIFF_MEMO``) and skips the clusters whose inputs' digests are equal: the comparison must be exactly
    the one of the two whole renderings."""
    from fanout.commands import diff
    from fanout.commands.sources import load_source

    root = _fleet_edited(tmp_path)
    monkeypatch.setattr(diff, "DIFF_MEMO", memo)
    streamed = diff.between_refs(str(root), "HEAD", None, (), None)
    old, new = load_source(str(root), "HEAD", "--base"), load_source(str(root), None, "--head")
    whole = compare_renderings(render(old.inputs), render(new.inputs), old.side, new.side)
    assert streamed == whole
    statuses = {c.status for c in streamed.clusters}
    assert statuses == {"added", "removed", "changed", "unchanged"}


def test_a_problem_of_an_unchanged_cluster_still_fails_a_diff_of_revisions(tmp_path: Path) -> None:
    """Unchanged clusters are not compared, but the head's are still rendered: its problems are reported."""
    root = _fleet_edited(tmp_path)
    broken = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: broken\n  namespace: shop\n"
        "  annotations: {fanout.dev/placement: env=dev}\ndata: {url: '${cluster.values.missing}'}\n"
    )
    write(root, "templates/zz-broken.yaml", broken)
    commit_all(root, "broken in the dev clusters")
    (root / "clusters/zz-new.yaml").unlink()  # the only change: a prod cluster gone
    code, out, err = fanout("diff", "--base", "HEAD", str(root))
    assert (code, out) == (1, "")
    assert (
        err.startswith("templates/zz-broken.yaml:7:8: ${cluster.values.missing} is undefined")
        and "is undefined for clusters" in err
    )
    assert "(at HEAD)" not in err
    # The head read at a revision says so, as the base does.
    commit_all(root, "zz-new gone")
    code, out, err = fanout("diff", "--base", "HEAD~1", "--head", "HEAD", str(root))
    assert (code, out) == (1, "")
    assert err.startswith("templates/zz-broken.yaml:7:8: (at HEAD) ${cluster.values.missing} is undefined")
