"""Publish a rendered tree to output branches: commits built from git objects, then pushed.

``branches`` says what goes where, ``gittrees`` writes the trees in process, ``hydrator`` adds Argo CD's
files; this module makes the commits, moves the branches with ``update-ref`` (the working tree, the index
and the checked-out branch are never touched), refuses rollbacks, and pushes with retries.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import git

import fanout
from fanout.core.errors import FanoutError
from fanout.output.branches import (
    NO_PARTS,
    Plan,
    Refs,
    Target,
    check_files,
    check_into,
    compile_keep,
    plan_targets,
    prune_branches,
    read_refs,
    stale_branches,
)
from fanout.output.gittrees import (
    TREE,
    Dir,
    Leaf,
    ObjectWriter,
    changed_clusters,
    check_branch_name,
    check_remote,
    entries,
    graft,
    insert,
    open_repo,
    refuse_checked_out,
    subtree,
    walk,
)
from fanout.output.hydrator import NOTES_REF, SOURCE_TRAILER, SYNC_SUFFIX, Hydrator, hydrator_files, note
from fanout.source.git import NO_PROMPT_ENV, git_reason, run_git

DEFAULT_ATTEMPTS = 5


@dataclass(frozen=True)
class BranchResult:
    """What publishing did to one branch."""

    branch: str
    # The commit fanout created, or None when the branch already held exactly this output ("up to date").
    commit: str | None
    # The branch tip afterwards, and the tip the new commit was built on (None when the branch was created).
    tip: str
    previous: str | None
    # Top-level folders (clusters) whose content differs from the previous tip: changed, added or removed.
    changed_clusters: tuple[str, ...]
    # The remote holds ``tip`` under this branch name.
    pushed: bool
    # Each cluster's folder in the published tree, by its tree SHA (for reuse by the next publish).
    cluster_trees: Mapping[str, str] = field(default_factory=dict)

    @property
    def up_to_date(self) -> bool:
        return self.commit is None


@dataclass(frozen=True)
class PublishResult:
    branches: tuple[BranchResult, ...]
    # Per-cluster branches of clusters that are no longer rendered; deleted with ``prune``.
    stale: tuple[str, ...] = ()
    pruned: bool = False

    @property
    def changed(self) -> bool:
        return any(not b.up_to_date for b in self.branches)


def publish(
    repo_path: Path,
    files: Mapping[str, bytes],
    *,
    branch: str | None = None,
    per_cluster_prefix: str | None = None,
    source_commit: str,
    into: str | None = None,
    keep: Sequence[str] = (),
    push: bool = False,
    remote: str = "origin",
    force: bool = False,
    max_attempts: int = DEFAULT_ATTEMPTS,
    allow_rollback: bool = False,
    clusters: Collection[str] | None = None,
    branch_template: str | None = None,
    prune: bool = False,
    hydrator: Hydrator | None = None,
    trees: Mapping[str, str] | None = None,
) -> PublishResult:
    """Commit FILES (POSIX paths relative to the output root -> bytes) to BRANCH, or to one branch
    ``<per_cluster_prefix><cluster>`` per top-level folder, in the repository at REPO_PATH.

    The new tree is exactly FILES (placed under INTO when given, the rest of the branch kept), plus the files
    of the previous tip matching a KEEP glob. With PUSH, the branches go to REMOTE; a rejected push is
    fetched, re-committed on the new remote tip and retried, up to MAX_ATTEMPTS times; forced only with FORCE.

    A branch whose output came from a newer source commit is not rolled back unless ALLOW_ROLLBACK. With
    CLUSTERS (a subset), the other clusters' folders of the branch are kept. BRANCH_TEMPLATE (``{cluster}``
    for the name) is the general form of PER_CLUSTER_PREFIX. HYDRATOR adds what Argo CD's hydrator
    tooling reads; PRUNE deletes the per-cluster branches of clusters no longer rendered. TREES (cluster ->
    tree SHA, from an earlier publish of the same inputs) stand for clusters that were not rendered again.
    """
    if per_cluster_prefix is not None:
        branch_template = per_cluster_prefix + "{cluster}"
    if (branch is None) == (branch_template is None):
        raise FanoutError.at("publish needs exactly one of --branch and --per-cluster-branch")
    if branch_template is not None and branch_template.count("{cluster}") != 1:
        raise FanoutError.at(
            f"--per-cluster-branch {branch_template!r}: write {{cluster}} once where the name goes"
        )
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    check_files(files)
    chosen = frozenset(clusters) if clusters is not None else None
    plan = Plan(
        check_into(into),
        tuple(compile_keep(k) for k in keep),
        source_commit,
        allow_rollback,
        chosen,
        hydrator,
        remote if push else None,
    )
    targets = plan_targets(files, branch, branch_template, trees or {})
    repo = open_repo(repo_path)
    try:
        for target in targets:
            check_branch_name(repo, target.branch)
        refuse_checked_out(repo, [t.branch for t in targets])
        if push:
            check_remote(repo, remote)
        result = _publish(repo, ObjectWriter(repo), targets, plan, push, remote, force, max_attempts)
        if branch_template is None:
            return result
        stale = stale_branches(repo, remote, branch_template, {t.cluster for t in targets}, chosen)
        if prune and stale:
            prune_branches(repo, remote, stale, push)
        return replace(result, stale=stale, pruned=prune and bool(stale))
    finally:
        repo.close()


# --- commits and branches ---


def _is_ancestor(repo: git.Repo, older: str, newer: str) -> bool:
    return run_git(repo, "merge-base", "--is-ancestor", older, newer)[0] == 0


def _initial_base(repo: git.Repo, refs: Refs, branch: str) -> str | None:
    """The branch's previous tip: the local branch, or the remote-tracking one when it is newer (a CI checkout
    usually has only ``origin/<branch>``)."""
    local, tracking = refs.local.get(branch), refs.tracking.get(branch)
    if tracking is None or local == tracking:
        return local
    if local is None or _is_ancestor(repo, local, tracking):
        return tracking
    return local


@dataclass(frozen=True)
class _Outcome:
    branch: str
    commit: str | None
    tip: str
    previous: str | None
    changed: tuple[str, ...]

    trees: Mapping[str, str] = field(default_factory=dict)

    def result(self, pushed: bool) -> BranchResult:
        return BranchResult(
            self.branch, self.commit, self.tip, self.previous, self.changed, pushed, self.trees
        )


def _build(
    repo: git.Repo,
    writer: ObjectWriter,
    target: Target,
    plan: Plan,
    base_tree: bytes | None,
    extra: Mapping[str, bytes] | None = None,
) -> bytes:
    """The tree SHA of the branch after publishing TARGET (and EXTRA files) on a tip with tree BASE_TREE."""
    folder = writer.folder(target.files, extra)
    for name, sha in target.trees.items():
        if name:
            folder.entries.setdefault(name, Leaf(TREE, bytes.fromhex(sha)))
        else:  # a per-cluster branch whose whole tree is reused: its extra files go on top of it
            for entry, leaf in entries(repo, bytes.fromhex(sha)).items():
                folder.entries.setdefault(entry, leaf)
    if plan.clusters is not None and target.cluster is None:
        # A subset of the clusters: the others' folders (and the top-level files) of the branch stay.
        for name, leaf in entries(repo, subtree(repo, base_tree, plan.into)).items():
            if name not in plan.clusters:
                folder.entries.setdefault(name, leaf)
    if plan.keep:
        owned = "/".join(plan.into) + "/" if plan.into else ""
        for path, leaf in walk(repo, subtree(repo, base_tree, plan.into)):
            if any(p.fullmatch(owned + path) for p in plan.keep):
                insert(folder, path, leaf)
    root = graft(repo, base_tree, plan.into, folder) if plan.into else folder
    tree = writer.root_tree(root)
    if target.cluster is not None:
        target.built[target.cluster] = tree.hex()
    else:
        for name, child in folder.entries.items():
            found = child.sha if isinstance(child, Dir) else child.sha if child.mode == TREE else None
            if found is not None:
                target.built[name] = found.hex()
    return tree


def _message(target: Target, plan: Plan, changed: Sequence[str], before: set[str], after: set[str]) -> str:
    source = plan.source_commit
    where = f" into {'/'.join(plan.into)}/" if plan.into else ""
    if target.cluster is not None:
        subject = f"Render {source[:12]}{where} for cluster {target.cluster}"
    elif not changed:
        subject = f"Render {source[:12]}{where}"
    elif len(changed) <= 3:
        subject = f"Render {source[:12]}{where} for {', '.join(changed)}"
    else:
        subject = f"Render {source[:12]}{where} for {len(changed)} clusters"
    body = [f"fanout rendered source commit {source}{where}."]
    if target.cluster is None and changed:
        body.append("")
        body.append(f"Clusters changed ({len(changed)}):")
        for name in changed:
            note = " (new)" if name not in before else " (removed)" if name not in after else ""
            body.append(f"- {name}{note}")
    trailers = [f"Fanout-Source-Commit: {source}", f"Fanout-Version: {fanout.__version__}"]
    return "\n".join([subject, "", *body, "", *trailers]) + "\n"


def _refuse_rollback(repo: git.Repo, branch: str, tip: str, source: str, remote: str | None) -> None:
    """Refuse to commit an older source's output over a newer one's (checked again on every retry)."""
    found = SOURCE_TRAILER.findall(str(repo.commit(tip).message))
    published = found[-1] if found else None
    if published is None or published == source:
        return

    def known() -> bool:
        return run_git(repo, "cat-file", "-e", f"{published}^{{commit}}")[0] == 0

    if not known() and remote is not None:
        # Another publisher's source commit, pushed after this clone was made: ask the remote for it.
        run_git(repo, "fetch", "--quiet", "--no-tags", remote, published, env=NO_PROMPT_ENV)
    if not known():
        return  # the branch holds another repository's output (--into): nothing to compare with
    if _is_ancestor(repo, source, published):
        raise FanoutError.at(
            f"branch {branch} holds the output of source commit {published[:12]}, which is newer than"
            f" {source[:12]}: publishing {source[:12]} would roll it back; pass --allow-rollback to do that"
            " on purpose"
        )


def _carried(
    repo: git.Repo, base_tree: bytes | None, into: Sequence[str], wanted: Iterable[str]
) -> dict[str, bytes]:
    """Those of the hydrator files ``wanted`` that the base tip holds, as it holds them."""
    root = subtree(repo, base_tree, into)
    carried: dict[str, bytes] = {}
    for path in wanted:
        *folders, name = path.split("/")
        leaf = entries(repo, subtree(repo, root, folders)).get(name)
        if leaf is not None and leaf.mode != TREE:
            carried[path] = bytes(repo.odb.stream(leaf.sha).read())
    return carried


def _hydrated(
    repo: git.Repo, writer: ObjectWriter, target: Target, plan: Plan, base_tree: bytes | None
) -> tuple[bytes, bool]:
    """The tree with Argo CD's hydrator files, and whether no manifest changed (WriteForPaths): the top-level
    files are written every time, a cluster's hydrator.metadata and README.md only where its manifests
    changed (the others keep the base's, so their drySha does not move)."""
    fresh = hydrator_files(target, plan)

    def per_cluster(path: str) -> bool:
        return (target.cluster is not None and path != ".gitattributes") or "/" in path

    if base_tree is None:
        return _build(repo, writer, target, plan, base_tree, fresh), False
    carried = _carried(repo, base_tree, plan.into, [p for p in fresh if per_cluster(p)])
    trial = _build(repo, writer, target, plan, base_tree, {**fresh, **carried})
    if target.cluster is not None:
        changed: set[str] = {target.cluster} if trial != base_tree else set()
    else:
        # The trial tree is not written yet: compare the cluster folders _build recorded with the base's.
        old = {
            name: leaf.sha.hex()
            for name, leaf in entries(repo, subtree(repo, base_tree, plan.into)).items()
            if leaf.mode == TREE
        }
        changed = {n for n in old.keys() | target.built.keys() if old.get(n) != target.built.get(n)}
    if not changed:
        return base_tree, True
    files = {
        p: (b if not per_cluster(p) or _cluster_of(target, p) in changed else carried.get(p, b))
        for p, b in fresh.items()
    }
    return _build(repo, writer, target, plan, base_tree, files), False


def _cluster_of(target: Target, path: str) -> str | None:
    return target.cluster if target.cluster is not None else path.split("/", 1)[0]


def _commit_target(
    repo: git.Repo, writer: ObjectWriter, target: Target, plan: Plan, base: str | None, local: str | None
) -> _Outcome:
    """Commit TARGET on BASE unless that changes nothing; move the local branch (at LOCAL) to the result."""
    if base is not None and _is_ancestor(repo, plan.source_commit, base):
        # An output branch never contains source commits; replacing this one's tree would wipe the source.
        raise FanoutError.at(
            f"branch {target.branch} contains the source commit {plan.source_commit[:12]}: it holds the "
            "source, not rendered output; publish to another branch"
        )
    if base is not None and not plan.allow_rollback:
        _refuse_rollback(repo, target.branch, base, plan.source_commit, plan.remote)
    base_tree = bytes(repo.commit(base).tree.binsha) if base else None
    if plan.hydrator is None:
        tree = _build(repo, writer, target, plan, base_tree)
        unchanged = base is not None and tree == base_tree
    else:
        tree, unchanged = _hydrated(repo, writer, target, plan, base_tree)
        if unchanged:
            # No manifest changed: as Argo CD's commit server, no commit, and a note names the new dry commit.
            assert base is not None
            note(repo, base, plan)
    if unchanged:
        assert base is not None
        outcome = _Outcome(target.branch, None, base, base, NO_PARTS, dict(target.built))
    else:
        writer.flush()  # only now: a publish that changes nothing writes no object
        before_root = subtree(repo, base_tree, plan.into)
        after_root = subtree(repo, tree, plan.into)
        changed = (
            (target.cluster,)
            if target.cluster is not None
            else changed_clusters(repo, before_root, after_root)
        )
        names_before = {n for n, leaf in entries(repo, before_root).items() if leaf.mode == TREE}
        names_after = {n for n, leaf in entries(repo, after_root).items() if leaf.mode == TREE}
        message = _message(target, plan, changed, names_before, names_after)
        parents = ["-p", base] if base else []
        status, out, err = run_git(repo, "commit-tree", tree.hex(), *parents, "-m", message)
        if status != 0:
            raise FanoutError.at(
                f"git cannot create the commit for branch {target.branch}: {git_reason(err)} "
                "(set user.name and user.email with git config)"
            )
        outcome = _Outcome(target.branch, out.strip(), out.strip(), base, changed, dict(target.built))
        if plan.hydrator is not None:
            note(repo, out.strip(), plan)  # every hydrated commit names its dry commit (AddNote)
    if outcome.tip != local:
        null = "0" * len(outcome.tip)
        status, _, err = run_git(
            repo,
            "update-ref",
            "-m",
            f"fanout publish {plan.source_commit[:12]}",
            f"refs/heads/{target.branch}",
            outcome.tip,
            local or null,
        )
        if status != 0:
            raise FanoutError.at(
                f"branch {target.branch} moved while fanout published to it ({git_reason(err)}); run it again"
            )
    return outcome


# --- pushing ---

_RETRYABLE_REMOTE = ("lock", "failed to update ref", "incorrect old value", "stale info")


def _push(repo: git.Repo, remote: str, outcomes: Sequence[_Outcome], force: bool) -> set[str]:
    """Push every outcome's tip; return the branches rejected because the remote moved on."""
    plus = "+" if force else ""
    refspecs = [f"{plus}{o.tip}:refs/heads/{o.branch}" for o in outcomes]
    status, out, err = run_git(repo, "push", "--porcelain", remote, *refspecs, env=NO_PROMPT_ENV)
    reports: dict[str, tuple[str, str]] = {}
    for line in out.splitlines():
        fields = line.split("\t")
        if len(fields) == 3 and len(fields[0]) == 1:
            _, _, dst = fields[1].partition(":")
            reports[dst.removeprefix("refs/heads/")] = (fields[0], fields[2])
    rejected: set[str] = set()
    failures: list[str] = []
    for o in outcomes:
        flag, summary = reports.get(o.branch, ("?", ""))
        if flag in (" ", "+", "*", "="):
            continue
        if flag == "!" and (
            summary.startswith("[rejected]")
            or (summary.startswith("[remote rejected]") and any(r in summary for r in _RETRYABLE_REMOTE))
        ):
            rejected.add(o.branch)
        else:
            failures.append(f"{o.branch}: {summary or git_reason(err)}")
    if failures:
        raise FanoutError.at(f"cannot push to {remote}: {'; '.join(failures)}")
    if status != 0 and not rejected:
        raise FanoutError.at(f"cannot push to {remote}: {git_reason(err)}")
    return rejected


def _fetch(repo: git.Repo, remote: str, branches: Iterable[str]) -> dict[str, str]:
    """Fetch BRANCHES from REMOTE into their remote-tracking refs; return their new tips."""
    names = sorted(branches)
    refspecs = [f"+refs/heads/{b}:refs/remotes/{remote}/{b}" for b in names]
    status, _, err = run_git(repo, "fetch", "--quiet", "--no-tags", remote, *refspecs, env=NO_PROMPT_ENV)
    if status != 0:
        raise FanoutError.at(f"cannot fetch from {remote}: {git_reason(err)}")
    tracking = read_refs(repo, remote).tracking
    return {b: tracking[b] for b in names}


def _publish(
    repo: git.Repo,
    writer: ObjectWriter,
    targets: Sequence[Target],
    plan: Plan,
    push: bool,
    remote: str,
    force: bool,
    max_attempts: int,
) -> PublishResult:
    refs = read_refs(repo, remote)
    local = dict(refs.local)
    bases = {t.branch: _initial_base(repo, refs, t.branch) for t in targets}
    if plan.hydrator is not None:
        # Argo CD's commit server checks a new target branch out from its sync branch (CheckoutOrNew), so that
        # GitOps Promoter's `<branch>-next` starts at `<branch>` and its pull request shows only what changes.
        for name, found in bases.items():
            if found is None and name.endswith(SYNC_SUFFIX):
                bases[name] = _initial_base(repo, refs, name[: -len(SYNC_SUFFIX)])
    results: dict[str, BranchResult] = {}
    pending = list(targets)
    for attempt in range(1, max_attempts + 1):
        outcomes = [
            _commit_target(repo, writer, t, plan, bases[t.branch], local.get(t.branch)) for t in pending
        ]
        local.update({o.branch: o.tip for o in outcomes})
        rejected = _push(repo, remote, outcomes, force) if push and outcomes else set()
        results.update({o.branch: o.result(pushed=push) for o in outcomes if o.branch not in rejected})
        if not rejected:
            if (
                push
                and plan.hydrator is not None
                and run_git(repo, "rev-parse", "--verify", "-q", NOTES_REF)[0] == 0
            ):
                status, _, err = run_git(repo, "push", remote, f"{NOTES_REF}:{NOTES_REF}", env=NO_PROMPT_ENV)
                if status != 0:
                    raise FanoutError.at(
                        f"the branches were pushed, but not the notes {NOTES_REF}: {git_reason(err)}"
                    )
            return PublishResult(tuple(results[t.branch] for t in targets))
        if attempt == max_attempts:
            break
        # Someone published first: build the same output again on top of what they pushed.
        bases.update(_fetch(repo, remote, rejected))
        pending = [t for t in pending if t.branch in rejected]
    names = ", ".join(sorted(rejected))
    raise FanoutError.at(
        f"push of {names} to {remote} was rejected {max_attempts} times as others kept publishing first; "
        "run fanout publish again"
    )
